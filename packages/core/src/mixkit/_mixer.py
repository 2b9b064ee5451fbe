"""The mixer template: validate -> draw -> bind -> targets, weights -> apply -> relabel -> finish.

Every mixer of mixkit is a :class:`Mixer` with strategies in its slots: the input operation
(:class:`mixkit.InputOp`), pairing, weighting, relabelling, extra loss term and schedule. The
named methods (MixUp, CutMix, KMixUp, LocalMixUp, ...) are presets of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mixkit import _kernels as K
from mixkit._checks import check_features, check_params, flat_features
from mixkit._mixed import Mixed
from mixkit._ops import InputOp, LerpOp, OpBatch
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
from mixkit._state import Clock, Clocked, Seeded, eager
from mixkit._targets import TASKS, Task, check_labels, dense_targets, mixed_targets
from mixkit._terms import LossTerm
from mixkit._weighting import Weighting
from mixkit.validation import check_bool, check_choice, check_float, check_int, describe, fail

__all__ = ["Mixer", "iter_mixers"]

#: the strategy slots of a mixer and the base class each must derive from
SLOTS: dict[str, type] = {
    "op": InputOp,
    "pairing": Pairing,
    "weighting": Weighting,
    "relabel": Relabel,
    "term": LossTerm,
    "schedule": Schedule,
}


class Mixer(Seeded, Clocked):
    """A mixer: the template plus its strategies. See :class:`mixkit.MixUp` for the arguments.

    A call ``mixer(x, y)`` validates the batch, draws :class:`mixkit.MixParams` from the mixer's
    generator, applies them and returns a :class:`mixkit.Mixed`. Disabled (``enabled=False``),
    in eval mode or switched off by its schedule it is exactly the identity:
    ``mixed.inputs is x``, targets are the dense labels, weights are 1.
    """

    op: InputOp
    pairing: Pairing
    weighting: Weighting | None
    relabel: Relabel | None
    term: LossTerm | None
    schedule: Schedule | None

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
        op: InputOp | None = None,
        pairing: Pairing | None = None,
        weighting: Weighting | None = None,
        relabel: Relabel | None = None,
        term: LossTerm | None = None,
        schedule: Schedule | None = None,
        generator: torch.Generator | None = None,
        enabled: bool = True,
        check_finite: bool = False,
    ) -> None:
        super().__init__(generator)
        owner = type(self).__name__
        self.alpha = check_float(owner, "alpha", alpha, low=0.0)
        self.mode = check_choice(owner, "mode", mode, MODES)
        self.p = check_float(owner, "p", p, low=0.0, high=1.0)
        self.num_classes = None if num_classes is None else check_int(
            owner, "num_classes", num_classes, low=1
        )  # fmt: skip
        self.task = check_choice(owner, "task", task, TASKS)
        self.label_smoothing = check_float(
            owner, "label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True
        )
        self.union = check_bool(owner, "union", union)
        self.enabled = check_bool(owner, "enabled", enabled)
        self.check_finite = check_bool(owner, "check_finite", check_finite)
        given = {"op": op, "pairing": pairing, "weighting": weighting, "relabel": relabel,
                 "term": term, "schedule": schedule}  # fmt: skip
        for name, value in given.items():
            if value is not None and not isinstance(value, SLOTS[name]):
                expected = f"{name} to be a mixkit {SLOTS[name].__name__} or None"
                fail(owner, expected, describe(value), type_error=True)
        self.op = op if op is not None else LerpOp()
        self.pairing = pairing if pairing is not None else RandomPairing()
        self.weighting, self.relabel, self.term = weighting, relabel, term
        self.schedule = schedule
        _check_combination(owner, self)
        self._clock = Clock()
        if term is not None:
            term.attach(owner, self)

    # -- progress and state ----------------------------------------------------------------

    def report(self, value: float) -> None:
        """Report a clean validation metric to the schedule (drives :class:`AutoSwitch`)."""
        if self.schedule is not None:
            self.schedule.report(value, epoch=self.epoch, step=self.step)

    def strategies(self) -> dict[str, Any]:
        """The strategy in each slot (``None`` where empty)."""
        return {name: getattr(self, name) for name in SLOTS}

    def _extra_state(self) -> dict[str, Any]:
        # progress, and the state of every strategy that has one (fitted relabelling, switch)
        states = {n: s.state_dict() for n, s in self.strategies().items() if _stateful(s)}
        return {"epoch": self.epoch, "step": self.step, "strategies": states}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        slots = self.strategies()
        for name, saved in state["strategies"].items():
            if saved and not _stateful(slots.get(name)):  # never drop saved state silently
                owner = f"{type(self).__name__}.load_state_dict"
                fail(owner, f"a mixer with a {name} to load its saved state into", f"{name}=None")
        self._clock.epoch, self._clock.step = int(state["epoch"]), int(state["step"])
        for name, saved in state["strategies"].items():
            if _stateful(slots.get(name)):
                slots[name].load_state_dict(saved)

    def effective(self) -> tuple[float, float]:
        """``(alpha, p)`` after the schedule at the current epoch and step."""
        if self.schedule is None:
            return self.alpha, self.p
        factor = self.schedule(self.epoch, self.step)
        if self.schedule.target == "alpha":
            return self.alpha * factor, self.p
        return self.alpha, self.p * factor

    @property
    def active(self) -> bool:
        """Whether a call mixes now (enabled, training, not switched off by the schedule)."""
        return self.enabled and self.training and self.effective()[1] > 0.0

    # -- the template ---------------------------------------------------------------------

    @eager
    def draw(
        self, x: Any, *, lam: float | None = None, features: Tensor | None = None, **arguments: Any
    ) -> MixParams:
        """Draw the parameters for batch ``x`` (advances the generator; nothing is mixed).

        ``lam`` fixes lam instead of sampling it (partners are still drawn); ``features`` and
        ``arguments`` are those of a call. Identity parameters when the mixer is not active.
        """
        owner = type(self).__name__
        batch = _prepare(owner, self, x, None, arguments)
        feats = check_features(owner, features, batch.view)
        if lam is not None:
            lam = check_float(f"{owner}.draw", "lam", lam, low=0.0, high=1.0)
        if not self.active:
            return MixParams.identity(batch.batch_size)
        return self._draw(batch, lam, feats)

    def _draw(self, batch: OpBatch, fixed: float | None, features: Tensor | None) -> MixParams:
        # The order of draws is fixed (lam, partners, op, skips): same seed, same batch.
        gen = self._seeding.current()
        alpha, p = self.effective()
        size, pair_id = batch.batch_size, None
        if self.mode == "pair":
            lam = draw_lam("pair", size, alpha, gen)
            index, pair_id = random_involution(size, gen)
            lam = spread_pair_lam(lam if fixed is None else lam.fill_(fixed), pair_id)
        else:
            lam = draw_lam(self.mode, size, alpha, gen)
            lam = lam if fixed is None else lam.fill_(fixed)
            flat = flat_features(batch.view, features) if self.pairing.needs_features else None
            index = self.pairing.pair(size, flat, gen)
        lam, box = self.op.draw(batch, lam, index, gen, mode=self.mode, fixed=fixed is not None)
        if p < 1.0:
            index, lam = skip_rows(index, lam, p, gen, pair_id)
        return MixParams(index=index, lam=lam, box=box)

    @eager
    def mix(
        self,
        x: Any,
        y: Tensor | None,
        params: MixParams,
        *,
        features: Tensor | None = None,
        out: Tensor | None = None,
        **arguments: Any,
    ) -> Mixed:
        """Mix ``x`` and its labels ``y`` with given parameters (no randomness): mix two aligned
        things with one draw, or apply :meth:`draw`'s parameters (changed with ``replace``)."""
        owner = f"{type(self).__name__}.mix"
        batch = _prepare(owner, self, x, y, arguments)
        y, classes = _labels(owner, self, batch)
        feats = check_features(owner, features, batch.view)
        params = check_params(owner, params, batch.batch_size)
        return self._mix_batch(batch, y, params, classes, feats, out)

    @eager
    def forward(
        self,
        x: Any,
        y: Tensor | None = None,
        *,
        features: Tensor | None = None,
        out: Tensor | None = None,
        **arguments: Any,
    ) -> Mixed:
        """Mix a batch ``x`` ``(B, ...)`` with labels ``y``; see :class:`mixkit.MixUp`."""
        owner = type(self).__name__
        batch = _prepare(owner, self, x, y, arguments)
        y, classes = _labels(owner, self, batch)
        feats = check_features(owner, features, batch.view)
        if self.active:
            result = self._mix_batch(batch, y, self._draw(batch, None, feats), classes, feats, out)
        else:
            result = self._identity(batch, y, classes)
        if self.training:
            self._clock.step += 1
        return result

    def _mix_batch(
        self,
        batch: OpBatch,
        y: Tensor,
        params: MixParams,
        classes: int | None,
        features: Tensor | None,
        out: Tensor | None,
    ) -> Mixed:
        if out is not None and not self.op.supports_out:
            expected = f"out=None ({type(self.op).__name__} makes its own output)"
            fail(type(self).__name__, expected, describe(out))
        params = self.op.bind(batch, params)
        device, size = batch.device, batch.batch_size
        index, lam_t = params.index, params.lam
        if device.type != "cpu":
            index, lam_t = index.to(device, non_blocking=True), lam_t.to(device, non_blocking=True)
        lam = params.weight if isinstance(params.weight, float) else lam_t
        weights = torch.ones(size, dtype=torch.float32, device=device)
        if self.weighting is not None:  # before apply: out= may be the caller's own memory
            flat = flat_features(batch.view, features)
            weights = self.weighting.weights(flat, index, lam_t).float()
        y_b = y.index_select(0, index)
        targets = mixed_targets(
            y, y_b, index, lam, task=self.task, num_classes=classes,
            label_smoothing=self.label_smoothing, union=self.union,
        )  # fmt: skip
        inputs = self.op.apply(batch, params, out=out)
        if self.relabel is not None:
            feats = features if features is None else K.mix(features.float(), index, params.weight)
            relabelled = self.relabel.relabel(
                self.op.represent(batch, params, inputs), feats, targets
            )
            # only rows that were really mixed: lam = 1 and self-pairs stay the identity
            moved = (lam_t < 1) & (index != torch.arange(size, device=device))
            targets = torch.where(moved.unsqueeze(1), relabelled.to(targets.dtype), targets)
        mixed = Mixed(
            inputs=inputs, targets=targets, y_a=y, y_b=y_b, lam=lam_t, index=index,
            weights=weights, params=params, source=batch.data, task=self.task,
            label_smoothing=self.label_smoothing, relabelled=self.relabel is not None,
            alpha=self.effective()[0], term=self.term,
        )  # fmt: skip
        return self.op.finish(batch, params, mixed)

    def _identity(self, batch: OpBatch, y: Tensor, classes: int | None) -> Mixed:
        size, device = batch.batch_size, batch.device
        params = MixParams.identity(size)
        smoothing = self.label_smoothing if self.training else 0.0
        targets = dense_targets(y, task=self.task, num_classes=classes, label_smoothing=smoothing)
        mixed = Mixed(
            inputs=batch.x, targets=targets, y_a=y, y_b=y, lam=params.lam.to(device),
            index=params.index.to(device),
            weights=torch.ones(size, dtype=torch.float32, device=device),
            params=params, source=batch.x, task=self.task, label_smoothing=smoothing,
            applied=False, term=self.term,
        )  # fmt: skip
        return self.op.finish(batch, params, mixed)

    def repr_args(self) -> dict[str, Any]:
        """Arguments ``repr`` shows: the main ones always, the others when not default.
        Presets override it to show their own arguments instead of the strategies they build."""
        return _repr_args(self)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.repr_args().items())


