"""The audio input operation: padded batches of clips with lengths, in the core's ``op`` slot.

A call ``mixer(x, y, lengths=..., frame_targets=...)`` of a :class:`mixkit.Mixer` whose ``op``
is an :class:`AudioOp` runs the core's template with these hooks:

    prepare (validate, silence the padding) -> draw (core; the op's own draws) -> bind (lengths,
    policy, levels) -> apply (the rule, cut to the mixed lengths) -> targets, weights,
    relabelling (core) -> finish (lengths, masks, frame targets: an :class:`AudioMixed`)

Subclasses give the rule (:meth:`AudioOp.combine` on the batch, :meth:`AudioOp.mix_row` on one
long CPU row) and, when it depends on the data, the binding (:meth:`AudioOp.bind`).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import torch
from torch import Tensor

import mixkit
from mixkit.validation import check_choice, fail
from mixkit_audio import functional as AF
from mixkit_audio._mixed import AudioMixed
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import (
    Lengths,
    check_audio,
    check_frame_targets,
    check_lengths,
    check_out,
)

__all__ = ["AudioOp"]

_ROW_MIN = 1 << 15  # elements per row from which the per-row CPU path wins (as in the core)


def check_policy(owner: str, policy: object) -> str:
    """One of :data:`mixkit_audio.functional.POLICIES`."""
    return check_choice(owner, "policy", policy, AF.POLICIES)


class AudioOp(mixkit.InputOp):
    """Base of the audio operations: padded batches, time on the last axis, a length per row.

    A call takes ``lengths=`` (``(B,)`` valid steps: an integer tensor of counts, or a floating
    tensor of relative lengths in ``[0, 1]``, SpeechBrain's convention; default every row full)
    and ``frame_targets=`` (``(B, F, C)`` targets in ``[0, 1]`` on F frames spanning the T
    steps). Padding is silence: it never leaks into a mix, a distance, a level or the mixer's
    ``check_finite``. Rows that are not mixed come back as they were (padding silenced); the
    result is an :class:`mixkit_audio.AudioMixed` with the mixed lengths in the caller's
    convention.

    Args:
        policy: the length of a mixed row (:func:`mixkit_audio.functional.mixed_lengths`):
            ``"pad"`` (the original's), ``"min"`` (the shorter clip's) or ``"max"``.

    Attributes:
        ndims, layout: the accepted numbers of dimensions of ``x``, and how errors name them.
    """

    arguments = ("lengths", "frame_targets")
    supports_out = True
    ndims: ClassVar[tuple[int, ...]] = (2, 3)
    layout: ClassVar[str] = "(B, T) or (B, channels, T)"

    def __init__(self, *, policy: str = "pad") -> None:
        self.policy = check_policy(type(self).__name__, policy)

    @property
    def silence(self) -> float:
        """The value padding holds (0 for waveforms)."""
        return 0.0

    @property
    def rows(self) -> bool:
        """Whether :meth:`mix_row` implements the rule (else long CPU rows use :meth:`combine`)."""
        return True

    # -- the rule: what subclasses implement ---------------------------------------------

    @abc.abstractmethod
    def combine(
        self,
        x: Tensor,
        index: Tensor,
        lam: Tensor | float,
        params: AudioParams,
        *,
        out: Tensor | None = None,
    ) -> Tensor:
        """The rule on a silent-padded batch (``index`` and a ``(B,)`` ``lam`` on its device):
        a new tensor, or ``out`` filled. Cutting to the mixed lengths is done afterwards."""

    @abc.abstractmethod
    def mix_row(
        self, out: Tensor, own: Tensor, partner: Tensor, weight: float, row: int,
        params: AudioParams,
    ) -> None:  # fmt: skip
        """The rule on one row's first ``out_lengths[row]`` steps, written into ``out``."""

    # -- the core's hooks -----------------------------------------------------------------

    def prepare(
        self, owner: str, x: object, y: Tensor | None, *, task: str, union: bool, **arguments: Any
    ) -> mixkit.OpBatch:
        """Validate the clips, lengths and frame targets; set the padding to silence."""
        data = check_audio(owner, x, self.ndims, self.layout)
        lengths = check_lengths(owner, arguments.get("lengths"), data)
        frames = check_frame_targets(owner, arguments.get("frame_targets"), data, task)
        clean = self.silenced(owner, data, lengths)
        context = {"owner": owner, "lengths": lengths, "frame_targets": frames, "union": union}
        return mixkit.OpBatch(x=data, data=clean, view=clean, y=y, context=context)

    def silenced(self, owner: str, x: Tensor, lengths: Lengths) -> Tensor:
        """``x`` with silent padding: ``x`` itself when it is silent already (a zero-padded
        collate), else a copy with the padding set to :attr:`silence`."""
        if not lengths.padded or AF.padding_holds(x, lengths.absolute, self.silence):
            return x
        return AF.fill_padding(x, lengths.absolute, self.silence)

    def bind(self, batch: mixkit.OpBatch, params: mixkit.MixParams) -> AudioParams:
        """The rows really mixed and their lengths under the policy (labels keep ``lam``)."""
        lengths: Lengths = batch.context["lengths"]
        index, lam = params.index, params.lam
        moved = (lam < 1) & (index != torch.arange(params.batch_size))
        out = AF.mixed_lengths(lengths.absolute, index, self.policy, moved=moved)
        return AudioParams(
            index=index, lam=lam, box=params.box, choice=params.choice,
            lengths=lengths.absolute, out_lengths=out, moved=moved, frame_lam=lam,
        )  # fmt: skip

    def apply(
        self, batch: mixkit.OpBatch, params: mixkit.MixParams, *, out: Tensor | None = None
    ) -> Tensor:
        """The rule over each mixed row's length, silence after it; unmixed rows as they were.

        Long rows on the CPU go row by row (each output row written once, each source read
        once); ``out`` receives the result when given.
        """
        x: Tensor = batch.data
        bound = params if isinstance(params, AudioParams) else self.bind(batch, params)
        if out is not None:
            check_out(batch.context["owner"], out, x, batch.x)
        if (
            x.device.type == "cpu"
            and x[0].numel() >= _ROW_MIN
            and not (x.requires_grad and torch.is_grad_enabled())
            and self.rows
        ):
            return _mix_rows(self, x, bound, out)
        index = bound.index.to(x.device, non_blocking=True)
        mixed = self.combine(x, index, _weight(bound.lam, x.device), bound, out=out)
        _cut(mixed, x, bound, self.silence)
        return mixed

    def finish(
        self, batch: mixkit.OpBatch, params: mixkit.MixParams, mixed: mixkit.Mixed
    ) -> AudioMixed:
        """An :class:`AudioMixed`: mixed lengths, masks and frame targets (the caller's lengths
        and frame targets as given for the identity result)."""
        lengths: Lengths = batch.context["lengths"]
        frames: Tensor | None = batch.context["frame_targets"]
        device, size = batch.device, lengths.size
        if not mixed.applied:
            frame_mask = None
            if frames is not None:
                count = frames.shape[1]
                valid = AF.frame_lengths(lengths.absolute, size, count)
                frame_mask = AF.lengths_to_mask(valid.to(device), count)
            given = lengths.given if lengths.given is not None else lengths.absolute.to(device)
            mask = AF.lengths_to_mask(lengths.absolute.to(device), size)
            return AudioMixed.extend(
                mixed, lengths=given, mask=mask, frame_targets=frames, frame_mask=frame_mask
            )
        bound = params if isinstance(params, AudioParams) else self.bind(batch, params)
        mixed_frames, frame_mask = None, None
        if frames is not None:
            count = frames.shape[1]
            src = AF.frame_lengths(bound.lengths, size, count)
            new = AF.frame_lengths(bound.out_lengths, size, count)
            mixed_frames = AF.mix_frame_targets(
                frames, bound.index, bound.frame_lam, src, new,
                moved=bound.moved, union=bool(batch.context["union"]),
            )  # fmt: skip
            frame_mask = AF.lengths_to_mask(new.to(device), count)
        return AudioMixed.extend(
            mixed,
            lengths=lengths.report(bound.out_lengths, device),
            mask=AF.lengths_to_mask(bound.out_lengths.to(device), size),
            frame_targets=mixed_frames,
            frame_mask=frame_mask,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(policy={self.policy!r})"


def _weight(lam: Tensor, device: torch.device) -> Tensor | float:
    # one lam for the whole batch: a scalar weight is cheaper than a broadcast tensor
    values = lam.tolist()
    return values[0] if values.count(values[0]) == len(values) else lam.to(device)


def _cut(out: Tensor, x: Tensor, params: AudioParams, silence: float) -> None:
    """Cut each mixed row of ``out`` to its length; copy the unmixed rows back from ``x``."""
    size = x.shape[-1]
    stops = params.out_lengths
    if bool((stops < size).any()):
        if x.device.type == "cpu":  # only the tails are touched
            for i, stop in enumerate(stops.tolist()):
                if stop < size:
                    out[i, ..., stop:] = silence
        else:
            keep = AF.lengths_to_mask(stops.to(x.device), size)
            out.masked_fill_(~keep.reshape(x.shape[0], *([1] * (x.ndim - 2)), size), silence)
    still = (~params.moved).nonzero().squeeze(1)
    if still.numel():  # rows not mixed come back exactly as they were
        rows = still.to(x.device)
        out.index_copy_(0, rows, x.index_select(0, rows))


def _mix_rows(op: AudioOp, x: Tensor, params: AudioParams, out: Tensor | None) -> Tensor:
    """Long CPU rows: the rule over the mixed length, silence after it, one row at a time (no
    temporary of the batch's size)."""
    result = torch.empty_like(x) if out is None else out
    rows, out_rows = x.unbind(0), result.unbind(0)
    index, lam = params.index.tolist(), params.lam.tolist()
    stops, moved = params.out_lengths.tolist(), params.moved.tolist()
    size = x.shape[-1]
    for i, (j, weight, stop, mixed) in enumerate(zip(index, lam, stops, moved, strict=True)):
        if not mixed:
            out_rows[i].copy_(rows[i])
            continue
        op.mix_row(
            out_rows[i][..., :stop], rows[i][..., :stop], rows[j][..., :stop], weight, i, params
        )
        if stop < size:
            out_rows[i][..., stop:].fill_(op.silence)
    return result


def preset_args(shown: dict[str, Any], policy: str) -> dict[str, Any]:
    """A preset's ``repr`` arguments: the mixer's without ``op``, ``policy`` after
    ``num_classes``."""
    result: dict[str, Any] = {}
    for name, value in shown.items():
        if name != "op":
            result[name] = value
        if name == "num_classes":
            result["policy"] = policy
    return result


def refuse_op(owner: str, op_name: str, kwargs: dict[str, Any]) -> None:
    """Presets fill the ``op`` slot themselves."""
    if "op" in kwargs:
        fail(
            owner,
            f"no op argument ({owner}'s operation is {op_name}; use mixkit.Mixer(op=...) for "
            "another)",
            f"op={kwargs['op']!r}",
        )
