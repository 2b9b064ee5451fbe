"""Schedules: how much mixing, as a pure function of (epoch, step) evaluated at mixing time.

A schedule returns a factor in ``[0, 1]`` that scales the mixer's application probability
``p`` (default) or its ``alpha``. Factor 0 switches mixing off: the mixer becomes the identity.

Being evaluated from the mixer's ``epoch`` / ``step`` at the moment of mixing (and not a flag
flipped on some object), a schedule is safe inside DataLoader workers as long as the epoch
reaches them the way it reaches a ``DistributedSampler``: call ``mixer.set_epoch(epoch)`` before
iterating (non-persistent workers copy the mixer at each epoch).

The over-training remedy (Liu et al., ICLR 2023, arXiv 2303.01475): mixup trained long enough
fits its own label noise and test error rises again; switch it off in time with
:class:`OffAfter` or :class:`AutoSwitch`.
"""

from __future__ import annotations

import abc
import logging
import math
from typing import Any

from mixkit.validation import check_choice, check_float, check_int, fail

__all__ = ["AutoSwitch", "LinearDecay", "OffAfter", "Schedule"]

_log = logging.getLogger("mixkit")
TARGETS: tuple[str, ...] = ("p", "alpha")
UNITS: tuple[str, ...] = ("epoch", "step")


class Schedule(abc.ABC):
    """Base class: ``schedule(epoch, step) -> factor in [0, 1]`` applied to ``target``."""

    target: str = "p"

    @abc.abstractmethod
    def __call__(self, epoch: int, step: int) -> float:
        """The factor at this epoch and global step."""

    def report(self, value: float, *, epoch: int, step: int) -> None:  # noqa: B027
        """Receive a validation metric. Only metric-driven schedules use it."""

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint (empty for the pure schedules)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027
        """Restore what :meth:`state_dict` returned."""


class OffAfter(Schedule):
    """Mix until a point, then train plainly: factor 1 before it, 0 from it on.

    Give exactly one of ``epoch``, ``step`` or ``fraction`` (of ``total_epochs`` or
    ``total_steps``).

    Example:
        >>> s = OffAfter(fraction=0.75, total_epochs=200)
        >>> s(149, 0), s(150, 0)
        (1.0, 0.0)
    """

    def __init__(
        self,
        *,
        epoch: int | None = None,
        step: int | None = None,
        fraction: float | None = None,
        total_epochs: int | None = None,
        total_steps: int | None = None,
    ) -> None:
        owner = type(self).__name__
        given = [
            name
            for name, v in (("epoch", epoch), ("step", step), ("fraction", fraction))
            if v is not None
        ]
        if len(given) != 1:
            fail(owner, "exactly one of epoch, step or fraction", given or "none")
        self.unit = "epoch"
        if epoch is not None:
            self.threshold = float(check_int(owner, "epoch", epoch, low=0))
        elif step is not None:
            self.unit = "step"
            self.threshold = float(check_int(owner, "step", step, low=0))
        else:
            frac = check_float(owner, "fraction", fraction, low=0.0, high=1.0)
            totals = [
                (n, v)
                for n, v in (("total_epochs", total_epochs), ("total_steps", total_steps))
                if v is not None
            ]
            if len(totals) != 1:
                fail(
                    owner,
                    "exactly one of total_epochs or total_steps with fraction",
                    [n for n, _ in totals] or "none",
                )
            name, total = totals[0]
            self.unit = "epoch" if name == "total_epochs" else "step"
            self.threshold = frac * check_int(owner, name, total, low=1)
        self._args = {
            "epoch": epoch,
            "step": step,
            "fraction": fraction,
            "total_epochs": total_epochs,
            "total_steps": total_steps,
        }

    def __call__(self, epoch: int, step: int) -> float:
        value = epoch if self.unit == "epoch" else step
        return 1.0 if value < self.threshold else 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args.items() if v is not None)
        return f"OffAfter({args})"


