r"""MixupE: mixup with its first-order directional-derivative term strengthened.

Mixup implicitly regularises the directional derivatives of the model toward the data (Zhang et
al., ICLR 2021); MixupE adds ``eta`` times the first-order term explicitly, computed on one extra
pass over the clean batch. :class:`MixUpE` wraps any mixer (it mixes exactly as the wrapped
mixer does) and adds the term in :meth:`MixUpE.loss`; :func:`mean_input` computes the mean
training input that version 1 needs.

Paper: Zou, Verma, Mittal, Tang, Pham, Kannala, Bengio, Solin, Kawaguchi, *MixupE: Understanding
and Improving Mixup from Directional Derivative Perspective*, UAI 2023 (arXiv 2212.13381);
reference code: github.com/oneHuster/MixupE (``mixup.py``, ``training_method``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from mixkit._choice import RandomChoice
from mixkit._mixed import REDUCTIONS, Mixed, Reduction, mixed_loss
from mixkit._mixer import Mixer, MixUp
from mixkit._targets import dense_targets
from mixkit._validation import check_choice, check_float, describe, fail, shape_str
from mixkit._wrapper import MixerWrapper

__all__ = ["MixUpE", "mean_input"]

Version = Literal[1, 3]
Model = Callable[[Any], Tensor]


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
    """``(B,)`` MixupE scores of the clean batch ``x``, differentiable in the model."""
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


class MixUpE(MixerWrapper):
    r"""MixupE: a mixer plus an explicit first-order directional-derivative term in the loss.

    Mixes exactly as the wrapped mixer does (``forward``, ``draw``, ``mix``, ``set_epoch``,
    ``set_step``, ``report``, ``train``/``eval``, ``enabled`` and ``state_dict`` all reach it),
    and :meth:`loss` adds the MixupE term computed on one extra pass over the clean batch
    ``F = model(mixed.source)``, with :math:`m = (\alpha+1)/(2\alpha+1)` (the mean of
    :math:`\mathrm{Beta}(\alpha+1, \alpha)`) from the wrapped mixer's ``alpha``:

    * version 3 (the authors' default, one extra forward):
      :math:`s_i = \langle F_i, Y_i - \mathrm{softmax}(F_i)\rangle`,
      :math:`L = L_\text{mix} - \eta (1-m) \sum_{s_i < \tau} s_i / B`;
    * version 1 (the exact directional derivative toward the mean input
      :math:`\bar x`, double backprop): :math:`b_i = \mathrm{softmax}(F_i) - Y_i` (detached),
      :math:`s_i = \nabla_x \langle f(x), b_i\rangle|_{x_i} \cdot (\bar x - x_i)`,
      :math:`L = L_\text{mix} + \eta (1-m) \sum_{s_i < \tau} s_i / B`.

    Both then rescale :math:`L \leftarrow (|L_\text{mix}| / |L|)\, L` with detached scalars (the
    authors' code): the value reported equals the mixup loss (when :math:`L > 0`), the gradient
    is that of :math:`L` times a positive factor.

    Paper: Zou et al., *MixupE: Understanding and Improving Mixup from Directional Derivative
    Perspective*, UAI 2023 (arXiv 2212.13381).

    Args:
        mixer: the :class:`mixkit.Mixer` (or :class:`mixkit.RandomChoice`) to wrap; default
            ``MixUp()``. Any pairing, weighting, relabelling or schedule of it composes.
        eta: strength of the term, ``>= 0`` (the authors' 1e-3; 0 is plain mixup, and then no
            extra pass is made).
        tau: threshold: only samples with :math:`s_i < \tau` enter the term (the authors' 1.0;
            ``math.inf`` keeps all).
        version: ``3`` or ``1``.
        x_bar: version 1 only: the mean training input in model-input space (after
            normalisation), shape of one sample or ``(1, *sample)``; see :func:`mean_input`.
            Kept as a buffer (moves with ``.to()``, saved in ``state_dict``).

    Raises:
        ValueError / TypeError: bad arguments, each naming the argument, what was expected and
            what came.

    Example:
        >>> mixer = MixUpE(MixUp(alpha=1.0, num_classes=3), eta=1e-3)
        >>> model = torch.nn.Linear(4, 3)
        >>> x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
        >>> mixed = mixer(x, y)
        >>> loss = mixer.loss(model, mixed)  # model(mixed.inputs) and model(x), one backward
        >>> loss.backward()

    .. note::
        **The sign question.** The two versions give the shared part opposite signs: for a
        bias-free ReLU network :math:`\nabla_x\langle f, b\rangle \cdot x = \langle f, b\rangle`
        (Euler), so :math:`s^{v1}_i = \nabla\langle f, b_i\rangle\cdot\bar x + s^{v3}_i`, yet v1
        *adds* its score and v3 *subtracts* its own. Version 1 has the sign of the first-order
        term in mixup's own expansion (Zhang et al., ICLR 2021: mixup adds
        :math:`(1-m)\,\mathrm{mean}_i\, s^{v1}_i`), so it strengthens that term; version 3 is
        the cheaper code path the authors ran for their reported numbers, so it is the
        default. Both are implemented exactly as coded, thresholds included (in v1 the kept
        samples are those the term pushes further down; in v3, those it pushes up toward
        ``tau``).

    .. note::
        **Clean labels.** :math:`Y` is the dense target of the unmixed batch with the mixer's
        label smoothing (the target the criterion fits; one-hot without smoothing, as the
        authors had). The clean pass runs the model in its current mode (BatchNorm statistics
        see the clean batch too, as in the authors' code). For ``task="multilabel"`` and
        ``"regression"`` the same term is formed with the link of the loss (sigmoid,
        identity) in place of softmax: the generalised-linear form of the derivation; the
        authors only ran classification. When the result is the identity (mixer disabled,
        in eval mode, switched off by its schedule), :meth:`loss` is the plain loss with no
        term.
    """

    mixer: Mixer | RandomChoice
    x_bar: Tensor | None

    def __init__(
        self,
        mixer: Mixer | RandomChoice | None = None,
        *,
        eta: float = 1e-3,
        tau: float = 1.0,
        version: Version = 3,
        x_bar: Tensor | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if mixer is None:
            mixer = MixUp()
        if not isinstance(mixer, Mixer | RandomChoice):
            fail(
                owner,
                "mixer to be a mixkit Mixer, a RandomChoice or None",
                describe(mixer),
                type_error=True,
            )
        inner = [mixer] if isinstance(mixer, Mixer) else list(mixer.mixers)
        for m in inner:
            if isinstance(m, Mixer) and m.alpha == 0.0:
                fail(
                    owner,
                    "mixers that draw lam from Beta(alpha, alpha) with alpha > 0 (the MixupE "
                    "weight 1 - m = alpha / (2 alpha + 1) is 0 at alpha = 0)",
                    f"{type(m).__name__} with alpha=0.0",
                )
        self.mixer = mixer
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
        # a private copy: load_state_dict writes into buffers in place
        self.register_buffer("x_bar", None if x_bar is None else x_bar.detach().clone())

    # -- the term ---------------------------------------------------------------------------

    def _one_minus_m(self, mixed: Mixed) -> float:
        r""":math:`1 - m` with :math:`m = (\alpha+1)/(2\alpha+1)`; for a RandomChoice, the chosen
        mixer's when the parameters record it, else the expectation over the choice."""

        def one_minus_m(alpha: float) -> float:
            return alpha / (2.0 * alpha + 1.0)

        if isinstance(self.mixer, Mixer):
            return one_minus_m(self.mixer.alpha)
        children = [m for m in self.mixer.mixers if isinstance(m, Mixer)]
        if mixed.params.choice is not None:
            return one_minus_m(children[mixed.params.choice].alpha)
        return sum(p * one_minus_m(m.alpha) for p, m in zip(self.mixer.p, children, strict=True))

    def clean_targets(self, mixed: Mixed) -> Tensor:
        """The dense targets ``Y`` of the unmixed batch (smoothed as the mixer smooths)."""
        classes = None if mixed.task == "regression" else int(mixed.targets.shape[1])
        return dense_targets(
            mixed.y_a,
            task=mixed.task,
            num_classes=classes,
            label_smoothing=mixed.label_smoothing,
        ).float()

    def scores(self, model: Model, x: Any, targets: Tensor, *, task: str = "multiclass") -> Tensor:
        r"""Per-sample MixupE scores :math:`s_i` of a clean batch (before thresholding).

        Args:
            model: maps a batch of inputs to logits ``(B, C)``.
            x: the clean batch (a floating tensor for version 1).
            targets: ``(B, C)`` float dense targets of ``x`` (see :meth:`clean_targets`).
            task: ``"multiclass"`` (softmax), ``"multilabel"`` (sigmoid), ``"regression"``.

        Returns:
            ``(B,)`` scores in float32 (float64 for a float64 model), differentiable in the
            model's parameters (version 1 through a double backward).
        """
        owner = f"{type(self).__name__}.scores"
        if not callable(model):
            fail(owner, "model to be callable (an nn.Module)", describe(model), type_error=True)
        check_choice(owner, "task", task, ("multiclass", "multilabel", "regression"))
        return _scores(owner, model, x, targets, version=self.version, task=task, x_bar=self.x_bar)

    def loss(
        self,
        model: Model,
        mixed: Mixed,
        logits: Tensor | None = None,
        *,
        reduction: Reduction = "mean",
    ) -> Tensor:
        r"""The MixupE training loss of a mixed batch.

        Args:
            model: any callable mapping a batch of inputs to logits (an ``nn.Module``); it is
                called on ``mixed.source`` for the clean pass (and on ``mixed.inputs`` when
                ``logits`` is not given).
            mixed: the result of calling this wrapper (or the wrapped mixer).
            logits: ``model(mixed.inputs)`` if you already have it.
            reduction: as in :func:`mixkit.mixed_loss`. The term is a mean over the batch for
                ``"mean"`` and ``"weighted_mean"``, a sum for ``"sum"``, and per sample for
                ``"none"`` (whose rescaling uses the batch sums, so its mean equals the
                ``"mean"`` result).

        Returns:
            A float32 scalar (``(B,)`` for ``"none"``) whose value equals the mixup loss
            (``mixed_loss(logits, mixed, reduction=...)``) when the combined loss is positive,
            and whose gradient carries the MixupE term.

        Raises:
            TypeError: ``model`` not callable, ``mixed`` not a :class:`mixkit.Mixed`.
            ValueError: an unknown reduction, logits of the wrong shape, an ``x_bar`` that does
                not match the samples.
        """
        owner = f"{type(self).__name__}.loss"
        if not callable(model):
            fail(owner, "model to be callable (an nn.Module)", describe(model), type_error=True)
        if not isinstance(mixed, Mixed):
            fail(owner, "mixed to be a mixkit.Mixed", describe(mixed), type_error=True)
        check_choice(owner, "reduction", reduction, REDUCTIONS)
        if logits is None:
            logits = model(mixed.inputs)
        mix_loss = mixed_loss(logits, mixed, reduction=reduction)
        weight = self.eta * self._one_minus_m(mixed)
        if not mixed.applied or weight == 0.0:
            return mix_loss
        s = _scores(  # (B,)
            owner,
            model,
            mixed.source,
            self.clean_targets(mixed),
            version=self.version,
            task=mixed.task,
            x_bar=self.x_bar,
        )
        kept = torch.where(s.detach() < self.tau, s, torch.zeros_like(s))  # (B,)
        sign = weight if self.version == 1 else -weight
        term = (sign * kept).to(mix_loss.dtype)  # (B,) signed, per sample
        if reduction == "none":
            total = mix_loss + term  # (B,)
            old, new = mix_loss.detach().sum(), total.detach().sum()
        else:
            total = mix_loss + (term.sum() if reduction == "sum" else term.sum() / term.shape[0])
            old, new = mix_loss.detach(), total.detach()
        # the authors' rescaling: the value stays the mixup loss, the gradient keeps the term
        scale = torch.where(new != 0, old.abs() / new.abs(), torch.ones_like(new))
        return scale * total

    def __repr__(self) -> str:
        args = f"eta={self.eta}, tau={self.tau}, version={self.version}"
        if self.x_bar is not None:
            args += f", x_bar_shape={shape_str(self.x_bar.shape)}"
        return f"{type(self).__name__}({self.mixer!r}, {args})"


def mean_input(loader_or_iterable: Iterable[Any], *, key: str | int | None = None) -> Tensor:
    """The mean training input, in model-input space: MixupE version 1's ``x_bar``.

    Iterates once over batches and averages every sample (float64 accumulation), like the
    authors' ``get_x_mean``. Pass the loader the model trains on, with its normalisation but
    without random augmentation, so ``x_bar`` lives where the model's inputs do.

    Args:
        loader_or_iterable: yields batches ``(B, ...)``: tensors, ``(inputs, labels, ...)``
            tuples / lists (the inputs are taken at ``key``, default 0), or mappings (a dict
            batch; ``key`` names the inputs, e.g. ``"pixel_values"``). A ``Dataset`` yields
            single samples, not batches: wrap it in a ``DataLoader``.
        key: where the inputs are in each batch (a mapping key or a sequence index).

    Returns:
        The mean sample: a tensor of the shape of one sample, in the batches' floating dtype, on
        the first batch's device.

    Raises:
        TypeError: not iterable, or a batch holding no tensor at ``key``.
        ValueError: no batch, integer inputs, samples of different shapes.

    Example:
        >>> loader = [torch.ones(4, 3), torch.zeros(4, 3)]
        >>> mean_input(loader)
        tensor([0.5000, 0.5000, 0.5000])
    """
    owner = "mean_input"
    if not isinstance(loader_or_iterable, Iterable):
        fail(
            owner,
            "an iterable of batches (a DataLoader)",
            describe(loader_or_iterable),
            type_error=True,
        )
    total: Tensor | None = None
    dtype, count = torch.float32, 0
    for number, batch in enumerate(loader_or_iterable):
        x = _inputs_of(owner, batch, key, number)
        if total is None:
            if x.ndim == 0 or not x.is_floating_point():
                fail(
                    owner,
                    "batches of floating-point inputs (B, ...) as the model sees them",
                    f"{describe(x)} in batch 0",
                )
            total = torch.zeros(x.shape[1:], dtype=torch.float64, device=x.device)  # (...)
            dtype = x.dtype
        elif x.shape[1:] != total.shape or not x.is_floating_point():
            fail(
                owner,
                f"every batch with floating samples of shape {shape_str(total.shape)} "
                "(from batch 0)",
                f"{describe(x)} in batch {number}",
            )
        total += x.detach().to(device=total.device, dtype=torch.float64).sum(dim=0)
        count += x.shape[0]
    if total is None or count == 0:
        fail(owner, "at least one non-empty batch", "an empty iterable" if total is None else 0)
    return (total / count).to(dtype)


def _inputs_of(owner: str, batch: Any, key: str | int | None, number: int) -> Tensor:
    if isinstance(batch, Tensor):
        if key is not None:
            fail(
                owner, f"batches that can be indexed by key={key!r}", f"a tensor in batch {number}"
            )
        return batch
    if isinstance(batch, Mapping):
        if key is None or key not in batch:
            keys = ", ".join(repr(k) for k in batch)
            fail(owner, f"key naming the inputs of a dict batch (one of {keys})", repr(key))
        x = batch[key]
    elif isinstance(batch, Sequence) and not isinstance(batch, str):
        index = 0 if key is None else key
        if not isinstance(index, int) or not -len(batch) <= index < len(batch):
            fail(owner, f"key to be an index into batches of {len(batch)} items", repr(key))
        x = batch[index]
    else:
        fail(owner, "batches as tensors, tuples or dicts", f"{describe(batch)} in batch {number}")
    if not isinstance(x, Tensor):
        fail(
            owner,
            "a tensor of inputs in each batch",
            f"{describe(x)} in batch {number}",
            type_error=True,
        )
    return x
