"""The input-operation slot: how a batch is validated, what is drawn for it, how it is mixed.

A mixer is the template (validate -> draw -> bind -> targets, weights -> apply -> relabel ->
finish) plus strategies; the input operation is the strategy that touches the data. mixkit's
own are :class:`LerpOp` (mixup) and :class:`mixkit.CutMixOp`; the integrations add waveforms
with lengths, loudness at a sampled SNR, spectrograms, and graphs aligned by optimal transport,
all through this one interface.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from mixkit import _kernels as K
from mixkit._params import MixParams
from mixkit.validation import check_batch, fail

if TYPE_CHECKING:
    from mixkit._mixed import Mixed

__all__ = ["InputOp", "LerpOp", "OpBatch"]


@dataclass(frozen=True, eq=False)
class OpBatch:
    """A batch after :meth:`InputOp.prepare`: what the rest of the template works on.

    Attributes:
        x: the caller's batch object, returned as is when nothing is mixed.
        data: what the operation mixes; it becomes ``Mixed.source`` (the caller's tensor, or a
            prepared copy of it, e.g. clips with their padding set to silence).
        view: a ``(B, ...)`` floating tensor that stands for the batch: its batch size and
            device, the values ``check_finite`` checks, and the features pairings and weightings
            measure when the caller passes none (the batch itself for tensors; mean node
            features for graphs).
        y: the labels (the caller's, or the operation's default such as ``Batch.y``), or None.
        context: what the operation resolved from its per-call arguments (lengths, masks...).
    """

    x: Any
    data: Any
    view: Tensor
    y: Tensor | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.view.shape[0])

    @property
    def device(self) -> torch.device:
        return self.view.device


class InputOp(abc.ABC):
    """Base class of input operations (see the module notes for where each hook runs).

    Subclasses implement :meth:`apply` and override only the hooks they need; the defaults
    handle a floating ``(B, ...)`` tensor batch.

    Attributes:
        arguments: the extra keyword arguments a mixer call accepts for this operation (e.g.
            ``("lengths", "frame_targets")``); they reach :meth:`prepare`.
        supports_out: whether :meth:`apply` writes into a caller's ``out=`` tensor.
    """

    arguments: tuple[str, ...] = ()
    supports_out: bool = False

    def prepare(
        self, owner: str, x: object, y: Tensor | None, *, task: str, union: bool, **arguments: Any
    ) -> OpBatch:
        """Validate the batch (and the per-call ``arguments``); default: a float tensor.

        ``owner`` names the caller in errors; ``task`` and ``union`` are the mixer's, for
        operations that validate or mix targets of their own (audio frame targets).
        """
        tensor = check_batch(owner, x)
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
        """Extra draws of the operation (a box, an SNR), from ``generator`` only.

        Gets the drawn ``(B,)`` lam and partner index (CPU) and the mode; ``fixed`` is True when
        the caller fixed lam. Returns the (possibly corrected) lam and a box or None.
        """
        return lam, None

    def bind(self, batch: OpBatch, params: MixParams) -> MixParams:
        """Resolve what depends on the batch (lengths, levels); may change ``index`` / ``lam``."""
        return params

    @abc.abstractmethod
    def apply(self, batch: OpBatch, params: MixParams, *, out: Tensor | None = None) -> Any:
        """The mixed inputs (a new object, or ``out`` filled when given)."""

    def represent(self, batch: OpBatch, params: MixParams, inputs: Any) -> Tensor:
        """What a relabelling reads for the mixed batch (default: the mixed inputs)."""
        if not isinstance(inputs, Tensor):
            fail(type(self).__name__, "a tensor batch for relabelling", type(inputs).__name__)
        return inputs

    def finish(self, batch: OpBatch, params: MixParams, mixed: Mixed) -> Mixed:
        """The result returned to the caller (default: ``mixed``; audio adds lengths)."""
        return mixed

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LerpOp(InputOp):
    """Mixup's operation: ``lam * x + (1 - lam) * x[index]`` (:func:`mixkit.functional.mix`)."""

    supports_out = True

    def apply(self, batch: OpBatch, params: MixParams, *, out: Tensor | None = None) -> Tensor:
        return K.mix(batch.data, params.index, params.weight, out=out)
