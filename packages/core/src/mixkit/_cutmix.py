"""CutMix: paste a box of the partner into each sample (the operation, and its preset)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor

from mixkit import _kernels as K
from mixkit._mixer import Mixer
from mixkit._ops import InputOp, OpBatch
from mixkit._params import MixParams
from mixkit.validation import check_batch, check_bool, fail, shape_str

__all__ = ["CutMix", "CutMixOp", "draw_boxes"]


def draw_boxes(
    lams: list[float], spatial_shape: Sequence[int], generator: torch.Generator
) -> list[list[list[int]]]:
    """Boxes covering a ``1 - lam`` share of the spatial extent, uniformly placed, clipped.

    Each side is ``floor(S * (1 - lam) ** (1 / n))`` for ``n`` spatial dimensions (``sqrt`` for
    images, as in the paper), centred on a uniform position, then clipped to the extent: a
    clipped box is smaller, which ``correct_lam`` accounts for. One ``(len(lams), n)`` uniform
    draw from ``generator``.

    Returns:
        ``len(lams)`` boxes of ``n`` ``[start, stop)`` pairs (nested lists of ints: a handful of
        numbers, for which Python floats, IEEE doubles as NumPy's, beat tensor or array calls).
    """
    n = len(spatial_shape)
    sizes = [float(size) for size in spatial_shape]
    uniforms = torch.rand(len(lams), n, dtype=torch.float64, generator=generator).tolist()
    boxes = []
    for lam, u in zip(lams, uniforms, strict=True):
        ratio = max(1.0 - lam, 0.0) ** (1.0 / n)
        box = []
        for size, u_d in zip(sizes, u, strict=True):
            cut = math.floor(ratio * size)  # side length
            start = math.floor(u_d * size) - math.floor(cut * 0.5)
            box.append([max(start, 0), min(start + cut, int(size))])
        boxes.append(box)
    return boxes


class CutMixOp(InputOp):
    """CutMix's operation: boxes of ``1 - lam`` of the spatial extent, pasted from the partner.

    Inputs are ``(B, C, *spatial)``. ``"batch"`` mode draws one box for the batch (one strided
    copy), ``"elem"`` one per sample and ``"pair"`` one per pair (both members share it).

    Args:
        correct_lam: recompute ``lam = 1 - box area / image area`` after clipping the box to the
            image (timm's default); ``False`` keeps the sampled lam for the labels.
    """

    supports_out = True

    def __init__(self, *, correct_lam: bool = True) -> None:
        self.correct_lam = check_bool(type(self).__name__, "correct_lam", correct_lam)

    def prepare(
        self, owner: str, x: object, y: Tensor | None, *, task: str, union: bool, **arguments: Any
    ) -> OpBatch:
        tensor = check_batch(owner, x)
        if tensor.ndim < 3:
            fail(
                owner,
                "x of shape (B, C, *spatial) with at least one spatial dimension "
                "(e.g. images (B, C, H, W))",
                f"shape {shape_str(tensor.shape)}",
            )
        return OpBatch(x=tensor, data=tensor, view=tensor, y=y)

    def draw(
        self,
        batch: OpBatch,
        lam: Tensor,
        index: Tensor,
        generator: torch.Generator,
        *,
        mode: str,
        fixed: bool,
    ) -> tuple[Tensor, Tensor | None]:
        spatial = batch.view.shape[2:]
        if mode == "batch":
            boxes = draw_boxes(lam.tolist()[:1], spatial, generator)  # one box for all
            if self.correct_lam:
                lam = torch.full(lam.shape, 1.0 - K._box_fractions(boxes, spatial)[0])
            return lam, torch.tensor(boxes, dtype=torch.int64)  # (1, n, 2)
        box = torch.tensor(draw_boxes(lam.tolist(), spatial, generator), dtype=torch.int64)
        if mode == "pair":  # both members of a pair share the lower member's box
            box = box[torch.minimum(torch.arange(lam.shape[0]), index)]
        if self.correct_lam:
            lam = (1.0 - K.box_fraction(box, spatial)).to(torch.float32)
        return lam, box

    def apply(self, batch: OpBatch, params: MixParams, *, out: Tensor | None = None) -> Tensor:
        if params.box is None:  # parameters without boxes (identity): the interpolation
            return K.mix(batch.data, params.index, params.weight, out=out)
        return K.cutmix(batch.data, params.index, params.box, out=out)

    def __repr__(self) -> str:
        return f"CutMixOp(correct_lam={self.correct_lam})"


class CutMix(Mixer):
    r"""CutMix: replace a random box of each sample by the same box of its partner.

    .. math::
        \tilde x_i = M \odot x_i + (1 - M) \odot x_j, \quad
        \tilde y_i = \lambda y_i + (1-\lambda) y_j

    with :math:`M` zero inside a box of area :math:`(1-\lambda)` of the image,
    :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)`. Inputs are ``(B, C, *spatial)``: images
    ``(B, C, H, W)``, but also ``(B, C, T)`` sequences or ``(B, C, D, H, W)`` volumes.

    Paper: Yun, Han, Oh, Chun, Choe, Yoo, *CutMix: Regularization Strategy to Train Strong
    Classifiers with Localizable Features*, ICCV 2019 (arXiv 1905.04899).

    Args:
        alpha: Beta concentration (default 1.0, the paper's).
        correct_lam: recompute ``lam = 1 - box area / image area`` after clipping the box to the
            image (timm's default). ``False`` keeps the sampled lam for the labels.
        **kwargs: every other argument of :class:`mixkit.MixUp` (``mode``, ``p``,
            ``num_classes``, ``label_smoothing``, ``task``, ``pairing``, ``schedule``,
            ``generator``, ``enabled``, ...).

    .. note::
        In ``"batch"`` mode the whole batch shares one box (one strided copy of the partners'
        box region); ``"elem"`` and ``"pair"`` draw a box per sample / pair.

    Example:
        >>> cutmix = CutMix(num_classes=10, generator=torch.Generator().manual_seed(0))
        >>> mixed = cutmix(torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))
        >>> mixed.targets.sum(dim=1)
        tensor([1., 1., 1., 1.])
    """

    def __init__(self, *, alpha: float = 1.0, correct_lam: bool = True, **kwargs: Any) -> None:
        if "op" in kwargs:
            fail(
                type(self).__name__,
                "no op argument (CutMix's operation is CutMixOp; use Mixer(op=...) for another)",
                f"op={kwargs['op']!r}",
            )
        correct = check_bool(type(self).__name__, "correct_lam", correct_lam)
        super().__init__(alpha=alpha, op=CutMixOp(correct_lam=correct), **kwargs)

    @property
    def correct_lam(self) -> bool:
        """Whether lam is recomputed from the clipped box area."""
        return cast(CutMixOp, self.op).correct_lam

    def repr_args(self) -> dict[str, Any]:
        shown = super().repr_args()
        del shown["op"]
        if not self.correct_lam:
            shown["correct_lam"] = False
        return shown