def iter_mixers(module: torch.nn.Module) -> list[Mixer]:
    """Every :class:`Mixer` inside ``module`` (itself included), in module order: the mixers
    of a :class:`mixkit.RandomChoice`, of a wrapper, of a model that holds one."""
    return [m for m in module.modules() if isinstance(m, Mixer)]


def _check_combination(owner: str, m: Mixer) -> None:
    if m.task == "regression" and m.label_smoothing:
        fail(owner, "label_smoothing=0 for task='regression'", m.label_smoothing)
    if m.union and m.task != "multilabel":
        fail(owner, "union=True only with task='multilabel'", f"task={m.task!r}")
    if m.mode == "pair" and not isinstance(m.pairing, RandomPairing):
        expected = "random pairing with mode='pair' (it pairs samples two by two)"
        fail(owner, expected, f"pairing={m.pairing!r}")
    if m.relabel is not None and m.task != "multiclass":
        fail(owner, "a relabel only with task='multiclass'", f"task={m.task!r}")


def _prepare(
    owner: str, m: Mixer, x: object, y: Tensor | None, arguments: dict[str, Any]
) -> OpBatch:
    unknown = sorted(set(arguments) - set(m.op.arguments)) if arguments else None
    if unknown:
        accepted = ", ".join(f"{a}=" for a in m.op.arguments) or "none"
        got = ", ".join(f"{u}=" for u in unknown)
        fail(owner, f"keyword arguments of the input operation ({accepted})", got, type_error=True)
    batch = m.op.prepare(owner, x, y, task=m.task, union=m.union, **arguments)
    if m.check_finite and not bool(torch.isfinite(batch.view).all()):
        fail(owner, "finite inputs (check_finite=True)", "NaN or infinite values in x")
    return batch


def _labels(owner: str, m: Mixer, batch: OpBatch) -> tuple[Tensor, int | None]:
    if batch.y is None:
        fail(owner, "y to be a torch.Tensor of labels", "None", type_error=True)
    classes = check_labels(owner, batch.y, batch.view, task=m.task, num_classes=m.num_classes)
    return batch.y, classes


def _repr_args(m: Mixer) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "alpha": m.alpha,
        "mode": m.mode,
        "p": m.p,
        "num_classes": m.num_classes,
    }
    optional = {
        "label_smoothing": (m.label_smoothing, 0.0),
        "task": (m.task, "multiclass"),
        "union": (m.union, False),
        "enabled": (m.enabled, True),
        "check_finite": (m.check_finite, False),
    }
    for name, strategy in m.strategies().items():
        if not isinstance(strategy, LerpOp | RandomPairing):
            optional[name] = (strategy, None)
    shown.update({k: v for k, (v, default) in optional.items() if v != default})
    return shown


def _stateful(strategy: object) -> bool:
    return strategy is not None and callable(getattr(strategy, "state_dict", None))
