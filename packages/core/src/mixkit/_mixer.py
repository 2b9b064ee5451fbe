"""The mixer template (validate -> draw -> apply -> targets -> weights) and MixUp.

Every mixer of mixkit is a :class:`Mixer`: a small ``torch.nn.Module`` whose ``forward(x, y)``
returns a :class:`mixkit.Mixed`. Subclasses change one step (CutMix draws boxes and pastes
them); the strategy objects (pairing, schedule, ...) change the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
from torch import Tensor, nn

from mixkit import functional as F
from mixkit._buffers import BufferPool
from mixkit._mixed import Mixed
from mixkit._pairing import Pairing, RandomPairing
from mixkit._params import (
    MODES,
    MixParams,
    Mode,
    draw_lam,
    random_involution,
    skip_rows,
    spread_pair_lam,
)
from mixkit._relabel import Relabel
from mixkit._schedules import Schedule
from mixkit._targets import TASKS, Task, check_labels, dense_targets
from mixkit._validation import (
    check_bool,
    check_choice,
    check_float,
    check_generator,
    check_int,
    describe,
    fail,
    shape_str,
)
from mixkit._weighting import Weighting

__all__ = ["MixUp", "Mixer"]

_SEED_MASK = (1 << 63) - 1
_M = TypeVar("_M", bound="Mixer")
# Outputs from this size on go to kept memory (see mixkit._buffers). Smaller blocks come from
# the C allocator's heap without page faults, and a block just freed is warmer in the cache
# than a kept one: measured 17-26% cheaper at 1.5 MiB, while kept memory is 3x cheaper at 37 MiB.
_KEEP_MIN_BYTES = 4 << 20


@dataclass
class _Clock:
    # progress the schedules read; a plain object (nn.Module.__setattr__ is slow on a hot path)
    epoch: int = 0
    step: int = 0


class Mixer(nn.Module):
    """Base class of every mixer: the shared template and state.

    A call ``mixer(x, y)`` validates the batch, draws :class:`mixkit.MixParams` from the
    mixer's generator (:meth:`draw`), applies them (:meth:`mix`: mixed inputs, dense and pair
    targets, per-sample weights) and returns a :class:`mixkit.Mixed`. Disabled
    (``enabled=False``), in eval mode (``mixer.eval()``) or switched off by its schedule, it is
    exactly the identity: ``mixed.inputs is x``, targets are the dense labels, weights are 1.

    Args: see :class:`MixUp`.
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        mode: Mode = "batch",
        p: float = 1.0,
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        task: Task = "multiclass",
        union: bool = False,
        pairing: Pairing | None = None,
        weighting: Weighting | None = None,
        relabel: Relabel | None = None,
        schedule: Schedule | None = None,
        generator: torch.Generator | None = None,
        enabled: bool = True,
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.alpha = check_float(owner, "alpha", alpha, low=0.0)
        self.mode = check_choice(owner, "mode", mode, MODES)
        self.p = check_float(owner, "p", p, low=0.0, high=1.0)
        self.num_classes = (
            None if num_classes is None else check_int(owner, "num_classes", num_classes, low=1)
        )
        self.task = check_choice(owner, "task", task, TASKS)
        self.label_smoothing = check_float(
            owner, "label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True
        )
        if self.task == "regression" and self.label_smoothing:
            fail(owner, "label_smoothing=0 for task='regression'", self.label_smoothing)
        self.union = check_bool(owner, "union", union)
        if self.union and self.task != "multilabel":
            fail(owner, "union=True only with task='multilabel'", f"task={self.task!r}")
        if pairing is not None and not isinstance(pairing, Pairing):
            fail(
                owner, "pairing to be a mixkit Pairing or None", describe(pairing), type_error=True
            )
        self.pairing = pairing if pairing is not None else RandomPairing()
        if self.mode == "pair" and not isinstance(self.pairing, RandomPairing):
            fail(
                owner,
                "random pairing with mode='pair' (it pairs samples two by two)",
                f"pairing={self.pairing!r}",
            )
        if weighting is not None and not isinstance(weighting, Weighting):
            fail(
                owner,
                "weighting to be a mixkit Weighting or None",
                describe(weighting),
                type_error=True,
            )
        self.weighting = weighting
        if relabel is not None and not isinstance(relabel, Relabel):
            fail(
                owner, "relabel to be a mixkit Relabel or None", describe(relabel), type_error=True
            )
        if relabel is not None and self.task != "multiclass":
            fail(owner, "a relabel only with task='multiclass'", f"task={self.task!r}")
        self.relabel = relabel
        if schedule is not None and not isinstance(schedule, Schedule):
            fail(
                owner,
                "schedule to be a mixkit Schedule or None",
                describe(schedule),
                type_error=True,
            )
        self.schedule = schedule
        self.enabled = check_bool(owner, "enabled", enabled)
        self.check_finite = check_bool(owner, "check_finite", check_finite)
        gen = check_generator(owner, generator)
        if gen is None:
            # seeded from torch's global RNG, so torch.manual_seed makes runs reproducible
            seed = int(torch.empty((), dtype=torch.int64).random_().item()) & _SEED_MASK
            gen = torch.Generator().manual_seed(seed)
        self.generator = gen
        self._seed = gen.initial_seed()
        self._worker: tuple[int, int] | None = None
        self._clock = _Clock()
        self._pool = BufferPool()

    @property
    def epoch(self) -> int:
        """The epoch the schedule sees (set with :meth:`set_epoch`)."""
        return self._clock.epoch

    @property
    def step(self) -> int:
        """The global step the schedule sees: training calls so far, or :meth:`set_step`."""
        return self._clock.step

    # -- progress and state ---------------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Tell the mixer the current epoch (for schedules), like ``DistributedSampler``."""
        self._clock.epoch = check_int(f"{type(self).__name__}.set_epoch", "epoch", epoch, low=0)

    def set_step(self, step: int) -> None:
        """Set the global step (otherwise each training call counts one step)."""
        self._clock.step = check_int(f"{type(self).__name__}.set_step", "step", step, low=0)

    def train(self: _M, mode: bool = True) -> _M:
        """Training mode mixes, eval mode is the identity; leaving training mode also releases
        the output memory the mixer keeps for reuse."""
        if not mode:
            self._pool.clear()
        return super().train(mode)

    def report(self, value: float) -> None:
        """Report a clean validation metric to the schedule (drives :class:`AutoSwitch`)."""
        if self.schedule is not None:
            self.schedule.report(value, epoch=self.epoch, step=self.step)

    def _strategies(self) -> dict[str, Any]:
        return {
            "pairing": self.pairing,
            "weighting": self.weighting,
            "relabel": self.relabel,
            "schedule": self.schedule,
        }

    def get_extra_state(self) -> dict[str, Any]:
        """Generator state, progress, and the state of every strategy that has one (a fitted
        relabelling, the automatic switch): what a bit-exact resume needs."""
        strategies = {
            name: s.state_dict()
            for name, s in self._strategies().items()
            if s is not None and hasattr(s, "state_dict")
        }
        return {
            "generator": self.generator.get_state(),
            "seed": self._seed,
            "epoch": self.epoch,
            "step": self.step,
            "strategies": strategies,
        }

    def set_extra_state(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self._seed = int(state["seed"])
        self._clock.epoch, self._clock.step = int(state["epoch"]), int(state["step"])
        for name, strategy in self._strategies().items():
            saved = state["strategies"].get(name)
            if saved is not None and strategy is not None and hasattr(strategy, "load_state_dict"):
                strategy.load_state_dict(saved)

    def _generator(self) -> torch.Generator:
        # A DataLoader worker holds a copy of the mixer; without this, every worker would
        # replay the same draws. Re-seed once per worker (and per epoch: the worker seed changes).
        info = torch.utils.data.get_worker_info()
        if info is not None and self._worker != (info.id, info.seed):
            self._worker = (info.id, info.seed)
            self.generator.manual_seed(hash((self._seed, info.seed)) & _SEED_MASK)
        return self.generator

    # -- the schedule ---------------------------------------------------------------------

    def _effective(self) -> tuple[float, float]:
        """``(alpha, p)`` after the schedule."""
        if self.schedule is None:
            return self.alpha, self.p
        factor = self.schedule(self.epoch, self.step)
        if self.schedule.target == "alpha":
            return self.alpha * factor, self.p
        return self.alpha, self.p * factor

    def _active(self) -> bool:
        return self.enabled and self.training and self._effective()[1] > 0.0

    # -- validation -----------------------------------------------------------------------

    def _check_inputs(self, x: object) -> Tensor:
        """Validate the batch ``x`` (subclasses add their own requirements)."""
        owner = type(self).__name__
        if not isinstance(x, Tensor):
            fail(owner, "x to be a torch.Tensor", describe(x), type_error=True)
        if not x.is_floating_point():
            fail(
                owner,
                "x to be a floating-point tensor (convert integer images first, e.g. "
                "x.float() / 255 or torchvision's ToDtype(torch.float32, scale=True))",
                describe(x),
            )
        if x.ndim == 0:
            fail(owner, "x with a batch dimension (B, ...)", "a scalar tensor")
        if x.shape[0] == 0:
            fail(owner, "a non-empty batch", f"x of shape {shape_str(x.shape)}")
        if self.check_finite and not bool(torch.isfinite(x).all()):
            fail(owner, "finite inputs (check_finite=True)", "NaN or infinite values in x")
        return x

    def _check(self, x: object, y: object) -> tuple[Tensor, int | None]:
        x = self._check_inputs(x)
        return x, check_labels(
            type(self).__name__, y, x, task=self.task, num_classes=self.num_classes
        )

    def _check_features(self, features: object, x: Tensor) -> Tensor | None:
        """``None`` or ``(B, ...)`` floating features aligned with ``x`` (returned detached)."""
        if features is None:
            return None
        owner = type(self).__name__
        if not isinstance(features, Tensor) or not features.is_floating_point():
            fail(
                owner,
                "features to be a floating-point torch.Tensor or None",
                describe(features),
                type_error=not isinstance(features, Tensor),
            )
        if features.ndim == 0 or features.shape[0] != x.shape[0]:
            fail(
                owner,
                f"features with batch size {x.shape[0]} (the batch size of x)",
                f"features of shape {shape_str(features.shape)}",
            )
        if features.device != x.device:
            fail(
                owner, f"features on the device of x ({x.device})", f"features on {features.device}"
            )
        return features.detach()

    @staticmethod
    def _flat(x: Tensor, features: Tensor | None) -> Tensor:
        """``(B, D)`` float features: the caller's, or the flattened inputs (no gradient)."""
        source = x if features is None else features
        return source.detach().reshape(source.shape[0], -1).float()

    # -- draw -----------------------------------------------------------------------------

    def draw(
        self, x: Tensor, *, lam: float | None = None, features: Tensor | None = None
    ) -> MixParams:
        """Draw the parameters for batch ``x`` (advances the generator; nothing is mixed).

        Args:
            x: the batch (its shape; its values only for pairings that look at the samples).
            lam: fix lam instead of sampling it (tests, ablations); partners are still drawn.
            features: ``(B, ...)`` representation for the pairing (default: flattened ``x``).

        Returns:
            :class:`mixkit.MixParams`; identity parameters when the mixer is not active.
        """
        x = self._check_inputs(x)
        feats = self._check_features(features, x)
        if lam is not None:
            lam = check_float(f"{type(self).__name__}.draw", "lam", lam, low=0.0, high=1.0)
        if not self._active():
            return MixParams.identity(x.shape[0])
        return self._draw(x, lam, feats)

    def _draw(self, x: Tensor, fixed_lam: float | None, features: Tensor | None) -> MixParams:
        # The order of draws is fixed (lam, partners, op, skips): same seed, same batch.
        gen = self._generator()
        alpha, p = self._effective()
        batch = x.shape[0]
        if self.mode == "pair":
            pair_lam = draw_lam("pair", batch, alpha, gen)
            if fixed_lam is not None:
                pair_lam.fill_(fixed_lam)
            index, pair_id = random_involution(batch, gen)
            lam = spread_pair_lam(pair_lam, pair_id)
        else:
            lam = draw_lam(self.mode, batch, alpha, gen)
            if fixed_lam is not None:
                lam.fill_(fixed_lam)
            flat = self._flat(x, features) if self.pairing.needs_features else None
            index = self.pairing.pair(batch, flat, gen)
            pair_id = None
        lam, box = self._draw_op(x, lam, index, gen)
        if p < 1.0:
            index, lam = skip_rows(index, lam, p, gen, pair_id)
        return MixParams(index=index, lam=lam, box=box)

    def _draw_op(
        self, x: Tensor, lam: Tensor, index: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, Tensor | None]:
        """Extra draws of the input operation; returns the (possibly corrected) lam and a box."""
        return lam, None

    # -- mix ------------------------------------------------------------------------------

    def mix(
        self, x: Tensor, y: Tensor, params: MixParams, *, features: Tensor | None = None
    ) -> Mixed:
        """Mix ``x`` and its labels ``y`` with given parameters (no randomness).

        Use it to mix two aligned things with the same draw (say, an image and its mask), or
        with parameters from :meth:`draw` (possibly changed with ``params.replace``).
        """
        x, classes = self._check(x, y)
        feats = self._check_features(features, x)
        if not isinstance(params, MixParams) or params.batch_size != x.shape[0]:
            fail(
                f"{type(self).__name__}.mix",
                f"MixParams for a batch of {x.shape[0]}",
                describe(params),
            )
        return self._mix(x, y, params, classes, feats)

    def _out(self, x: Tensor) -> Tensor | None:
        """Where the mixed batch goes: memory of an earlier output that nothing references any
        more (CPU, contiguous, no gradient; see ``mixkit._buffers``), else None (allocate)."""
        if (
            x.nbytes < _KEEP_MIN_BYTES
            or x.device.type != "cpu"
            or not x.is_contiguous()
            or F._needs_grad(x)
        ):
            return None
        return self._pool.empty(x.shape, x.dtype)

    def _mix_inputs(
        self, x: Tensor, params: MixParams, index: Tensor, lam: Tensor | float
    ) -> Tensor:
        """The input operation (here the mixup lerp)."""
        return F.mix(x, index, lam, out=self._out(x))

    def _mix(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        classes: int | None,
        features: Tensor | None = None,
    ) -> Mixed:
        device = x.device
        index, lam_t = params.index, params.lam
        if device.type != "cpu":
            index = index.to(device, non_blocking=True)
            lam_t = lam_t.to(device, non_blocking=True)
        # one lam for the whole batch: a scalar weight is cheaper than a broadcast tensor
        lam: Tensor | float = lam_t
        lams = params.lam.tolist()  # B floats: cheaper than a tensor or NumPy reduction
        if lams.count(lams[0]) == len(lams):
            lam = lams[0]
        inputs = self._mix_inputs(x, params, index, lam)
        y_b = y.index_select(0, index)
        targets = self._mix_targets(y, y_b, classes, index, lam, lam_t)
        if self.weighting is not None:
            weights = self.weighting.weights(self._flat(x, features), index, lam_t).float()
        else:
            weights = torch.ones(x.shape[0], dtype=torch.float32, device=device)
        if self.relabel is not None:
            mixed_features = None if features is None else F.mix(features.float(), index, lam)
            relabelled = self.relabel.relabel(inputs, mixed_features, targets)
            # only rows that were really mixed: lam = 1 and self-pairs stay the identity
            moved = (lam_t < 1) & (index != torch.arange(x.shape[0], device=device))
            targets = torch.where(moved.unsqueeze(1), relabelled.to(targets.dtype), targets)
        return Mixed(
            inputs=inputs,
            targets=targets,
            y_a=y,
            y_b=y_b,
            lam=lam_t,
            index=index,
            weights=weights,
            params=params,
            source=x,
            task=self.task,
            label_smoothing=self.label_smoothing,
            relabelled=self.relabel is not None,
        )

    def _mix_targets(
        self,
        y: Tensor,
        y_b: Tensor,
        classes: int | None,
        index: Tensor,
        lam: Tensor | float,
        lam_t: Tensor,
    ) -> Tensor:
        if self.task == "multiclass" and not y.is_floating_point():
            # integer labels: build the mixed smoothed one-hots directly
            return F._mix_one_hot(y, y_b, lam, cast(int, classes), self.label_smoothing)
        dense = dense_targets(
            y, task=self.task, num_classes=classes, label_smoothing=self.label_smoothing
        )
        if self.union:
            return F.union_targets(dense, index, lam_t)
        return F.mix_targets(dense, index, lam)

    def _identity(self, x: Tensor, y: Tensor, classes: int | None) -> Mixed:
        batch, device = x.shape[0], x.device
        params = MixParams.identity(batch)
        smoothing = self.label_smoothing if self.training else 0.0
        return Mixed(
            inputs=x,
            targets=dense_targets(
                y, task=self.task, num_classes=classes, label_smoothing=smoothing
            ),
            y_a=y,
            y_b=y,
            lam=params.lam.to(device),
            index=params.index.to(device),
            weights=torch.ones(batch, dtype=torch.float32, device=device),
            params=params,
            source=x,
            task=self.task,
            label_smoothing=smoothing,
            applied=False,
        )

    # -- call -----------------------------------------------------------------------------

    def forward(self, x: Tensor, y: Tensor, *, features: Tensor | None = None) -> Mixed:
        """Mix a batch: ``x`` ``(B, ...)`` float, ``y`` labels (see the class docs).

        ``features`` (optional, ``(B, ...)``) is the representation that pairings and weightings
        measure distances on (manifold k-mixup, Local Mixup on embeddings); by default they use
        the flattened inputs.
        """
        x, classes = self._check(x, y)
        feats = self._check_features(features, x)
        if self._active():
            out = self._mix(x, y, self._draw(x, None, feats), classes, feats)
        else:
            out = self._identity(x, y, classes)
        if self.training:
            self._clock.step += 1
        return out

    # -- repr -----------------------------------------------------------------------------

    def _repr_args(self) -> dict[str, Any]:
        """Arguments shown by ``repr``: the main ones always, the others when not default."""
        shown: dict[str, Any] = {
            "alpha": self.alpha,
            "mode": self.mode,
            "p": self.p,
            "num_classes": self.num_classes,
        }
        optional = {
            "label_smoothing": (self.label_smoothing, 0.0),
            "task": (self.task, "multiclass"),
            "union": (self.union, False),
            "pairing": (self.pairing, None),
            "weighting": (self.weighting, None),
            "relabel": (self.relabel, None),
            "schedule": (self.schedule, None),
            "enabled": (self.enabled, True),
            "check_finite": (self.check_finite, False),
        }
        for name, (value, default) in optional.items():
            if name == "pairing" and isinstance(value, RandomPairing):
                continue
            if value != default:
                shown[name] = value
        return shown

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._repr_args().items())


