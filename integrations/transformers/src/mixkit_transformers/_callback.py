"""MixUpCallback: any mixkit mixer in Hugging Face ``Trainer`` by adding one callback.

A ``TrainerCallback`` cannot change a batch, but ``on_train_begin`` hands it the model: the
callback puts the two hooks of :class:`~mixkit_transformers._hooks.ModelHooks` on it (mix the
training batch, set the mixed loss) and takes them off in ``on_train_end``. It also keeps the
mixer's clock and checkpoint state and logs what was mixed. The package README says why this
stays correct under evaluation, gradient accumulation, mixed precision, DDP, gradient
checkpointing, DataLoader workers, ``torch.compile`` and resume.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

import mixkit
from mixkit.validation import check_bool, check_choice, describe, fail
from mixkit_transformers._guards import (
    TOKEN_ID_KEYS,
    check_problem_type,
    check_train_dataset,
    check_training_args,
    refuse_integer_inputs,
    resolve_key,
)
from mixkit_transformers._hooks import FeaturesFn, MixStats, ModelHooks
from mixkit_transformers._loss import FORMS, Form, Reduction, check_reduction
from mixkit_transformers._mixers import (
    check_mixer,
    decode_state,
    encode_state,
    has_schedule,
    mixer_repr,
    task_of,
)
from mixkit_transformers._text import TEXT_KEY, TextMixing, check_layers

__all__ = ["MixUpCallback"]

_log = logging.getLogger("mixkit_transformers")


class MixUpCallback(TrainerCallback, ExportableState):
    """Mix the training batches of a ``Trainer`` with any mixkit mixer: add this callback.

    ::

        trainer = Trainer(model=model, args=args, train_dataset=ds, eval_dataset=val,
                          callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.2, num_classes=10))])

    During training the named float input is mixed (a text model inside, at its word
    embeddings or a layer), an aligned attention mask becomes the union of the two sources'
    masks, and the loss is ``mixed.loss(logits, model=...)``, the core's one loss entry, the
    mixer's extra term included. The model never sees the mixed labels, so float targets
    cannot change its loss; evaluation and prediction are never mixed. See the images and text
    guides of the documentation (docs/guides/images.md, docs/guides/text.md).

    Args:
        mixer: a :class:`mixkit.Mixer` (``MixUp``, ``CutMix``, ``MixUpE``, the seed methods,
            any ``term=``), a :class:`mixkit.RandomChoice` or a :class:`mixkit.MixerWrapper`.
            Its ``task`` must match the labels.
        key: the float batch entry to mix; default: the first of ``pixel_values``,
            ``input_values``, ``input_features`` that the model's forward takes, else
            ``input_ids`` (text, mixed inside the model). A key of token ids is refused.
        label_key: the batch entry holding the labels (default ``"labels"``).
        attention_mask_key: the mask that follows the mixed input when aligned with it;
            ``None`` leaves masks alone.
        form: the core's loss form (:data:`mixkit.functional.FORMS`): ``"auto"``, ``"soft"``
            or ``"pair"``.
        reduction: ``"mean"`` or ``"weighted_mean"`` (:func:`mixkit.functional.reduce_loss`),
            over the samples of the accumulated batch when Trainer passes
            ``num_items_in_batch``.
        features: optional ``features(model, batch) -> (B, ...)`` on which pairings,
            weightings and relabellings measure distances; for text the default is each row's
            mean word embedding over its tokens.
        layers: text only: ``0`` (default) mixes the word embeddings; ``k >= 1`` the hidden
            states output by layer ``k`` (TMix); a sequence draws one site per micro-batch.
        share_across_ranks: draw the same lam and partners on every process.
        metric: the evaluation metric reported to the mixer's schedule (``None``: none).

    Raises:
        TypeError / ValueError: bad arguments; the traps of ``_guards`` at set-up and training
            begin; a batch without the key or the labels, or with integer inputs under the key.
    """

    def __init__(
        self,
        mixer: nn.Module,
        *,
        key: str | None = None,
        label_key: str = "labels",
        attention_mask_key: str | None = "attention_mask",
        form: Form = "auto",
        reduction: Reduction = "mean",
        features: FeaturesFn | None = None,
        share_across_ranks: bool = False,
        metric: str | None = "eval_loss",
        layers: int | Sequence[int] | None = None,
    ) -> None:
        owner = type(self).__name__
        self.mixer = check_mixer(owner, mixer)
        for name, value, optional in (
            ("key", key, True),
            ("label_key", label_key, False),
            ("attention_mask_key", attention_mask_key, True),
            ("metric", metric, True),
        ):
            if not (isinstance(value, str) and value) and not (optional and value is None):
                kind = "a non-empty str or None" if optional else "a non-empty str"
                fail(owner, f"{name} to be {kind}", describe(value), type_error=True)
        self.key = key
        self.label_key = label_key
        self.attention_mask_key = attention_mask_key
        self.form = cast(Form, check_choice(owner, "form", form, FORMS))
        self.reduction = check_reduction(owner, reduction)
        if features is not None and not callable(features):
            fail(
                owner,
                "features to be a callable features(model, batch) -> Tensor, or None",
                describe(features),
                type_error=True,
            )
        self.features = features
        self.share_across_ranks = check_bool(owner, "share_across_ranks", share_across_ranks)
        self.metric = metric
        self.layers = check_layers(owner, layers)
        self.task = task_of(self.mixer)
        self._hooks: ModelHooks | None = None
        self._training = False
        self._seed: int | None = None
        self._warned: set[str] = set()

    # -- Trainer events --------------------------------------------------------------------

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        check_training_args(type(self).__name__, args)

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: nn.Module | None = None, **kwargs: Any
    ) -> None:
        owner = type(self).__name__
        check_training_args(owner, args)
        if int(getattr(args, "n_gpu", 1)) > 1:
            fail(
                owner,
                "one device per process (launch with torchrun or accelerate launch: DDP; the "
                "hooks of one model cannot serve the threads of nn.DataParallel)",
                f"n_gpu={args.n_gpu} in one process",
            )
        if not isinstance(model, nn.Module):
            fail(owner, "Trainer to pass the model to on_train_begin", describe(model))
        if self.key in TOKEN_ID_KEYS:
            refuse_integer_inputs(owner, self.key, f"key={self.key!r} (token ids)")
        key = resolve_key(owner, model, self.key)
        text = self._text(owner, model, key)
        check_train_dataset(owner, args, kwargs.get("train_dataloader"), key)
        check_problem_type(owner, model, self.task, hint="keep integer labels in the dataset")
        self._restore(state)
        if self._seed is None:
            gens = mixkit.generators(self.mixer)
            self._seed = gens[0].initial_seed() if gens else 0
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            box = [self._seed]  # one seed for all ranks, whatever each rank's mixer was seeded with
            torch.distributed.broadcast_object_list(box, src=0)
            self._seed = int(box[0])
        if self._hooks is not None:
            self._hooks.remove()
        hooks = ModelHooks(
            owner,
            self.mixer,
            key=key,
            label_key=self.label_key,
            attention_mask_key=self.attention_mask_key,
            form=self.form,
            reduction=self.reduction,
            features=self.features,
            task=self.task,
            text=text,
        )
        hooks.seed = self._seed
        hooks.rank = 0 if self.share_across_ranks else int(getattr(args, "process_index", 0))
        hooks.on_switch = self._log_switch
        self._hooks = hooks
        self._clock(state)
        hooks.install(model)
        self._training = True
        _log.info(
            "%s: mixing %s of %s with %s (draws %s across ranks)",
            owner,
            repr(key) if text is None else f"text at layers {text.layers} (0: word embeddings)",
            type(model).__name__,
            mixer_repr(self.mixer),
            "shared" if self.share_across_ranks else "distinct",
        )

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._clock(state)

    def on_substep_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._hooks is not None:  # a micro-batch's backward is done
            self._hooks.disarm()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._hooks is not None:
            self._hooks.disarm()

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._training or self.metric is None or not has_schedule(self.mixer):
            return
        value = (metrics or {}).get(self.metric)
        if value is None:
            if "metric" not in self._warned:
                self._warned.add("metric")
                warnings.warn(
                    f"{type(self).__name__}: expected the evaluation metrics to hold "
                    f"{self.metric!r} for the mixer's schedule (metric=), got keys "
                    f"{sorted(metrics or {})}",
                    UserWarning,
                    stacklevel=2,
                )
            return
        self.mixer.set_step(int(state.global_step))
        self.mixer.report(float(value))

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        hooks = self._hooks
        if logs is None or hooks is None or hooks.stats.batches == 0 or "loss" not in logs:
            return
        stats = hooks.stats.logs()
        hooks.stats = MixStats()
        logs.update(stats)
        history = getattr(state, "log_history", None)
        if history and history[-1].get("step") == state.global_step and "loss" in history[-1]:
            history[-1].update(stats)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.remove_hooks()

    def remove_hooks(self) -> None:
        """Take the hooks off the model (``on_train_end`` does; for a run that crashed)."""
        if self._hooks is not None:
            self._hooks.remove()
        self._training = False

    def _text(self, owner: str, model: nn.Module, key: str) -> TextMixing | None:
        """Mixing inside a text model (key None, forward takes input_ids), checked."""
        if key != TEXT_KEY or self.key is not None:
            if self.layers is not None:
                fail(
                    owner,
                    "layers= only for text models, mixed inside (key=None and a forward that "
                    "takes input_ids)",
                    f"layers={list(self.layers)} with key={key!r}",
                )
            return None
        mixers = mixkit.iter_mixers(self.mixer)
        for m in mixers:
            if not isinstance(m.op, mixkit.LerpOp):
                fail(
                    owner,
                    "an interpolating mixer for text (MixUp, the seed methods, MixUpE: op "
                    "LerpOp; boxes and other operations have no meaning on token sequences)",
                    f"{type(m).__name__} with op {m.op!r}",
                )
        layers = self.layers if self.layers is not None else (0,)
        with_terms = [m for m in mixers if m.term is not None]
        if with_terms and any(k >= 1 for k in layers):
            fail(
                owner,
                "layers=0 for a mixer with a loss term (its clean pass replaces the word "
                "embeddings; from a layer's hidden states the model has no entry point)",
                f"layers={list(layers)} with {with_terms[0].term!r}",
            )
        return TextMixing(owner, model, layers)

    # -- checkpoint state (ExportableState) ------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What ``trainer_state.json`` keeps: the mixer's ``state_dict`` and the seed."""
        return {
            "args": {},
            "attributes": {
                "mixkit_state": encode_state(self.mixer.state_dict()),
                "mixkit_seed": self._seed,
            },
        }

    def _restore(self, state: Any) -> None:
        saved = (getattr(state, "stateful_callbacks", None) or {}).get(type(self).__name__)
        if saved is None:
            return
        if isinstance(saved, list):
            fail(
                type(self).__name__,
                "one MixUpCallback per Trainer (two would mix every batch twice)",
                f"{len(saved)} of them",
            )
        attributes = saved.get("attributes", {})
        if "mixkit_state" in attributes:
            try:
                self.mixer.load_state_dict(decode_state(attributes["mixkit_state"]))
            except (RuntimeError, KeyError, ValueError) as error:
                fail(
                    type(self).__name__,
                    f"a checkpoint saved with a mixer like this one ({mixer_repr(self.mixer)})",
                    f"a mixer state that does not load ({type(error).__name__}: {error})",
                )
        if attributes.get("mixkit_seed") is not None:
            self._seed = int(attributes["mixkit_seed"])

    def _clock(self, state: Any) -> None:
        if self._hooks is not None:
            self._hooks.step = int(state.global_step)
            self._hooks.epoch = math.floor(float(state.epoch or 0.0) + 1e-9)
            self._hooks.micro = 0

    def _log_switch(self, on: bool) -> None:
        hooks = self._hooks
        epoch, step = (hooks.epoch, hooks.step) if hooks is not None else (0, 0)
        _log.info(
            "%s: mixing switched %s at epoch %d, step %d",
            type(self).__name__,
            "on" if on else "off",
            epoch,
            step,
        )

    def __repr__(self) -> str:
        args = [mixer_repr(self.mixer)]
        defaults: dict[str, object] = {
            "key": None,
            "label_key": "labels",
            "attention_mask_key": "attention_mask",
            "form": "auto",
            "reduction": "mean",
            "features": None,
            "share_across_ranks": False,
            "metric": "eval_loss",
            "layers": None,
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if value != default:
                args.append(f"{name}={value!r}")
        return f"MixUpCallback({', '.join(args)})"
