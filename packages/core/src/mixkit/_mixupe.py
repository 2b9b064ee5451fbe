r"""MixupE: mixup with its first-order directional-derivative term strengthened.

Mixup implicitly regularises the directional derivatives of the model toward the data (Zhang et
al., ICLR 2021); MixupE adds ``eta`` times the first-order term explicitly, computed on one extra
pass over the clean batch. :class:`MixupETerm` is that term, for the extra-loss slot of any
mixer (``CutMix(term=MixupETerm())``); :class:`MixUpE` is the preset ``MixUp(term=...)``;
:func:`mixkit.mean_input` computes the mean training input that version 1 needs.

Paper: Zou, Verma, Mittal, Tang, Pham, Kannala, Bengio, Solin, Kawaguchi, *MixupE: Understanding
and Improving Mixup from Directional Derivative Perspective*, UAI 2023 (arXiv 2212.13381);
reference code: github.com/oneHuster/MixupE (``mixup.py``, ``training_method``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, cast

import torch
from torch import Tensor

from mixkit._mixed import Mixed
from mixkit._mixup import MixUp
from mixkit._targets import dense_targets
from mixkit._terms import LossTerm, Model
from mixkit.validation import check_choice, check_float, describe, fail, shape_str

__all__ = ["MixUpE", "MixupETerm", "mixupe_scores"]

Version = Literal[1, 3]


def _link(logits: Tensor, task: str) -> Tensor:
    """The mean the loss fits: softmax (cross-entropy), sigmoid (BCE), identity (squared error)."""
    if task == "multiclass":
        return torch.softmax(logits, dim=1)
    if task == "multilabel":
        return torch.sigmoid(logits)
    return logits


def _clean_logits(owner: str, model: Model, x: Any, targets: Tensor) -> Tensor:
    logits = model(x)
    if not isinstance(logits, Tensor):
        fail(
            owner, "model(x) to return a torch.Tensor of logits", describe(logits), type_error=True
        )
    if logits.shape != targets.shape:
        fail(
            owner,
            f"clean logits model(mixed.source) of shape {shape_str(targets.shape)} "
            "(the shape of the targets)",
            shape_str(logits.shape),
        )
    # float32 at least (float16 / bfloat16 logits lose the score), float64 kept
    return logits if logits.dtype == torch.float64 else logits.float()


def mixupe_scores(
    model: Model,
    x: Any,
    targets: Tensor,
    *,
    version: int = 3,
    task: str = "multiclass",
    x_bar: Tensor | None = None,
) -> Tensor:
    r"""``(B,)`` MixupE scores :math:`s_i` of a clean batch, differentiable in the model.

    * version 3: :math:`s_i = \langle F_i, Y_i - \mathrm{softmax}(F_i)\rangle` with
      :math:`F = \mathrm{model}(x)`;
    * version 1: :math:`s_i = \nabla_x \langle f(x), b_i\rangle|_{x_i} \cdot (\bar x - x_i)`,
      :math:`b_i = \mathrm{softmax}(F_i) - Y_i` detached (double backprop).

    The link is softmax for ``task="multiclass"``, sigmoid for ``"multilabel"``, the identity
    for ``"regression"``. Scores are float32 (float64 for a float64 model).

    Args:
        model: maps a batch of inputs to logits ``(B, C)``.
        x: the clean batch (a floating tensor for version 1).
        targets: ``(B, C)`` float dense targets of ``x``.
        version: ``3`` or ``1``.
        task: the loss's task.
        x_bar: version 1: the mean training input (one sample's shape).
    """
    owner = "mixupe_scores"
    if not callable(model):
        fail(owner, "model to be callable (an nn.Module)", describe(model), type_error=True)
    check_choice(owner, "task", task, ("multiclass", "multilabel", "regression"))
    if isinstance(version, bool) or version not in (1, 3):
        fail(owner, "version to be 1 or 3", repr(version))
    return _scores(owner, model, x, targets, version=version, task=task, x_bar=x_bar)


def _scores(
    owner: str,
    model: Model,
    x: Any,
    targets: Tensor,
    *,
    version: int,
    task: str,
    x_bar: Tensor | None,
) -> Tensor:
    if version == 3:
        f = _clean_logits(owner, model, x, targets)  # (B, C)
        y = targets.to(f.dtype)
        # the authors' version 3 lets the gradient flow through softmax as well (no detach)
        return (f * (y - _link(f, task))).reshape(f.shape[0], -1).sum(dim=1)
    if not isinstance(x, Tensor) or not x.is_floating_point():
        fail(
            owner,
            "a floating-point tensor batch for version=1 (it differentiates in x)",
            describe(x),
        )
    per_sample = tuple(x.shape[1:])
    if x_bar is None or tuple(x_bar.shape) not in (per_sample, (1, *per_sample)):
        fail(
            owner,
            f"x_bar of shape {shape_str(per_sample)} (one sample of the batch)",
            "None" if x_bar is None else f"x_bar of shape {shape_str(x_bar.shape)}",
        )
    xg = x.detach().requires_grad_(True)  # (B, ...) a leaf to differentiate in
    with torch.enable_grad():
        f = _clean_logits(owner, model, xg, targets)  # (B, C)
        b = (_link(f, task) - targets.to(f.dtype)).detach()  # (B, C) no gradient, as coded
        grads = torch.autograd.grad(
            (f * b).sum(), xg, create_graph=True, allow_unused=True, materialize_grads=True
        )
    grad = grads[0]  # (B, ...) grad_x <f(x_i), b_i>, in the graph
    delta = x_bar.to(device=x.device, dtype=grad.dtype).reshape(1, *per_sample) - x.detach()
    return (grad * delta).reshape(x.shape[0], -1).to(f.dtype).sum(dim=1)


class MixupETerm(LossTerm):
    r"""MixupE's extra loss term: the first-order directional-derivative term, strengthened.

    On one extra forward pass over the clean batch (``mixed.source``) it adds ``eta`` times an
    explicit first-order term (:func:`mixkit.functional.mixupe_scores`) to the mixup loss, then
    rescales the total so that its value is the mixup loss and only its gradient carries the
    term. Version 3 is what the authors ran for their numbers; version 1 is the exact
    directional derivative toward the mean input, with the opposite sign. See the MixupE page
    of the documentation (docs/methods/mixupe.md) for the math and the sign question.

    Paper: Zou et al., *MixupE: Understanding and Improving Mixup from Directional Derivative
    Perspective*, UAI 2023 (arXiv 2212.13381).

    Args:
        eta: strength, ``>= 0`` (the authors' 1e-3; 0 is plain mixup, with no extra pass).
        tau: only samples with :math:`s_i < \tau` enter (the authors' 1.0; ``math.inf`` keeps
            all).
        version: ``3`` or ``1``.
        x_bar: version 1 only: the mean training input in model-input space, shape of one
            sample or ``(1, *sample)`` (:func:`mean_input`); saved in the mixer's state.

    Example:
        >>> mixer = CutMix(alpha=1.0, num_classes=3, term=MixupETerm(eta=1e-3))
        >>> # loss = mixer(x, y).loss(model(mixed.inputs), model=model)
    """

    def __init__(
        self,
        *,
        eta: float = 1e-3,
        tau: float = 1.0,
        version: Version = 3,
        x_bar: Tensor | None = None,
    ) -> None:
        owner = type(self).__name__
        self.eta = check_float(owner, "eta", eta, low=0.0)
        self.tau = check_float(owner, "tau", tau, allow_inf=True)
        if self.tau == -math.inf:
            fail(owner, "tau > -inf (no sample would be kept)", self.tau)
        if isinstance(version, bool) or version not in (1, 3):
            fail(owner, "version to be 1 or 3", repr(version))
        self.version: int = int(version)
        if x_bar is not None and not (isinstance(x_bar, Tensor) and x_bar.is_floating_point()):
            fail(
                owner,
                "x_bar to be a floating-point torch.Tensor or None",
                describe(x_bar),
                type_error=not isinstance(x_bar, Tensor),
            )
        if self.version == 1 and x_bar is None:
            fail(
                owner,
                "x_bar (the mean training input, e.g. mixkit.mean_input(loader)) with version=1",
                "None",
            )
        if self.version == 3 and x_bar is not None:
            fail(owner, "x_bar=None with version=3 (only version 1 uses it)", describe(x_bar))
        self.x_bar = None if x_bar is None else x_bar.detach().clone()

    def attach(self, owner: str, mixer: Any) -> None:
        if getattr(mixer, "alpha", None) == 0.0:
            fail(
                owner,
                "a mixer that draws lam from Beta(alpha, alpha) with alpha > 0 for a MixupETerm "
                "(its weight 1 - m = alpha / (2 alpha + 1) is 0 at alpha = 0)",
                "alpha=0.0",
            )

    @staticmethod
    def clean_targets(mixed: Mixed) -> Tensor:
        """The dense targets ``Y`` of the unmixed batch (smoothed as the mixer smooths)."""
        classes = None if mixed.task == "regression" else int(mixed.targets.shape[1])
        return dense_targets(
            mixed.y_a, task=mixed.task, num_classes=classes, label_smoothing=mixed.label_smoothing
        ).float()

    def scores(self, model: Model, x: Any, targets: Tensor, *, task: str = "multiclass") -> Tensor:
        """Per-sample scores of a clean batch (see :func:`mixkit.functional.mixupe_scores`)."""
        return mixupe_scores(model, x, targets, version=self.version, task=task, x_bar=self.x_bar)

    def _clean_scores(self, model: Model, mixed: Mixed) -> Tensor:
        targets = self.clean_targets(mixed)
        return _scores(
            type(self).__name__, model, mixed.source, targets,
            version=self.version, task=mixed.task, x_bar=self.x_bar,
        )  # fmt: skip

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
        alpha = mixed.alpha or 0.0
        weight = self.eta * alpha / (2.0 * alpha + 1.0)  # eta * (1 - m)
        if weight == 0.0 or model is None:
            return loss
        s = self._clean_scores(model, mixed)  # (B,)
        kept = torch.where(s.detach() < self.tau, s, torch.zeros_like(s))  # (B,)
        sign = weight if self.version == 1 else -weight
        term = (sign * kept).to(loss.dtype)  # (B,) signed, per sample
        if reduction == "none":
            total = loss + term  # (B,)
            old, new = loss.detach().sum(), total.detach().sum()
        else:
            count = term.shape[0] if num_samples is None else num_samples
            total = loss + (term.sum() if reduction == "sum" else term.sum() / count)
            old, new = loss.detach(), total.detach()
        # the authors' rescaling: the value stays the mixup loss, the gradient keeps the term
        scale = torch.where(new != 0, old.abs() / new.abs(), torch.ones_like(new))
        return scale * total

    def state_dict(self) -> dict[str, Any]:
        return {"x_bar": self.x_bar}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        x_bar = state["x_bar"]
        self.x_bar = None if x_bar is None else x_bar.detach().clone()

    def __repr__(self) -> str:
        args = f"eta={self.eta}, tau={self.tau}, version={self.version}"
        if self.x_bar is not None:
            args += f", x_bar_shape={shape_str(self.x_bar.shape)}"
        return f"MixupETerm({args})"


class MixUpE(MixUp):
    """MixupE: :class:`mixkit.MixUp` plus MixupE's term, ``MixUp(term=MixupETerm(...))``.

    The mixed batch is vanilla mixup's; ``mixed.loss(logits, model=model)`` adds the term
    (one extra forward of ``model`` on the clean batch ``mixed.source``). For another mixer use
    its ``term=`` slot: ``CutMix(term=MixupETerm())``; for a :class:`mixkit.RandomChoice`, give
    each mixer the term.

    Paper: Zou et al., UAI 2023 (arXiv 2212.13381).

    Args:
        eta, tau, version, x_bar: see :class:`MixupETerm`.
        alpha: Beta concentration, ``> 0`` (default 1.0).
        **kwargs: every other argument of :class:`mixkit.MixUp` but ``term``.

    Example:
        >>> mixer = MixUpE(alpha=1.0, num_classes=3, eta=1e-3)
        >>> model = torch.nn.Linear(4, 3)
        >>> mixed = mixer(torch.randn(8, 4), torch.randint(0, 3, (8,)))
        >>> loss = mixed.loss(model(mixed.inputs), model=model)
        >>> loss.backward()
    """

    def __init__(
        self,
        *,
        eta: float = 1e-3,
        tau: float = 1.0,
        version: Version = 3,
        x_bar: Tensor | None = None,
        alpha: float = 1.0,
        **kwargs: Any,
    ) -> None:
        if "term" in kwargs:
            fail(
                type(self).__name__,
                "no term argument (MixUpE's term is MixupETerm; use MixUp(term=...) instead)",
                f"term={kwargs['term']!r}",
            )
        term = MixupETerm(eta=eta, tau=tau, version=version, x_bar=x_bar)
        super().__init__(alpha=alpha, term=term, **kwargs)

    @property
    def mixupe(self) -> MixupETerm:
        """The :class:`MixupETerm` of this mixer."""
        return cast(MixupETerm, self.term)

    def repr_args(self) -> dict[str, Any]:
        term = self.mixupe
        shown: dict[str, Any] = {"eta": term.eta, "tau": term.tau, "version": term.version}
        shown.update(super().repr_args())
        del shown["term"]
        return shown