class MixUp(Mixer):
    r"""Mixup: train on convex combinations of pairs of samples and of their labels.

    .. math::
        \tilde x_i = \lambda x_i + (1-\lambda) x_{j}, \quad
        \tilde y_i = \lambda y_i + (1-\lambda) y_{j}, \quad
        \lambda \sim \mathrm{Beta}(\alpha, \alpha),\ j = \mathrm{index}_i

    Paper: Zhang, Cisse, Dauphin, Lopez-Paz, *mixup: Beyond Empirical Risk Minimization*,
    ICLR 2018 (arXiv 1710.09412).

    Args:
        alpha: Beta concentration, ``>= 0``; ``0`` means no mixing (``lam = 1``). Default 1.0.
        mode: ``"batch"`` one lam per batch, ``"elem"`` one per sample, ``"pair"`` one per
            random pair of samples, applied to both members.
        p: probability that a sample (a pair in ``"pair"`` mode) is mixed at all; skipped rows
            keep ``lam = 1`` and themselves as partner.
        num_classes: number of classes; needed for integer labels.
        label_smoothing: applied exactly once, to the dense targets (and, equivalently, in the
            pair-form loss). Do not smooth again in your criterion.
        task: ``"multiclass"`` (int labels or soft rows summing to 1), ``"multilabel"``
            (multi-hot ``(B, C)``, BCE loss) or ``"regression"`` (float targets mixed linearly).
        union: multi-label only: the mixed sample holds the labels of both sources
            (``max``) instead of their mix.
        pairing: partner selection (default :class:`mixkit.RandomPairing`).
        schedule: a :class:`mixkit.Schedule` scaling ``p`` or ``alpha`` by epoch / step.
        generator: a CPU ``torch.Generator``; default: a private one seeded from torch's global
            RNG when the mixer is built. All draws come from it.
        enabled: when False the mixer is the identity.
        check_finite: refuse inputs with NaN / inf (one reduction per call; off by default).

    Returns (on call): :class:`mixkit.Mixed`. On the CPU, mixed batches of 4 MiB and more are
    written into memory the mixer keeps (at most two batches) and reuses once nothing references
    it any more, as CUDA's caching allocator does for GPU memory; ``mixer.eval()`` releases it.

    Raises:
        ValueError / TypeError: bad arguments at construction, bad batches at call, each with a
            message naming the argument, what was expected and what came.

    Example:
        >>> mixer = MixUp(alpha=0.2, num_classes=10, generator=torch.Generator().manual_seed(0))
        >>> x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed = mixer(x, y)
        >>> mixed.inputs.shape, mixed.targets.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
        >>> logits = torch.randn(8, 10)
        >>> loss = mixed.loss(logits)  # pair-form cross-entropy, mean over the batch

    .. note::
        ``lam`` is the weight of the original sample (timm and torchvision convention; kornia
        uses the opposite). Partners come from a random permutation, so neither the loader's
        shuffling nor an even batch size matters. Mixers are modules: ``mixer.eval()`` (or
        registering it inside your model) turns mixing off for evaluation.
    """
