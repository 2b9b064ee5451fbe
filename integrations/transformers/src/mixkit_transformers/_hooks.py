"""Mixing at a model's boundary: a forward pre-hook mixes the batch, a forward hook sets the loss.

:class:`ModelHooks` is the mechanism under :class:`mixkit_transformers.MixUpCallback` (which
adds Trainer's events, checkpoint state and logging). While the model is in training mode, each
call ``model(**batch)``:

1. (pre-hook) takes the labels out of the call, seeds the mixer's generators for this
   micro-batch from ``(seed, rank, step, micro)`` (:func:`mixkit.reseed`), mixes ``batch[key]``
   (and the aligned attention mask) and passes the mixed batch on; for token ids it draws the
   parameters and arms the mixing inside the model instead
   (:mod:`mixkit_transformers._text`: word embeddings or a layer's hidden states);
2. (forward hook) sets the loss: ``mixed.loss(logits, model=<a clean pass through the model>)``,
   the one loss entry of mixkit, which adds the mixer's term when it has one (MixupE's).

The model never sees the labels, so it neither computes a loss of its own nor infers a
``problem_type`` from them. Calls the hooks make themselves (a term's clean pass, the
``features`` function) pass through untouched. Under ``torch.compile`` both hooks run eagerly
(one graph break each), so a compiled model is mixed exactly as an eager one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

import mixkit
from mixkit import Mixed
from mixkit.validation import describe, fail
from mixkit_transformers._guards import refuse_integer_inputs
from mixkit_transformers._loss import Form, Reduction, num_samples
from mixkit_transformers._mixers import MixerModule, accepts_lengths, is_weighted, measures
from mixkit_transformers._outputs import fit_logits, logits_of, mix_attention_mask, with_loss
from mixkit_transformers._text import TextMixing

__all__ = ["FeaturesFn", "MixStats", "ModelHooks"]

FeaturesFn = Callable[[nn.Module, Mapping[str, Any]], Tensor]
NUM_ITEMS = "num_items_in_batch"


@dataclass
class _Pending:
    """What the pre-hook hands the forward hook for one micro-batch: the mixed batch, or (text
    mixed inside the model) the step whose first mixed tensor becomes it."""

    mixed: Mixed | None
    step: mixkit.MixStep | None
    clean: dict[str, Any]
    mixed_kwargs: dict[str, Any]
    num_samples: Tensor | float | None


@dataclass
class MixStats:
    """Mixing statistics between two logging events (CPU numbers; weights summed on device)."""

    batches: int = 0
    mixed_batches: int = 0
    rows: int = 0
    mixed_rows: int = 0
    lam_sum: float = 0.0
    lam_min: float = 1.0
    weight_sums: list[Tensor] = field(default_factory=list)

    def add(self, mixed: Mixed, *, weighted: bool) -> None:
        lam = mixed.params.lam.numpy()  # (B,) on the CPU: no device synchronisation
        self.batches += 1
        self.mixed_batches += int(mixed.applied)
        self.rows += int(lam.shape[0])
        self.mixed_rows += int((lam < 1).sum())
        self.lam_sum += float(lam.sum())
        self.lam_min = min(self.lam_min, float(lam.min()))
        if weighted:  # summed on the device, read at logging time
            self.weight_sums.append(mixed.weights.detach().sum())
        else:
            self.weight_sums.append(torch.tensor(float(lam.shape[0])))

    def logs(self) -> dict[str, float]:
        """The ``mixkit/*`` entries added to Trainer's logs."""
        weights = float(sum(float(w) for w in self.weight_sums))
        return {
            "mixkit/lam_mean": self.lam_sum / self.rows,
            "mixkit/lam_min": self.lam_min,
            "mixkit/mixed_fraction": self.mixed_rows / self.rows,
            "mixkit/active": self.mixed_batches / self.batches,
            "mixkit/weight_mean": weights / self.rows,
        }


class ModelHooks:
    """The two hooks that mix a model's training calls (see the module notes).

    Attributes set by the owner before each micro-batch: ``seed``, ``rank``, ``epoch``,
    ``step`` (``micro`` counts the micro-batches of the step and is reset with it). With
    ``text`` (a :class:`~mixkit_transformers._text.TextMixing`), ``batch[key]`` holds token ids
    and the mixing happens inside the model, at the site drawn for the call.
    """

    def __init__(
        self,
        owner: str,
        mixer: MixerModule,
        *,
        key: str,
        label_key: str,
        attention_mask_key: str | None,
        form: Form,
        reduction: Reduction,
        features: FeaturesFn | None,
        task: str,
        text: TextMixing | None = None,
    ) -> None:
        self.owner, self.mixer, self.key, self.label_key = owner, mixer, key, label_key
        self.attention_mask_key, self.form, self.reduction = attention_mask_key, form, reduction
        self.features, self.task, self.text = features, task, text
        # the mixer's structure is fixed during training: look it up once
        self._weighted = is_weighted(mixer)
        self._lengths = accepts_lengths(mixer)
        self._measures = measures(mixer)
        self.seed, self.rank, self.epoch, self.step, self.micro = 0, 0, 0, 0, 0
        self.stats = MixStats()
        self.active: bool | None = None
        self.on_switch: Callable[[bool], None] | None = None
        self._handles: list[RemovableHandle] = []
        self._pending: _Pending | None = None
        self._busy = False
        self._warned: set[str] = set()

    def install(self, model: nn.Module) -> None:
        """Put the hooks on ``model``. Under ``torch.compile`` they run eagerly (one graph
        break each): mixing is draws and Python decisions, and the hooks keep state."""
        self.remove()
        eager: Any = torch.compiler.disable  # untyped in torch
        self._handles = [
            model.register_forward_pre_hook(eager(self._before_forward), with_kwargs=True),
            model.register_forward_hook(eager(self._after_forward), with_kwargs=True),
        ]
        if self.text is not None:
            self.text.install()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._pending = None
        if self.text is not None:
            self.text.remove()

    def disarm(self) -> None:
        """The micro-batch's backward is done: mixing inside the model stops until the next
        training call (until then, hooks re-run by gradient checkpointing mix alike)."""
        if self.text is not None:
            self.text.disarm()

    @property
    def installed(self) -> bool:
        return bool(self._handles)

    @contextmanager
    def _own_calls(self) -> Iterator[None]:
        """The hooks' own calls of the model (features, a term's clean pass) pass through."""
        self._busy = True
        if self.text is not None:
            self.text.busy = True
        try:
            yield
        finally:
            self._busy = False
            if self.text is not None:
                self.text.busy = False
                self.text.substitute = None

    # -- pre-hook: mix ---------------------------------------------------------------------

    def _before_forward(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if self._busy or not module.training:
            return None
        clean, labels = self._take_batch(kwargs)
        mixkit.reseed(self.mixer, self.seed, self.rank, self.step, self.micro)
        micro = self.micro
        self.micro += 1
        self.mixer.set_epoch(self.epoch)
        self.mixer.set_step(self.step)
        samples = num_samples(clean.get(NUM_ITEMS), labels)
        if self.text is not None:
            return args, self._before_text(module, clean, labels, samples, micro)
        x = clean[self.key]
        mask_key = self.attention_mask_key
        mask = clean.get(mask_key) if mask_key is not None and mask_key != self.key else None
        extra: dict[str, Any] = {}
        if self._lengths and isinstance(mask, Tensor) and mask.shape == (x.shape[0], x.shape[-1]):
            # audio mixers measure levels and apply their length policy on the valid samples
            extra["lengths"] = mask.sum(dim=1).long()
        mixed: Mixed = self.mixer(x, labels, features=self._features(module, clean), **extra)
        mixed_kwargs = dict(clean)
        mixed_kwargs[self.key] = mixed.inputs
        if isinstance(mask, Tensor) and mask_key is not None:
            own = getattr(mixed, "mask", None) if extra else None  # an audio result's own mask
            mixed_kwargs[mask_key] = (
                own.to(mask.dtype)
                if isinstance(own, Tensor)
                else mix_attention_mask(mask, x, mixed)
            )
        self._pending = _Pending(mixed, None, clean, mixed_kwargs, samples)
        return args, mixed_kwargs

    def _before_text(
        self,
        module: nn.Module,
        clean: dict[str, Any],
        labels: Tensor,
        samples: Tensor | float | None,
        micro: int,
    ) -> dict[str, Any]:
        """Token ids: draw for the batch, arm the mixing inside the model (``TextMixing``)."""
        text = self.text
        assert text is not None
        ids = clean[self.key]
        if not isinstance(ids, Tensor) or ids.is_floating_point() or ids.ndim != 2:
            expected = f"token ids under {self.key!r}: an integer tensor (B, L)"
            fail(self.owner, expected, describe(ids))
        self.disarm()
        mask_key = self.attention_mask_key
        valid = text.valid(ids, clean.get(mask_key) if mask_key is not None else None)
        features = self._features(module, clean)
        if features is None and self._measures:
            with self._own_calls():
                features = text.sentence_features(ids, valid)
        # what the draw is given: the features, else a stand-in of the batch's size (random
        # pairing, no weighting or relabelling: nothing measures the batch)
        batch = (
            features
            if features is not None
            else ids.new_zeros((ids.shape[0], 1), dtype=torch.float32)
        )
        if not any(m.active for m in mixkit.iter_mixers(self.mixer)):
            # off (schedule, switch, disabled): the core's identity result, nothing armed
            mixed: Mixed = self.mixer(batch, labels, features=features)
            self._pending = _Pending(mixed, None, clean, clean, samples)
            return clean
        params = self.mixer.draw(batch, features=features)
        site = text.draw_site(self.seed, self.rank, self.step, micro)
        step = mixkit.MixStep(self.mixer, labels, params=params, features=features)
        mixed_kwargs = text.prepare(clean, step=step, site=site, mask_key=mask_key, valid=valid)
        self._pending = _Pending(None, step, clean, mixed_kwargs, samples)
        return mixed_kwargs

    def _take_batch(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], Tensor]:
        """``(batch without the labels, labels)``, or an error naming the trap."""
        owner, key = self.owner, self.key
        if key not in kwargs:
            fail(
                owner,
                f"the training batch to hold {key!r} (with remove_unused_columns=True Trainer "
                "drops dataset columns the model's forward does not name, before any "
                "with_transform runs: set remove_unused_columns=False when a transform builds "
                "the key)",
                f"keys {sorted(kwargs)}",
            )
        x = kwargs[key]
        if self.text is None and isinstance(x, Tensor) and not x.is_floating_point():
            refuse_integer_inputs(owner, key, describe(x))
        labels = kwargs.get(self.label_key)
        if not isinstance(labels, Tensor):
            fail(
                owner,
                f"the training batch to hold the labels under {self.label_key!r} (Trainer pops "
                "them before the model when a compute_loss_func or label_smoothing_factor is "
                "set; the callback computes the loss itself)",
                f"keys {sorted(k for k, v in kwargs.items() if v is not None)}",
            )
        if self.task == "multiclass" and labels.is_floating_point():
            self._warn_once(
                "float-labels",
                f"{owner}: float (B, C) labels reach the model at evaluation, where Hugging Face "
                "classifiers infer problem_type='multi_label_classification' and evaluate with "
                "BCE; keep integer class labels in the dataset",
            )
        clean = {k: v for k, v in kwargs.items() if k != self.label_key}
        return clean, labels

    def _features(self, module: nn.Module, batch: dict[str, Any]) -> Tensor | None:
        if self.features is None:
            return None
        with self._own_calls(), torch.no_grad():
            return self.features(module, batch)

    # -- forward hook: the loss ------------------------------------------------------------

    def _after_forward(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> Any:
        if self._busy or self._pending is None:
            return None
        pending, self._pending = self._pending, None
        mixed = pending.mixed if pending.step is None else pending.step.result(self.owner)
        assert mixed is not None
        self.stats.add(mixed, weighted=self._weighted)
        if self.active is not None and mixed.applied != self.active and self.on_switch:
            self.on_switch(mixed.applied)
        self.active = mixed.applied
        logits = fit_logits(self.owner, mixed, logits_of(self.owner, output))
        loss = mixed.loss(
            logits,
            model=self._clean_pass(module, pending, mixed),
            form=self.form,
            reduction=self.reduction,
            num_samples=pending.num_samples,
        )
        return with_loss(output, loss)

    def _clean_pass(
        self, module: nn.Module, pending: _Pending, mixed: Mixed
    ) -> Callable[[Any], Tensor]:
        """``model(x) -> logits`` through ``module`` with the batch's other entries, hooks off:
        what a loss term (MixupE's) calls on the clean batch ``mixed.source``. For text mixed
        at the word embeddings, ``x`` replaces the embeddings of the batch's ids. Only a term
        calls it."""
        owner, key, text = self.owner, self.key, self.text

        def model(x: Any) -> Tensor:
            base = pending.mixed_kwargs if x is mixed.inputs else pending.clean
            with self._own_calls():
                if text is None:
                    out = module(**{**base, key: x})
                else:
                    text.substitute = x
                    out = module(**base)
            return fit_logits(owner, mixed, logits_of(owner, out))

        return model

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(message, UserWarning, stacklevel=5)