class LinearDecay(Schedule):
    """Factor 1 up to ``start``, then linear to ``final`` at ``end``, then ``final``.

    Applied to ``p`` (how often a sample is mixed) or to ``alpha`` (how strongly).
    """

    def __init__(
        self,
        *,
        start: int,
        end: int,
        unit: str = "epoch",
        target: str = "p",
        final: float = 0.0,
    ) -> None:
        owner = type(self).__name__
        self.start = check_int(owner, "start", start, low=0)
        self.end = check_int(owner, "end", end, low=0)
        if self.end <= self.start:
            fail(owner, f"end > start ({self.start})", self.end)
        self.unit = check_choice(owner, "unit", unit, UNITS)
        self.target = check_choice(owner, "target", target, TARGETS)
        self.final = check_float(owner, "final", final, low=0.0, high=1.0)

    def __call__(self, epoch: int, step: int) -> float:
        value = epoch if self.unit == "epoch" else step
        if value <= self.start:
            return 1.0
        if value >= self.end:
            return self.final
        t = (value - self.start) / (self.end - self.start)
        return 1.0 + t * (self.final - 1.0)

    def __repr__(self) -> str:
        return (
            f"LinearDecay(start={self.start}, end={self.end}, unit={self.unit!r}, "
            f"target={self.target!r}, final={self.final})"
        )


class AutoSwitch(Schedule):
    """Switch mixing off for good when the clean validation metric stops improving.

    Each :meth:`report` (e.g. the validation loss after an evaluation) updates an exponential
    moving average ``ema <- smoothing * ema + (1 - smoothing) * value``. After ``warmup``
    reports, when the average has not improved by more than ``min_delta`` on its best for
    ``patience`` reports in a row, mixing is switched off, irreversibly. ``switched_at`` then
    holds the epoch and step, and the ``mixkit`` logger says so.

    Args:
        patience: reports without improvement before switching.
        warmup: first reports that only feed the average.
        smoothing: EMA factor in ``[0, 1)``; 0 uses the raw metric.
        min_delta: improvement that counts.
        mode: ``"min"`` for losses, ``"max"`` for accuracies.
    """

    def __init__(
        self,
        *,
        patience: int = 5,
        warmup: int = 0,
        smoothing: float = 0.0,
        min_delta: float = 0.0,
        mode: str = "min",
    ) -> None:
        owner = type(self).__name__
        self.patience = check_int(owner, "patience", patience, low=1)
        self.warmup = check_int(owner, "warmup", warmup, low=0)
        self.smoothing = check_float(
            owner, "smoothing", smoothing, low=0.0, high=1.0, high_open=True
        )
        self.min_delta = check_float(owner, "min_delta", min_delta, low=0.0)
        self.mode = check_choice(owner, "mode", mode, ("min", "max"))
        self._reset()

    def _reset(self) -> None:
        self.ema: float | None = None
        self.best = math.inf
        self.bad = 0
        self.reports = 0
        self.switched_at: dict[str, int] | None = None

    @property
    def switched(self) -> bool:
        return self.switched_at is not None

    def __call__(self, epoch: int, step: int) -> float:
        return 0.0 if self.switched else 1.0

    def report(self, value: float, *, epoch: int, step: int) -> None:
        v = check_float("AutoSwitch.report", "value", value)
        if self.switched:
            return
        signed = v if self.mode == "min" else -v
        self.ema = (
            signed
            if self.ema is None
            else (self.smoothing * self.ema + (1.0 - self.smoothing) * signed)
        )
        self.reports += 1
        if self.reports <= self.warmup:
            self.best = min(self.best, self.ema)
            return
        if self.ema < self.best - self.min_delta:
            self.best, self.bad = self.ema, 0
            return
        self.bad += 1
        if self.bad >= self.patience:
            self.switched_at = {"epoch": int(epoch), "step": int(step)}
            _log.info("mixkit AutoSwitch: mixing switched off at epoch %d, step %d", epoch, step)

    def state_dict(self) -> dict[str, Any]:
        return {
            "ema": self.ema,
            "best": self.best,
            "bad": self.bad,
            "reports": self.reports,
            "switched_at": self.switched_at,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema, self.best, self.bad = state["ema"], state["best"], state["bad"]
        self.reports, self.switched_at = state["reports"], state["switched_at"]

    def __repr__(self) -> str:
        return (
            f"AutoSwitch(patience={self.patience}, warmup={self.warmup}, "
            f"smoothing={self.smoothing}, min_delta={self.min_delta}, mode={self.mode!r})"
        )
