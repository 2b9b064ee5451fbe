"""What the training batches mixed between two logging steps, as ``mixkit/*`` values.

Lightning's ``self.log`` costs about a tenth of a millisecond a call, more than mixing a batch;
the callback therefore adds up the batches' statistics here and logs them once per logging
step (``Trainer(log_every_n_steps=...)``), when Lightning writes its loggers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from mixkit import Mixed

__all__ = ["NAMES", "MixStats"]

#: the logged names
NAMES = (
    "mixkit/lam_mean",
    "mixkit/lam_min",
    "mixkit/mixed_fraction",
    "mixkit/active",
    "mixkit/weight_mean",
)


@dataclass
class MixStats:
    """Mixer calls since the last logging step.

    ``lam`` is read from the drawn parameters, on the CPU: no device synchronisation. Weights
    (only when the mixer gives them) are summed on their device and read when logged.
    """

    calls: int = 0
    applied: int = 0
    rows: int = 0
    mixed_rows: int = 0
    lam_sum: float = 0.0
    lam_min: float = 1.0
    weight_sums: list[Tensor] = field(default_factory=list)

    def add(self, mixed: Mixed, *, weighted: bool) -> None:
        lam = mixed.params.lam
        self.calls += 1
        self.applied += int(mixed.applied)
        self.rows += int(lam.shape[0])
        self.mixed_rows += int((lam < 1).sum())
        self.lam_sum += float(lam.sum())
        self.lam_min = min(self.lam_min, float(lam.min()))
        if weighted:
            self.weight_sums.append(mixed.weights.detach().float().sum())

    def logs(self) -> dict[str, float]:
        """The ``mixkit/*`` values: means over the rows (fractions of calls for ``active``)."""
        weights = sum(float(w) for w in self.weight_sums) if self.weight_sums else self.rows
        return {
            "mixkit/lam_mean": self.lam_sum / self.rows,
            "mixkit/lam_min": self.lam_min,
            "mixkit/mixed_fraction": self.mixed_rows / self.rows,
            "mixkit/active": self.applied / self.calls,
            "mixkit/weight_mean": float(weights) / self.rows,
        }
