r"""RegMixup: mixup as a regulariser added to the clean cross-entropy.

Plain mixup trains on mixed samples only; RegMixup (Pinto et al.) keeps the clean loss and adds
the mixup loss of the same batch, weighted by ``eta``, and draws ``lam`` from a high-entropy
``Beta(20, 20)`` (mixes near the middle), which the authors found to improve calibration and
out-of-distribution detection while keeping the clean accuracy. :class:`RegMixupTerm` is that
loss for the extra-loss slot of any mixer (``CutMix(term=RegMixupTerm())``);
:class:`RegMixup` is the preset ``MixUp(alpha=20.0, term=RegMixupTerm())``.

Paper: Pinto, Yang, Lim, Torr, Dokania, *Using Mixup as a Regularizer Can Surprisingly Improve
Accuracy and Out-of-Distribution Robustness*, NeurIPS 2022 (arXiv 2206.14502); reference code:
github.com/FrancescoPinto/RegMixup.
"""

from __future__ import annotations

from typing import Any, cast

from torch import Tensor

from mixkit._losses import (
    Reduction,
    binary_cross_entropy,
    reduce_loss,
    soft_cross_entropy,
    squared_error,
)
from mixkit._mixed import Mixed
from mixkit._mixup import MixUp
from mixkit._mixupe import _clean_logits
from mixkit._targets import dense_targets
from mixkit._terms import LossTerm, Model
from mixkit.validation import check_float, fail

__all__ = ["RegMixup", "RegMixupTerm"]


class RegMixupTerm(LossTerm):
    r"""RegMixup's loss: the clean loss of the batch plus ``eta`` times its mixup loss.

    .. math::
        L = \mathrm{CE}(\mathrm{model}(x), y_a) + \eta\, L_\text{mix}

    where ``x = mixed.source`` is the unmixed batch, ``y_a`` its labels (as dense targets,
    smoothed as the mixer smooths; binary cross-entropy for ``task="multilabel"``, squared error
    for ``"regression"``) and :math:`L_\text{mix}` the mixup loss the mixer's result gives for
    the logits of the mixed batch. Both parts are reduced as ``reduction`` asks: ``"mean"``
    divides each sum by ``N`` (the batch size or ``num_samples``), ``"sum"`` adds, ``"none"``
    returns per-sample values; per-sample weights (Local Mixup's) weigh the mixed part only,
    and under ``"weighted_mean"`` the clean part is a plain mean (every clean sample counts).

    The clean logits cost one extra forward pass of ``model`` on ``mixed.source`` (the authors
    concatenate the two batches into one forward; with batch normalisation the statistics then
    differ slightly). When nothing is mixed (eval mode, disabled, switched off by a schedule)
    :meth:`mixkit.Mixed.loss` returns the plain loss of the batch, which is the clean loss.

    Paper: Pinto et al., NeurIPS 2022 (arXiv 2206.14502).

    Args:
        eta: weight of the mixup loss, ``>= 0`` (the authors' 1.0; 0 leaves the clean loss).

    Example:
        >>> mixer = MixUp(alpha=20.0, num_classes=3, term=RegMixupTerm(eta=1.0))
        >>> # loss = mixed.loss(model(mixed.inputs), model=model)
    """

    needs_model = True

    def __init__(self, eta: float = 1.0) -> None:
        self.eta = check_float(type(self).__name__, "eta", eta, low=0.0)

    @staticmethod
    def clean_targets(mixed: Mixed) -> Tensor:
        """The dense targets of the unmixed batch (smoothed as the mixer smooths)."""
        classes = None if mixed.task == "regression" else int(mixed.targets.shape[1])
        return dense_targets(
            mixed.y_a, task=mixed.task, num_classes=classes, label_smoothing=mixed.label_smoothing
        )

    def clean_loss(self, model: Model, mixed: Mixed) -> Tensor:
        """``(B,)`` per-sample loss of ``model`` on the clean batch ``mixed.source``."""
        targets = self.clean_targets(mixed)
        logits = _clean_logits(type(self).__name__, model, mixed.source, targets)
        if mixed.task == "multiclass":
            return soft_cross_entropy(logits, targets)
        if mixed.task == "multilabel":
            return binary_cross_entropy(logits, targets)
        return squared_error(logits, targets)

    def __call__(
        self,
        loss: Tensor,
        mixed: Mixed,
        logits: Tensor,
        model: Model | None,
        *,
        reduction: str,
        num_samples: Tensor | float | None,
    ) -> Tensor:
        if model is None:  # Mixed.loss refuses this first (needs_model); kept for direct calls
            fail(type(self).__name__, "model= to run on the clean batch", "model=None")
        # the reduction was checked by mixed_loss, which computed ``loss``
        how = cast(Reduction, reduction)
        clean = reduce_loss(self.clean_loss(model, mixed), None, how, num_samples=num_samples)
        total: Tensor = clean.to(loss.dtype) + self.eta * loss
        return total

    def __repr__(self) -> str:
        return f"RegMixupTerm(eta={self.eta})"


class RegMixup(MixUp):
    """RegMixup: :class:`mixkit.MixUp` with ``Beta(20, 20)`` and RegMixup's loss,
    ``MixUp(alpha=alpha, term=RegMixupTerm(eta))``.

    The mixed batch is vanilla mixup's; ``mixed.loss(logits, model=model)`` is the clean loss
    of ``mixed.source`` plus ``eta`` times the mixup loss (one extra forward of ``model``).

    Paper: Pinto et al., NeurIPS 2022 (arXiv 2206.14502).

    Args:
        alpha: Beta concentration, default 20.0 (the authors' CIFAR-10 choice; 10 for
            CIFAR-100).
        eta: weight of the mixup loss (see :class:`RegMixupTerm`), default 1.0.
        **mixup_kwargs: every other argument of :class:`mixkit.MixUp` but ``term``.

    Example:
        >>> mixer = RegMixup(num_classes=3, generator=torch.Generator().manual_seed(0))
        >>> model = torch.nn.Linear(4, 3)
        >>> mixed = mixer(torch.randn(8, 4), torch.randint(0, 3, (8,)))
        >>> loss = mixed.loss(model(mixed.inputs), model=model)
        >>> loss.backward()
    """

    def __init__(self, alpha: float = 20.0, eta: float = 1.0, **mixup_kwargs: Any) -> None:
        if "term" in mixup_kwargs:
            fail(
                type(self).__name__,
                "no term argument (RegMixup's term is RegMixupTerm; use MixUp(term=...) instead)",
                f"term={mixup_kwargs['term']!r}",
            )
        super().__init__(alpha=alpha, term=RegMixupTerm(eta=eta), **mixup_kwargs)

    def repr_args(self) -> dict[str, Any]:
        term = self.term
        shown: dict[str, Any] = {"eta": term.eta if isinstance(term, RegMixupTerm) else None}
        shown.update(super().repr_args())
        del shown["term"]
        return shown
