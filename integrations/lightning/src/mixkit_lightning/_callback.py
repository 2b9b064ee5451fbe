"""MixUpCallback: any mixkit mixer in a Lightning ``Trainer`` by adding one callback.

Two forms (the package README says why):

* ``mix_batch=True`` (default, the implicit form): in ``on_train_batch_start`` the callback
  mixes the device batch Lightning is about to hand ``training_step`` and puts the mixed input
  and the mixed soft targets in place of the batch's own. A ``training_step`` computing
  ``F.cross_entropy(self(x), y)`` then computes the mixed loss, unchanged. Checked on the first
  batch (:mod:`mixkit_lightning._contract`).
* ``mix_batch=False`` (the explicit form): ``training_step`` calls the mixer itself
  (``mixed = self.mixer(x, y)``; ``loss = mixed.loss(logits, model=self)``), for every module
  the implicit form cannot serve (MixupE's term, other batch layouts, losses of its own). The
  callback drives the mixer: seeds, the schedule's clock, checkpoint state, eval mode outside
  training, logs.

Either way each micro-batch's draws are a pure function of ``(seed, rank, epoch, global step,
batch index)`` (:func:`mixkit.reseed`): resumable, and the same on every rank when
``share_across_ranks``.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from typing import Any, Literal, cast

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.types import STEP_OUTPUT
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

import mixkit
from mixkit import Mixed
from mixkit.validation import check_bool, check_choice, describe, fail
from mixkit_lightning._batch import Key, check_key, read, resolve_keys, write
from mixkit_lightning._contract import EXPLICIT, Probe, check_loss, probe
from mixkit_lightning._mixers import (
    check_mixer,
    has_smoothing,
    is_weighted,
    loss_terms,
    mixer_repr,
    reads_reports,
    task_of,
)
from mixkit_lightning._stats import MixStats

__all__ = ["MixUpCallback"]

_log = logging.getLogger("mixkit_lightning")

Reduction = Literal["mean", "weighted_mean"]
REDUCTIONS = ("mean", "weighted_mean")


class MixUpCallback(pl.Callback):
    """Mix the training batches of a Lightning ``Trainer`` with any mixkit mixer.

    ::

        trainer = pl.Trainer(callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.2, num_classes=10))])
        trainer.fit(module, train_loader, val_loader)

    With ``mix_batch=True`` (default) the callback mixes the input and the target of each
    training batch in place, so an unchanged ``training_step`` whose loss is linear in the
    target (``F.cross_entropy(self(x), y)``) computes the mixed loss; it checks that contract on
    the first batch and refuses what it cannot serve, with the fix. With ``mix_batch=False`` the
    module calls its mixer itself and the callback drives it (seeds, clock, state, eval mode
    outside training, logs). See the Lightning section of the images guide of the
    documentation (docs/guides/images.md).

    Args:
        mixer: a :class:`mixkit.Mixer` (``MixUp``, ``CutMix``, the seed methods), a
            :class:`mixkit.RandomChoice` or a :class:`mixkit.MixerWrapper`.
        input_key, target_key: where the input and the target are in a batch (an int position
            of a list, a key of a dict); default: positions 0 and 1, or the usual dict keys.
            ``mix_batch=True`` only.
        mix_batch: True: mix the batch (above); False: ``training_step`` calls the mixer.
        reduction: how a weighting's per-sample weights reach the loss through the targets
            (:func:`mixkit.functional.reduce_loss`): ``"mean"`` (the core's default) or
            ``"weighted_mean"``. Assumes the criterion's own ``mean`` reduction.
        share_across_ranks: draw the same lam and partners on every DDP process (default: each
            rank draws its own, as each has its own samples).
        metric: the name, in ``trainer.callback_metrics``, of the validation metric reported to
            the mixer after each validation (drives :class:`mixkit.AutoSwitch`); required when
            a schedule reads reports.
        check: check the ``training_step`` contract on the first mixed batch.
        log_stats: log ``mixkit/lam_mean``, ``mixkit/lam_min``, ``mixkit/mixed_fraction``,
            ``mixkit/active`` and ``mixkit/weight_mean`` once per logging step.

    Raises:
        TypeError / ValueError: bad arguments; a Trainer, module, batch or loss the form
            cannot serve, each with what to change.
    """

    def __init__(
        self,
        mixer: nn.Module,
        *,
        input_key: Key | None = None,
        target_key: Key | None = None,
        mix_batch: bool = True,
        reduction: Reduction = "mean",
        share_across_ranks: bool = False,
        metric: str | None = None,
        check: bool = True,
        log_stats: bool = True,
    ) -> None:
        owner = type(self).__name__
        self.mixer = check_mixer(owner, mixer)
        self.input_key = check_key(owner, "input_key", input_key)
        self.target_key = check_key(owner, "target_key", target_key)
        self.mix_batch = check_bool(owner, "mix_batch", mix_batch)
        self.reduction = cast(Reduction, check_choice(owner, "reduction", reduction, REDUCTIONS))
        self.share_across_ranks = check_bool(owner, "share_across_ranks", share_across_ranks)
        if metric is not None and not (isinstance(metric, str) and metric):
            fail(owner, "metric to be a non-empty str or None", describe(metric), type_error=True)
        self.metric = metric
        self.check = check_bool(owner, "check", check)
        self.log_stats = check_bool(owner, "log_stats", log_stats)
        self.task = task_of(owner, self.mixer)
        if not mix_batch and (input_key is not None or target_key is not None):
            fail(
                owner,
                "input_key and target_key only with mix_batch=True (with mix_batch=False "
                "training_step reads the batch and calls the mixer itself)",
                f"input_key={input_key!r}, target_key={target_key!r}",
            )
        if mix_batch:
            self._refuse_for_implicit(owner)
        if reads_reports(self.mixer) and metric is None:
            fail(
                owner,
                "metric= naming the validation metric the mixer's schedule reads (e.g. "
                "metric='val_loss', what the module logs in validation_step)",
                "metric=None",
            )
        self._weighted = is_weighted(self.mixer)
        self._seed: int | None = None
        self._rank = 0
        self._handle: RemovableHandle | None = None
        self._stats = MixStats()
        self._calls = 0  # mixer calls in the current training batch
        self._step = 0  # the global step when the batch began
        self._in_batch = False
        self._replaced = False
        self._own_call = False
        self._checked = not check
        self._probe: Probe | None = None
        self._warned: set[str] = set()

    def _refuse_for_implicit(self, owner: str) -> None:
        terms = loss_terms(self.mixer)
        if terms:
            fail(
                owner,
                "a mixer without a loss term with mix_batch=True (the term, e.g. MixupE's, "
                "needs the model's clean pass, which a batch cannot carry: mix explicitly, "
                "mixed.loss(logits, model=self), with mix_batch=False)",
                f"{mixer_repr(self.mixer)} with {', '.join(repr(t) for t in terms)}",
            )
        if is_weighted(self.mixer) and self.task != "multiclass":
            fail(
                owner,
                "per-sample weights with mix_batch=True only for task='multiclass' (they reach "
                "a cross-entropy by scaling the soft targets; a BCE or squared error is not "
                "linear in the target): mix explicitly with mix_batch=False",
                f"a weighting with task={self.task!r}",
            )

    # -- set-up ----------------------------------------------------------------------------

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # Two MixUpCallbacks (two mixings) never get here: Lightning refuses two stateful
        # callbacks of one type when the Trainer is built.
        owner = type(self).__name__
        if stage != "fit" or not self.mix_batch:
            return
        params = inspect.signature(pl_module.training_step).parameters
        if "dataloader_iter" in params:
            fail(
                owner,
                "a training_step(batch, batch_idx) with mix_batch=True (one that takes "
                f"dataloader_iter fetches its own batches, which no hook sees), {EXPLICIT}",
                f"training_step{inspect.signature(pl_module.training_step)}",
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # after Lightning restored the callback's state (load_state_dict) on a resume
        if self._seed is None:
            gens = mixkit.generators(self.mixer)
            self._seed = gens[0].initial_seed() if gens else 0
        # one seed for all ranks, whatever each rank's mixer was seeded with
        self._seed = int(trainer.strategy.broadcast(self._seed, src=0))
        self._rank = 0 if self.share_across_ranks else int(trainer.global_rank)
        if self._handle is not None:
            self._handle.remove()
        self._handle = self.mixer.register_forward_hook(self._after_mixer)
        _log.info(
            "%s: %s with %s (draws %s across ranks)",
            type(self).__name__,
            "mixing the training batches" if self.mix_batch else "driving the module's mixer",
            mixer_repr(self.mixer),
            "shared" if self.share_across_ranks else "distinct",
        )

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._remove()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        replaced = self._replaced  # the exception came after the batch was mixed
        self._remove()
        ours = str(exception).startswith(f"{type(self).__name__}:")
        add_note = getattr(exception, "add_note", None)  # Python >= 3.11
        if replaced and not ours and callable(add_note):
            add_note(
                f"{type(self).__name__}: during training the batch's target holds the mixed "
                f"soft targets (float (B, C) for classification) and its input the mixed "
                "input; training_step must pass them to a loss that takes soft targets, such "
                "as F.cross_entropy(logits, y) (metrics on y need y.argmax(1)). Otherwise mix "
                "explicitly with MixUpCallback(mixer, mix_batch=False)."
            )

    def _remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._in_batch = False
        self._replaced = False
        self._probe = None
        self._calls = 0
        self._stats = MixStats()

    # -- training batches ------------------------------------------------------------------

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        mixer = self.mixer
        mixer.train()  # the explicit form's mixer went to eval mode with the module's validation
        epoch, step = int(trainer.current_epoch), int(trainer.global_step)
        mixkit.reseed(mixer, cast(int, self._seed), self._rank, epoch, step, batch_idx)
        mixer.set_epoch(epoch)
        mixer.set_step(step)
        self._calls, self._step = 0, step
        self._in_batch = True
        if self.mix_batch:
            self._mix(pl_module, batch)

    def _mix(self, pl_module: pl.LightningModule, batch: Any) -> None:
        owner = type(self).__name__
        input_key, target_key = resolve_keys(owner, batch, self.input_key, self.target_key)
        x, y = read(batch, input_key), read(batch, target_key)
        if not (isinstance(x, Tensor) and x.is_floating_point()):
            fail(
                owner,
                f"a float input tensor at batch[{input_key!r}] (token ids and other integer "
                "inputs cannot be interpolated: mix inside the model with mixkit.ModuleMix, "
                f"{EXPLICIT})",
                describe(x),
            )
        if not isinstance(y, Tensor):
            fail(owner, f"a target tensor at batch[{target_key!r}]", describe(y), type_error=True)
        self._own_call = True
        try:
            mixed: Mixed = self.mixer(x, y)
        finally:
            self._own_call = False
        self._record(mixed)
        inputs, targets = mixed.inputs, self._targets(mixed, x, y)
        if not self._checked and pl_module.automatic_optimization:
            inputs, targets, self._probe = probe(inputs, targets, input_key, target_key)
        write(batch, input_key, inputs)
        write(batch, target_key, targets)
        self._replaced = True

    def _targets(self, mixed: Mixed, x: Tensor, y: Tensor) -> Tensor:
        """The mixed targets the batch carries: in the dtype the loss will see, rows scaled by
        the per-sample weights (``sum_i w_i CE_i / B``: the core's ``"mean"``)."""
        targets = mixed.targets
        if self._weighted:
            scale = mixed.weights.to(targets.dtype)
            if self.reduction == "weighted_mean":
                total = scale.sum().clamp_min(torch.finfo(torch.float32).eps)
                scale = scale * (scale.shape[0] / total)
            targets = targets * scale.unsqueeze(1)
        dtype = y.dtype if y.is_floating_point() else x.dtype
        return targets.to(dtype)

    def _after_mixer(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        """Forward hook on the mixer: the explicit form's calls (stats), or a second mixing."""
        if self._own_call or not self._in_batch or not isinstance(output, Mixed):
            return
        if self.mix_batch:
            fail(
                type(self).__name__,
                "mix_batch=False when training_step calls the mixer itself (with "
                "mix_batch=True the callback has mixed the batch already: it would be mixed "
                "twice)",
                "a call of the mixer inside training_step",
            )
        self._record(output)

    def _record(self, mixed: Mixed) -> None:
        self._calls += 1
        if self.log_stats:
            self._stats.add(mixed, weighted=self._weighted)

    def on_before_backward(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: Tensor
    ) -> None:
        p, self._probe = self._probe, None
        if p is None or not loss.requires_grad:
            return
        self._checked = True
        if self.task == "multiclass" and (has_smoothing(self.mixer) or self._weighted):
            strict: str | None = (
                "the mixer smooths its targets already; give label smoothing to the mixer only"
                if has_smoothing(self.mixer)
                else "the mixer's per-sample weights reach the loss by scaling the targets, "
                "and miss any part of the loss that does not scale with them"
            )
        else:
            strict = None
        try:
            check_loss(
                type(self).__name__, p, loss, multiclass=self.task == "multiclass", strict=strict
            )
        except RuntimeError as error:  # autograd.grad refused (e.g. reentrant checkpointing)
            warnings.warn(
                f"{type(self).__name__}: could not check training_step's loss ({error}); "
                "make sure it is F.cross_entropy(logits, y) of the batch it is given",
                UserWarning,
                stacklevel=2,
            )

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: STEP_OUTPUT,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._in_batch = self._replaced = False
        self._probe = None
        if self._calls == 0 and not self.mix_batch and "no-call" not in self._warned:
            self._warned.add("no-call")
            warnings.warn(
                f"{type(self).__name__}: training_step did not call the mixer in batch "
                f"{batch_idx} (mix_batch=False: the module mixes; call self.mixer(x, y) in "
                "training_step, or use mix_batch=True)",
                UserWarning,
                stacklevel=2,
            )
        # log when Lightning writes its loggers: a step that stepped the optimizer, every
        # log_every_n_steps (the statistics of all batches since the last time)
        every = int(getattr(trainer, "log_every_n_steps", 50))  # set by Lightning, undeclared
        step = int(trainer.global_step)
        due = every > 0 and step != self._step and step % every == 0
        if self.log_stats and due and self._stats.calls:
            stats, self._stats = self._stats, MixStats()
            pl_module.log_dict(stats.logs(), on_step=True, on_epoch=False, batch_size=stats.rows)

    # -- outside training ------------------------------------------------------------------

    def _evaluating(self) -> None:
        if not self.mix_batch:  # the module calls the mixer in its own steps too
            self.mixer.eval()

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluating()

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluating()

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluating()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.metric is None or trainer.sanity_checking or trainer.state.fn != "fit":
            return
        value = trainer.callback_metrics.get(self.metric)
        if value is None:
            if "metric" not in self._warned:
                self._warned.add("metric")
                warnings.warn(
                    f"{type(self).__name__}: expected trainer.callback_metrics to hold "
                    f"{self.metric!r} after validation for the mixer's schedule (metric=), got "
                    f"keys {sorted(trainer.callback_metrics)}",
                    UserWarning,
                    stacklevel=2,
                )
            return
        self.mixer.set_step(int(trainer.global_step))
        self.mixer.report(float(value))

    # -- checkpoint state ------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """What a Lightning checkpoint keeps: the mixer's ``state_dict`` and the draws' seed."""
        return {"mixer": self.mixer.state_dict(), "seed": self._seed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        try:
            self.mixer.load_state_dict(state_dict["mixer"])
        except (RuntimeError, KeyError, ValueError) as error:
            fail(
                type(self).__name__,
                f"a checkpoint saved with a mixer like this one ({mixer_repr(self.mixer)})",
                f"a mixer state that does not load ({type(error).__name__}: {error})",
            )
        if state_dict.get("seed") is not None:
            self._seed = int(state_dict["seed"])

    def __repr__(self) -> str:
        args = [mixer_repr(self.mixer)]
        defaults: dict[str, object] = {
            "input_key": None,
            "target_key": None,
            "mix_batch": True,
            "reduction": "mean",
            "share_across_ranks": False,
            "metric": None,
            "check": True,
            "log_stats": True,
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if value != default:
                args.append(f"{name}={value!r}")
        return f"MixUpCallback({', '.join(args)})"
