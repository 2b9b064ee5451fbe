"""MixUpCollator: mixing in the data collator, for those who wire Trainer themselves.

The lower-level alternative to :class:`mixkit_transformers.MixUpCallback`: it wraps the user's
collator, mixes the named input of each training batch and writes the mixed targets into
``labels``, where Trainer hands them to ``compute_loss_func`` (use
:class:`mixkit_transformers.MixUpLoss`). It mixes in the DataLoader workers, if any, which
spreads the cost of heavy mixing over them.

Trainer uses ONE ``data_collator`` for training and evaluation. The collator is therefore also a
``TrainerCallback`` that only switches itself: pass it in ``callbacks=`` too, and it mixes
between ``on_train_begin`` and ``on_train_end`` except around evaluations (it switches off when
Trainer decides to evaluate, on again in ``on_evaluate``). Not registered, it never mixes and
says so.

What the callback does and this does not: loss terms such as MixupE's (they need the model),
``features`` computed by the model, bit-exact resume, and schedules in persistent workers (a
worker holds a copy of the collator made when it started: ``set_epoch`` reaches it only if
workers restart each epoch, the default, and step-based schedules and the automatic switch only
with ``dataloader_num_workers=0``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from transformers import TrainerCallback, default_data_collator

from mixkit import Mixed, iter_mixers
from mixkit.validation import check_choice, describe, fail
from mixkit_transformers._guards import (
    check_problem_type,
    check_train_dataset,
    check_training_args,
)
from mixkit_transformers._loss import ENCODINGS, Encoding
from mixkit_transformers._mixers import (
    check_mixer,
    has_schedule,
    is_weighted,
    mixer_repr,
    task_of,
)
from mixkit_transformers._outputs import mix_attention_mask

__all__ = ["MixUpCollator"]

Collator = Callable[[list[Any]], Mapping[str, Any]]


class MixUpCollator(TrainerCallback):
    r"""A data collator that mixes training batches; pair it with :class:`MixUpLoss`.

    ::

        collator = MixUpCollator(mixkit.MixUp(alpha=0.2, num_classes=10))
        trainer = Trainer(model=model, args=args, train_dataset=ds, eval_dataset=val,
                          data_collator=collator, compute_loss_func=MixUpLoss(),
                          callbacks=[collator])  # the collator also switches itself

    Each training batch has ``batch[key]`` replaced by the mixed input, an aligned
    ``attention_mask`` by the union of the two sources' masks, and ``labels`` by the mixed
    targets in the ``encoding`` that :class:`MixUpLoss` reads; evaluation batches pass
    through. The lower-level alternative to :class:`MixUpCallback`, for those who wire the
    collator and the loss themselves. See the images guide of the documentation
    (docs/guides/images.md).

    Args:
        mixer: a mixkit ``Mixer``, ``RandomChoice`` or ``MixerWrapper`` without a loss term
            (MixupE's term needs the model: use :class:`MixUpCallback`).
        collator: the collator to wrap (default ``transformers.default_data_collator``).
        key: the batch entry to mix (default ``"pixel_values"``).
        encoding: ``"dense"`` (float32 ``(B, C)`` targets, rows summing to the sample's
            weight) or ``"pair"`` (float64 ``(B, 5)`` rows ``(y_a, y_b, lam, weight,
            label_smoothing)``, multi-class integer labels only); give :class:`MixUpLoss` the
            same.
        attention_mask_key: the mask that follows the mixed input, if aligned with it.

    Raises:
        TypeError / ValueError: bad arguments; a multi-label or regression mixer with a
            weighting (weights ride on soft multi-class targets only); at training begin the
            traps of ``_guards`` (label smoothing, a classifier already multi-label); after the
            first step, a model that received the float targets (no ``compute_loss_func``);
            a batch without ``key`` or ``labels``.
    """

    def __init__(
        self,
        mixer: nn.Module,
        *,
        collator: Collator | None = None,
        key: str = "pixel_values",
        encoding: Encoding = "dense",
        attention_mask_key: str | None = "attention_mask",
    ) -> None:
        owner = type(self).__name__
        self.mixer = check_mixer(owner, mixer)
        terms = [m.term for m in iter_mixers(self.mixer) if m.term is not None]
        if terms:
            fail(
                owner,
                "a mixer without a loss term (MixUpLoss sees only the labels; a term such as "
                "MixupE's runs the model on the clean batch: use MixUpCallback)",
                f"term={terms[0]!r}",
            )
        if collator is not None and not callable(collator):
            fail(owner, "collator to be callable or None", describe(collator), type_error=True)
        self.collator: Collator = collator if collator is not None else default_data_collator
        if not isinstance(key, str) or not key:
            fail(owner, "key to be a non-empty str", describe(key), type_error=True)
        if attention_mask_key is not None and not isinstance(attention_mask_key, str):
            fail(owner, "attention_mask_key to be a str or None", describe(attention_mask_key))
        self.key = key
        self.encoding = check_choice(owner, "encoding", encoding, ENCODINGS)
        self.attention_mask_key = attention_mask_key
        self.task = task_of(self.mixer)
        if self.encoding == "pair" and self.task != "multiclass":
            fail(owner, "encoding='pair' only with a multi-class mixer", f"task={self.task!r}")
        if is_weighted(self.mixer) and self.task != "multiclass":
            fail(
                owner,
                "a mixer without a weighting for multi-label or regression targets (per-sample "
                "weights ride on soft multi-class targets only; use MixUpCallback)",
                f"task={self.task!r} with a weighting",
            )
        self.training = False
        self._in_train = False
        self._attached = False
        self._checked_model = False
        self._warned = False

    # -- the collator ----------------------------------------------------------------------

    def __call__(self, features: list[Any]) -> dict[str, Any]:
        batch = dict(self.collator(features))
        if not self.training:
            if not self._attached and not self._warned:
                self._warned = True
                warnings.warn(
                    "MixUpCollator: expected to be registered as a Trainer callback too "
                    "(callbacks=[collator]), so that it mixes training batches only; got a call "
                    "outside training: batches pass through unmixed",
                    UserWarning,
                    stacklevel=2,
                )
            return batch
        owner = type(self).__name__
        for name in (self.key, "labels"):
            if not isinstance(batch.get(name), Tensor):
                fail(owner, f"collated batches with a tensor {name!r}", f"keys {sorted(batch)}")
        x, labels = batch[self.key], batch["labels"]
        mixed: Mixed = self.mixer(x, labels)
        batch[self.key] = mixed.inputs
        mask_key = self.attention_mask_key
        if mask_key is not None and mask_key in batch and mask_key != self.key:
            batch[mask_key] = mix_attention_mask(batch[mask_key], x, mixed)
        batch["labels"] = self._encode(owner, mixed)
        return batch

    def _encode(self, owner: str, mixed: Mixed) -> Tensor:
        """The mixed targets as ``labels`` (see the class notes)."""
        if self.encoding == "pair":
            if mixed.relabelled or mixed.y_a.is_floating_point() or mixed.y_a.ndim != 1:
                fail(
                    owner,
                    "encoding='dense' (the pair encoding needs integer class labels and no "
                    "relabelling)",
                    f"labels {describe(mixed.y_a)}, relabelled={mixed.relabelled}",
                )
            smoothing = torch.full_like(mixed.lam, mixed.label_smoothing)
            columns = (mixed.y_a, mixed.y_b, mixed.lam, mixed.weights, smoothing)
            return torch.stack([c.to(torch.float64) for c in columns], dim=1)  # (B, 5)
        if self.task == "multiclass":
            return mixed.targets * mixed.weights.to(mixed.targets.dtype).unsqueeze(1)  # (B, C)
        return mixed.targets

    # -- the switch (Trainer events) -------------------------------------------------------

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        check_training_args(type(self).__name__, args)
        self._attached = True

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kwargs: Any
    ) -> None:
        owner = type(self).__name__
        check_training_args(owner, args)
        self._attached = True
        self._checked_model = False
        if isinstance(model, nn.Module):
            check_problem_type(owner, model, self.task, hint=_HINT)
        check_train_dataset(owner, args, kwargs.get("train_dataloader"), self.key)
        self._set_clock(state)
        self._in_train = True
        # eval_on_start evaluates right after this event: stay off until on_evaluate
        self.training = not bool(getattr(args, "eval_on_start", False))

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._set_clock(state)

    def on_step_end(
        self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kwargs: Any
    ) -> None:
        if not self._checked_model and isinstance(model, nn.Module):
            self._checked_model = True
            check_problem_type(type(self).__name__, model, self.task, hint=_HINT)
        self._set_clock(state)  # batches of the next step are collated before on_step_begin
        if control.should_evaluate:
            self.training = False

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if control.should_evaluate:
            self.training = False

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._in_train:  # an evaluation outside training: stay off
            return
        self.training = True
        value = (metrics or {}).get("eval_loss")
        if value is not None and has_schedule(self.mixer):
            self.mixer.report(float(value))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.training = self._in_train = False

    def _set_clock(self, state: Any) -> None:
        self.mixer.set_epoch(math.floor(float(state.epoch or 0.0) + 1e-9))
        self.mixer.set_step(int(state.global_step))

    def __repr__(self) -> str:
        args = [mixer_repr(self.mixer)]
        if self.collator is not default_data_collator:
            args.append(f"collator={self.collator!r}")
        if self.key != "pixel_values":
            args.append(f"key={self.key!r}")
        if self.encoding != "dense":
            args.append(f"encoding={self.encoding!r}")
        if self.attention_mask_key != "attention_mask":
            args.append(f"attention_mask_key={self.attention_mask_key!r}")
        return f"MixUpCollator({', '.join(args)})"


_HINT = "pass compute_loss_func=MixUpLoss(...) to the Trainer so the labels never reach the model"
