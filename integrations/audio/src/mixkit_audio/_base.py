"""The audio mixer template: the core's Mixer plus lengths, masks and frame targets.

Data flow of one call ``mixer(x, y, lengths=..., frame_targets=...)``:

    validate -> silence the padding -> draw (core) -> bind to the batch (lengths, policy,
    levels) -> apply the audio op, cut to the mixed lengths -> targets, weights, relabelling
    (core) -> frame targets -> :class:`AudioMixed`

Subclasses choose the op, batched (:meth:`AudioMixer._combine`) and, for long rows on the CPU,
row by row (:meth:`AudioMixer._mix_row`: each output row written once, each source read once),
and, when the op depends on the data, how parameters bind to the batch
(:meth:`AudioMixer._bind`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from mixkit import Mixer, MixParams
from mixkit import functional as core
from mixkit_audio import functional as AF
from mixkit_audio._mixed import AudioMixed
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import (
    Lengths,
    check_audio,
    check_choice,
    check_frame_targets,
    check_lengths,
    describe,
    fail,
)

__all__ = ["AudioMixer"]

_ROW_MIN = 1 << 15  # elements per row from which the per-row CPU path wins (as in the core)


class AudioMixer(Mixer):
    """Base class of the audio mixers: batches of clips of different lengths.

    A padded batch ``x`` (time on the last axis) comes with the valid length of each row:
    ``mixer(x, y, lengths=lengths)``. Lengths are absolute (an integer tensor of sample or frame
    counts) or relative (a floating tensor in ``[0, 1]``, SpeechBrain's convention); the result
    reports them back in the same convention. Padding is treated as silence: it never leaks
    into a mix and never counts in a distance or a level.

    Args:
        policy: the length of a mixed row (see :func:`mixkit_audio.functional.mixed_lengths`):
            ``"pad"`` (default) keeps the original's length, the partner cut or padded with
            silence; ``"min"`` truncates to the shorter clip; ``"max"`` keeps the longer.
        **kwargs: every argument of :class:`mixkit.MixUp` (``alpha``, ``mode``, ``p``,
            ``num_classes``, ``label_smoothing``, ``task``, ``union``, ``pairing``,
            ``weighting``, ``relabel``, ``schedule``, ``generator``, ``enabled``, ...).

    Rows that are not mixed (``lam = 1``, mixed with themselves, skipped by ``p``) come back as
    they were (with silent padding); disabled or in eval mode the call is exactly the identity
    (``mixed.inputs is x``).
    """

    _ndims: ClassVar[tuple[int, ...]] = (2, 3)
    _layout: ClassVar[str] = "(B, T) or (B, channels, T)"

    def __init__(self, *, policy: str = "pad", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = check_choice(type(self).__name__, "policy", policy, AF.POLICIES)

    # -- hooks for subclasses -------------------------------------------------------------

    def _silence(self) -> float:
        """The value padding holds (0 for waveforms)."""
        return 0.0

    def _combine(
        self, x: Tensor, index: Tensor, lam: Tensor | float, params: AudioParams | None
    ) -> Tensor:
        """The audio op on silent-padded sources (here the amplitude lerp); a new tensor."""
        return core.mix(x, index, lam)

    def _bind(self, x: Tensor, params: MixParams, lengths: Lengths) -> AudioParams:
        """Resolve what depends on the batch: mixed rows and their lengths."""
        index, lam = params.index, params.lam
        moved = (lam < 1) & (index != torch.arange(params.batch_size))
        out = AF.mixed_lengths(lengths.absolute, index, self.policy, moved=moved)
        return AudioParams(
            index=index,
            lam=lam,
            box=params.box,
            choice=params.choice,
            lengths=lengths.absolute,
            out_lengths=out,
            moved=moved,
            frame_lam=lam,
        )

    # -- validation -----------------------------------------------------------------------

    def _check_inputs(self, x: object) -> Tensor:
        owner = type(self).__name__
        x = check_audio(owner, x, self._ndims, self._layout)
        if self.check_finite and not bool(torch.isfinite(x).all()):
            fail(owner, "finite inputs (check_finite=True)", "NaN or infinite values in x")
        return x

    def _filled(self, x: Tensor, lengths: Lengths) -> Tensor:
        """``x`` with silent padding: ``x`` itself when its padding is silent already (a
        zero-padded collate), else a copy with the padding set to silence."""
        if not lengths.padded or AF.padding_holds(x, lengths.absolute, self._silence()):
            return x
        return AF.fill_padding(x, lengths.absolute, self._silence())

    def _row_path(self) -> bool:
        """Whether :meth:`_mix_row` implements the op (else only :meth:`_combine` does)."""
        return True

    def _mix_row(self, out: Tensor, own: Tensor, partner: Tensor, weight: float, row: int,
                 params: AudioParams) -> None:  # fmt: skip
        """The op on one row's first ``out_lengths[row]`` steps, written into ``out``."""
        torch.lerp(partner, own, weight, out=out)

    # -- draw / mix / call ----------------------------------------------------------------

    def draw(
        self,
        x: Tensor,
        *,
        lam: float | None = None,
        features: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> MixParams:
        """Draw partners and weights for batch ``x`` (see :meth:`mixkit.Mixer.draw`).

        ``lengths`` matters only to pairings that look at the samples (k-mixup, k-NN): they
        then see the clips with silent padding.
        """
        x = self._check_inputs(x)
        lens = check_lengths(type(self).__name__, lengths, x)
        if self.pairing.needs_features and features is None:
            x = self._filled(x, lens)
        return super().draw(x, lam=lam, features=features)

    def mix(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        *,
        features: Tensor | None = None,
        lengths: Tensor | None = None,
        frame_targets: Tensor | None = None,
    ) -> AudioMixed:
        """Mix with given parameters (no randomness); see :meth:`__call__` for the arguments."""
        owner = type(self).__name__
        x, classes = self._check(x, y)
        lens = check_lengths(owner, lengths, x)
        feats = self._check_features(features, x)
        frames = check_frame_targets(owner, frame_targets, x, self.task)
        if not isinstance(params, MixParams) or params.batch_size != x.shape[0]:
            fail(f"{owner}.mix", f"MixParams for a batch of {x.shape[0]}", describe(params))
        return self._mix_audio(self._filled(x, lens), y, params, classes, feats, lens, frames)

    def forward(
        self,
        x: Tensor,
        y: Tensor,
        *,
        features: Tensor | None = None,
        lengths: Tensor | None = None,
        frame_targets: Tensor | None = None,
    ) -> AudioMixed:
        """Mix a padded batch.

        Args:
            x: ``(B, ..., T)`` float batch, time last (see the class for the layouts).
            y: clip labels as in :class:`mixkit.MixUp` (int ``(B,)``, soft / multi-hot
                ``(B, C)``, or regression values).
            features: ``(B, ...)`` representation that pairings and weightings measure
                distances on (default: the clips with silent padding, flattened).
            lengths: ``(B,)`` valid steps of each row: int counts, or floats in ``[0, 1]``
                relative to ``T``. Default: every row full.
            frame_targets: ``(B, F, C)`` frame-level targets in ``[0, 1]`` (F frames spanning
                the T steps), mixed consistently with the lengths.

        Returns:
            :class:`mixkit_audio.AudioMixed`.
        """
        owner = type(self).__name__
        x, classes = self._check(x, y)
        lens = check_lengths(owner, lengths, x)
        feats = self._check_features(features, x)
        frames = check_frame_targets(owner, frame_targets, x, self.task)
        if self._active():
            work = self._filled(x, lens)
            params = self._draw(work, None, feats)
            out = self._mix_audio(work, y, params, classes, feats, lens, frames)
        else:
            out = self._identity_audio(x, y, classes, lens, frames)
        if self.training:
            self._clock.step += 1
        return out

    # -- internals ------------------------------------------------------------------------

    def _mix_inputs(
        self, x: Tensor, params: MixParams, index: Tensor, lam: Tensor | float
    ) -> Tensor:
        if not isinstance(params, AudioParams):  # not bound (a subclass calling the core)
            return self._combine(x, index, lam, None)
        if (
            x.device.type == "cpu"
            and x[0].numel() >= _ROW_MIN
            and not (x.requires_grad and torch.is_grad_enabled())
            and self._row_path()
        ):
            return self._mix_rows(x, params)
        out = self._combine(x, index, lam, params)  # a new tensor: ours to write into
        size = x.shape[-1]
        stops = params.out_lengths
        if bool((stops < size).any()):  # cut each mixed row to its length
            if x.device.type == "cpu":  # only the tails are touched
                for i, stop in enumerate(stops.tolist()):
                    if stop < size:
                        out[i, ..., stop:] = self._silence()
            else:
                keep = AF.lengths_to_mask(stops.to(x.device), size)
                keep = keep.reshape(x.shape[0], *([1] * (x.ndim - 2)), size)
                out.masked_fill_(~keep, self._silence())
        still = (~params.moved).nonzero().squeeze(1)
        if still.numel():  # rows not mixed come back exactly as they were
            rows = still.to(x.device)
            out.index_copy_(0, rows, x.index_select(0, rows))
        return out

    def _mix_rows(self, x: Tensor, params: AudioParams) -> Tensor:
        """Large CPU rows: each output row written once, each source row read once (no
        temporary of the batch's size): the op over the mixed length, silence after it."""
        out = torch.empty_like(x)
        rows, out_rows = x.unbind(0), out.unbind(0)
        index, lam = params.index.tolist(), params.lam.tolist()
        stops, moved = params.out_lengths.tolist(), params.moved.tolist()
        size = x.shape[-1]
        for i, (j, weight, stop, mixed) in enumerate(zip(index, lam, stops, moved, strict=True)):
            if not mixed:
                out_rows[i].copy_(rows[i])
                continue
            self._mix_row(
                out_rows[i][..., :stop], rows[i][..., :stop], rows[j][..., :stop], weight, i, params
            )
            if stop < size:
                out_rows[i][..., stop:].fill_(self._silence())
        return out

    def _mix_audio(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        classes: int | None,
        features: Tensor | None,
        lengths: Lengths,
        frame_targets: Tensor | None,
    ) -> AudioMixed:
        bound = self._bind(x, params, lengths)
        base = self._mix(x, y, bound, classes, features)
        device, size = x.device, x.shape[-1]
        frames, frame_mask = None, None
        if frame_targets is not None:
            count = frame_targets.shape[1]
            src = AF.frame_lengths(bound.lengths, size, count)
            out = AF.frame_lengths(bound.out_lengths, size, count)
            frames = AF.mix_frame_targets(
                frame_targets,
                bound.index,
                bound.frame_lam,
                src,
                out,
                moved=bound.moved,
                union=self.union,
            )
            frame_mask = AF.lengths_to_mask(out.to(device), count)
        return AudioMixed.extend(
            base,
            lengths=lengths.report(bound.out_lengths, device),
            mask=AF.lengths_to_mask(bound.out_lengths.to(device), size),
            frame_targets=frames,
            frame_mask=frame_mask,
        )

    def _identity_audio(
        self,
        x: Tensor,
        y: Tensor,
        classes: int | None,
        lengths: Lengths,
        frame_targets: Tensor | None,
    ) -> AudioMixed:
        base = self._identity(x, y, classes)
        size = x.shape[-1]
        frame_mask = None
        if frame_targets is not None:
            count = frame_targets.shape[1]
            frame_mask = AF.lengths_to_mask(
                AF.frame_lengths(lengths.absolute, size, count).to(x.device), count
            )
        given = lengths.given if lengths.given is not None else lengths.absolute.to(x.device)
        return AudioMixed.extend(
            base,
            lengths=given,
            mask=AF.lengths_to_mask(lengths.absolute.to(x.device), size),
            frame_targets=frame_targets,
            frame_mask=frame_mask,
        )

    def _repr_args(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name, value in super()._repr_args().items():
            shown[name] = value
            if name == "num_classes":
                shown["policy"] = self.policy
        return shown
