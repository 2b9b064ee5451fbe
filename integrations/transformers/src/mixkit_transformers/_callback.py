"""MixUpCallback: any mixkit method in Hugging Face ``Trainer`` by adding one callback.

Design. A ``TrainerCallback`` cannot change a batch through its return value (only ``control``
flows back), but ``on_train_begin`` hands it the model. The callback registers two hooks on that
model and removes them in ``on_train_end``:

* a forward pre-hook that, while ``model.training``, takes the labels out of the call, mixes the
  named input (and its aligned ``attention_mask``) with the mixer, and passes the mixed batch on;
* a forward hook that computes the mixed loss from the logits and puts it where Trainer reads
  the loss (``outputs["loss"]``).

Mixing happens in the main process, at the model's boundary, on the batch Trainer already moved
to the device. Why this stays correct where a mixing collator or a subclass would not:

* **Evaluation / prediction**: Trainer calls ``model.eval()`` first; the hooks act only while
  ``model.training``, so evaluation inputs reach the model untouched, with their own labels.
* **Gradient accumulation**: each micro-batch is mixed on its own. When Trainer passes
  ``num_items_in_batch`` to the model (models whose forward takes ``**kwargs``), the loss is the
  sum of the weighted per-sample losses over the samples of the whole accumulated batch (over
  every process with ``average_tokens_across_devices``), the normalisation Trainer then expects;
  otherwise it is the micro-batch mean and Trainer divides by the number of micro-batches.
* **Mixed precision**: Accelerate wraps ``model.forward`` in autocast (and casts the outputs to
  float32); hooks run around ``forward``, so inputs are mixed in their own dtype and the loss is
  computed outside autocast, in float32.
* **Accelerate / DDP wrapping**: the hooks sit on the unwrapped model that
  ``DistributedDataParallel`` calls, so every rank mixes its own shard and DDP reduces the
  gradients as usual. Draws are a
  pure function of ``(seed, rank, global_step, micro-batch)``: distinct per rank by default,
  the same on all ranks with ``share_across_ranks=True`` (the seed is broadcast from rank 0).
* **Gradient checkpointing** re-runs layers inside the model, never the model's own hooks: the
  batch is mixed once per micro-batch.
* **DataLoader workers** (``dataloader_num_workers > 0``) never hold the mixer: no copies whose
  generator, schedule or fitted state drift from the main process, and the mixed batches are
  the same whatever the number of workers.
* **Resume**: the mixer's ``state_dict`` (schedule progress, automatic switch, fitted
  relabelling) and the seed go into ``trainer_state.json`` (``ExportableState``) and come back in
  ``on_train_begin``; with Trainer restoring the data order, the mixed batches after a resume
  equal those of an uninterrupted run.

The model never sees the labels during training, so float mixed targets cannot switch a Hugging
Face classifier to multi-label BCE (``problem_type``), and its own loss is not computed in vain.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from mixkit._mixed import FORMS
from mixkit._validation import check_bool, check_choice, describe, fail
from mixkit_transformers._guards import (
    check_problem_type,
    check_train_dataset,
    check_training_args,
    resolve_key,
)
from mixkit_transformers._hooks import FeaturesFn, MixStats, ModelHooks
from mixkit_transformers._loss import REDUCTIONS
from mixkit_transformers._mixers import (
    check_mixer,
    decode_state,
    drivers,
    encode_state,
    generators,
    has_schedule,
    is_mixupe,
    mixer_repr,
    task_of,
)

__all__ = ["MixUpCallback"]

_log = logging.getLogger("mixkit_transformers")


class MixUpCallback(TrainerCallback, ExportableState):
    """Mix the training batches of a ``Trainer`` with any mixkit mixer: add this callback.

    ::

        trainer = Trainer(model=model, args=args, train_dataset=ds, eval_dataset=val,
                          callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.2, num_classes=10))])

    During training the named float input (``pixel_values``, ``input_values``,
    ``input_features`` or any ``key``) of each batch is mixed, the model's ``attention_mask``
    follows it (the union of the two sources' masks, for padded audio), the labels are turned
    into mixed targets and the loss is the mixer's (:func:`mixkit.mixed_loss`: pair-form or
    soft cross-entropy, per-sample weights, label smoothing once). Evaluation and prediction
    are never mixed. The module notes say why this holds under gradient accumulation, mixed
    precision, DDP, gradient checkpointing, DataLoader workers and resume.

    The mixer's schedule reads ``floor(state.epoch)`` and ``state.global_step``; each
    evaluation reports ``metrics[metric]`` (default ``eval_loss``, the clean validation loss) to
    it, which drives :class:`mixkit.AutoSwitch`. MixupE (``mixkit.MixUpE``) gets its clean pass
    through the model; relabellings fitted before training (GenLabel) and pairings / weightings
    that measure ``features`` work as they are. At each logging step the logs gain
    ``mixkit/lam_mean``, ``mixkit/lam_min``, ``mixkit/mixed_fraction``, ``mixkit/active`` and
    ``mixkit/weight_mean`` (also in ``trainer.state.log_history``); switching mixing on or off
    is logged by the ``mixkit_transformers`` logger.

    Args:
        mixer: a mixkit mixer (``MixUp``, ``CutMix``, ``RandomChoice``, a seed method, or
            ``MixUpE`` wrapping one). Its ``task`` must match the labels (integer class labels
            with ``num_classes`` for multi-class).
        key: the batch entry to mix; default: the first of ``pixel_values``, ``input_values``,
            ``input_features`` that the model's forward takes.
        label_key: the batch entry holding the labels (default ``"labels"``).
        attention_mask_key: the mask updated with the mixed input when it is aligned with it
            (``mask.shape == x.shape[:mask.ndim]``); ``None`` leaves masks alone.
        form: the loss form, ``"auto"`` (pair form where it applies), ``"soft"`` or ``"pair"``.
        reduction: ``"mean"`` (the sum of weighted losses over the number of samples, the
            paper's expectation for Local Mixup) or ``"weighted_mean"`` (over the weight sum).
        features: optional ``features(model, batch) -> (B, ...)`` tensor on which pairings,
            weightings and relabellings measure distances (called without gradient, hooks off).
            Default: the flattened input.
        share_across_ranks: draw the same lam and partners on every process (default: each
            rank draws its own).
        metric: the evaluation metric reported to the mixer's schedule (``None``: none).

    Raises:
        TypeError / ValueError: bad arguments here; at ``Trainer`` set-up and training begin,
            ``label_smoothing_factor`` set, ``restore_callback_states_from_checkpoint`` set, a
            model whose forward does not take the key, a classifier already switched to
            multi-label; during training, a batch without the key or the labels (Trainer pops
            the labels before the model when a ``compute_loss_func`` or label smoothing is set).

    .. note::
        ``lam`` is the weight of the original sample. Smooth labels with the mixer's
        ``label_smoothing``, never ``label_smoothing_factor``. Keep integer labels in the
        dataset: float ``(B, C)`` labels reaching a classifier at evaluation switch Hugging Face
        heads to multi-label BCE. One MixUpCallback per Trainer.
    """

    def __init__(
        self,
        mixer: nn.Module,
        *,
        key: str | None = None,
        label_key: str = "labels",
        attention_mask_key: str | None = "attention_mask",
        form: str = "auto",
        reduction: str = "mean",
        features: FeaturesFn | None = None,
        share_across_ranks: bool = False,
        metric: str | None = "eval_loss",
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
        self.form = check_choice(owner, "form", form, FORMS)
        self.reduction = check_choice(owner, "reduction", reduction, REDUCTIONS)
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
        key = resolve_key(owner, model, self.key)
        check_train_dataset(owner, args, kwargs.get("train_dataloader"), key)
        check_problem_type(owner, model, self.task, hint="keep integer labels in the dataset")
        self._restore(state)
        if self._seed is None:
            gens = generators(self.mixer)
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
            mixupe=is_mixupe(self.mixer),
        )
        hooks.seed = self._seed
        hooks.rank = 0 if self.share_across_ranks else int(getattr(args, "process_index", 0))
        hooks.on_switch = self._log_switch
        self._hooks = hooks
        self._clock(state)
        hooks.install(model)
        self._training = True
        _log.info(
            "%s: mixing %r of %s with %s (draws %s across ranks)",
            owner,
            key,
            type(model).__name__,
            mixer_repr(self.mixer),
            "shared" if self.share_across_ranks else "distinct",
        )

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._clock(state)

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
        for target in drivers(self.mixer):
            target.set_step(int(state.global_step))
            target.report(float(value))

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
            except (RuntimeError, KeyError) as error:
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
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if value != default:
                args.append(f"{name}={value!r}")
        return f"MixUpCallback({', '.join(args)})"
