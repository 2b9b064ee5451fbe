"""Over-training with mixup, and the automatic switch that stops it (Liu et al., ICLR 2023).

Random-feature least squares (docs/methods/overtraining.md): inputs x ~ N(0, I_20), n training
points, 1000 fixed random ReLU features phi(x) = relu(V x) / sqrt(1000), a linear head trained by
full-batch gradient descent on the squared error. Four runs from the same start: ERM, MixUp all
along, MixUp switched off by ``mixkit.AutoSwitch`` when the clean validation MSE stops improving
(reported with ``mixer.report``), and MixUp switched off at a step fixed in advance
(``mixkit.OffAfter``). Prints each run's test MSE and saves the curves.

The teacher. Mixup's over-training comes from the label noise it creates: a mixed label
``lam*y_i + (1-lam)*y_j`` differs from the teacher's value at the mixed input. A teacher linear in
x creates none (``lam*<w,x_i> + (1-lam)*<w,x_j> = <w, lam*x_i + (1-lam)*x_j>``): mixup is then
exact data augmentation and its test MSE falls monotonically (``--teacher linear`` shows it). The
default teacher adds a nonlinear part realisable by the student:
``y = <w, x> + 0.4 * g(x)`` with ``g = <a, phi(x)>`` standardised, so ERM has no approximation
error to fit and mixup gets the data-dependent label noise of the paper.

    python examples/overtraining_switch.py              # the full run (~30 s, 2 cores)
    python examples/overtraining_switch.py --quick      # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

import mixkit


@dataclass
class Task:
    phi: Callable[[Tensor], Tensor]
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor


def make_task(n: int, *, teacher: str, nonlinear: float, seed: int) -> Task:
    d, p = 20, 1000
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g)
    w /= w.norm()
    v = torch.randn(p, d, generator=g) / math.sqrt(d)
    a = torch.randn(p, generator=g)

    def phi(x: Tensor) -> Tensor:  # (N, 20) -> (N, 1000)
        return torch.relu(x @ v.T) / math.sqrt(p)

    x_ref = torch.randn(20000, d, generator=g)
    h_ref = phi(x_ref) @ a
    mu, sd = h_ref.mean(), h_ref.std()

    def f(x: Tensor) -> Tensor:
        if teacher == "linear":
            return x @ w
        return x @ w + nonlinear * (phi(x) @ a - mu) / sd

    x_train, x_val, x_test = (torch.randn(m, d, generator=g) for m in (n, 200, 5000))
    return Task(phi, x_train, f(x_train), x_val, f(x_val), x_test, f(x_test))


@dataclass
class Run:
    steps: list[int] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    switched_at: int | None = None


def train(task: Task, mixer: mixkit.Mixer | None, *, steps: int, every: int, lr: float) -> Run:
    """Full-batch gradient descent on the head from zero; test MSE every ``every`` steps."""
    feats_train = task.phi(task.x_train)  # (n, 1000)
    head = torch.zeros(feats_train.shape[1], requires_grad=True)  # (1000,)
    opt = torch.optim.SGD([head], lr=lr)
    feats_val, feats_test = task.phi(task.x_val), task.phi(task.x_test)
    run = Run()
    for step in range(steps + 1):
        if step % every == 0:
            with torch.no_grad():
                run.steps.append(step)
                run.test.append(float(((feats_test @ head - task.y_test) ** 2).mean()))
                val = float(((feats_val @ head - task.y_val) ** 2).mean())
            if mixer is not None:
                mixer.report(val)  # drives AutoSwitch; the other schedules ignore it
                schedule = mixer.schedule
                if (
                    run.switched_at is None
                    and isinstance(schedule, mixkit.AutoSwitch)
                    and schedule.switched
                ):
                    run.switched_at = step
        if step == steps:
            break
        if mixer is None:
            loss = ((feats_train @ head - task.y_train) ** 2).mean()
        else:
            mixer.set_epoch(step)  # full batch: one step is one epoch
            mixed = mixer(task.x_train, task.y_train)
            feats = feats_train if mixed.inputs is task.x_train else task.phi(mixed.inputs)
            loss = mixed.loss(feats @ head)  # squared error against the mixed targets
        opt.zero_grad()
        loss.backward()
        opt.step()
    return run


def main(argv: list[str] | None = None) -> dict[str, Run]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="training points (100-500)")
    parser.add_argument("--steps", type=int, default=15000)
    parser.add_argument("--every", type=int, default=100, help="evaluate every N steps")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument(
        "--teacher", choices=["linear+nonlinear", "linear"], default="linear+nonlinear"
    )
    parser.add_argument("--nonlinear", type=float, default=0.4)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--off-after", type=float, default=0.1, help="OffAfter fraction")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/overtraining_switch.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.every = 800, 20  # too short for the turn: checks the plumbing
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest (and fair on a shared box)

    task = make_task(args.n, teacher=args.teacher, nonlinear=args.nonlinear, seed=args.seed)
    feats = task.phi(task.x_train)
    # the largest stable step for the squared error: 1 / lambda_max(2 Phi^T Phi / n)
    lr = 1.0 / float(torch.linalg.eigvalsh(2 * feats.T @ feats / args.n).max())
    print(
        f"random features: n={args.n}, d=20, 1000 ReLU features, teacher {args.teacher}, "
        f"full-batch GD lr={lr:.3g}, {args.steps} steps"
    )

    def mixer(schedule: mixkit.Schedule | None) -> mixkit.MixUp:
        return mixkit.MixUp(
            alpha=args.alpha,
            mode="elem",
            task="regression",
            schedule=schedule,
            generator=torch.Generator().manual_seed(args.seed + 1),
        )

    setups: dict[str, Callable[[], mixkit.Mixer | None]] = {
        "ERM": lambda: None,
        "MixUp": lambda: mixer(None),
        "MixUp + AutoSwitch": lambda: mixer(
            mixkit.AutoSwitch(patience=args.patience, warmup=5, smoothing=0.5)
        ),
        "MixUp + OffAfter": lambda: mixer(
            mixkit.OffAfter(fraction=args.off_after, total_steps=args.steps)
        ),
    }
    runs: dict[str, Run] = {}
    for name, make in setups.items():
        start = time.perf_counter()
        runs[name] = run = train(task, make(), steps=args.steps, every=args.every, lr=lr)
        best = min(range(len(run.test)), key=run.test.__getitem__)
        print(
            f"  {name:20s} final test MSE {run.test[-1]:.4f} "
            f"(best {run.test[best]:.4f} at step {run.steps[best]}) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        if run.switched_at is not None:
            print(f"  {'':20s} AutoSwitch: mixing switched off at step {run.switched_at}")
        elif name == "MixUp + AutoSwitch":
            print(f"  {'':20s} AutoSwitch: never switched off")
    mix, auto = runs["MixUp"], runs["MixUp + AutoSwitch"]
    turn = mix.steps[min(range(len(mix.test)), key=mix.test.__getitem__)]
    print(
        f"MixUp's test MSE turns at step {turn} and rises {mix.test[-1] / min(mix.test):.3f}x "
        f"by the end; the switch ends {auto.test[-1] / mix.test[-1]:.3f}x always-on MixUp"
    )
    save_plot(runs, args, turn)
    print(f"plot: {args.out}")
    return runs


def save_plot(runs: dict[str, Run], args: argparse.Namespace, turn: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    styles = {
        "ERM": ("tab:gray", "-"),
        "MixUp": ("tab:red", "-"),
        "MixUp + AutoSwitch": ("tab:blue", "-"),
        "MixUp + OffAfter": ("tab:green", "--"),
    }
    for name, run in runs.items():
        color, ls = styles[name]
        ax.plot(run.steps, run.test, color=color, ls=ls, lw=1.6, label=name)
    mix = runs["MixUp"]
    ax.plot([turn], [min(mix.test)], "o", color="tab:red", ms=5)
    ax.annotate(
        f"MixUp's best\n(step {turn})",
        xy=(turn, min(mix.test)),
        xytext=(8, -22),
        textcoords="offset points",
        fontsize=8,
        color="tab:red",
    )
    switched = runs["MixUp + AutoSwitch"].switched_at
    if switched is not None:
        ax.axvline(switched, color="tab:blue", ls=":", lw=1.2)
        ax.annotate(
            f"AutoSwitch turns mixing off (step {switched})",
            xy=(switched, 0.97),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            va="top",
            ha="left",
            fontsize=8,
            color="tab:blue",
        )
    finals = [r.test[-1] for r in runs.values()]
    lows = [min(r.test) for r in runs.values()]
    ax.set_ylim(min(lows) * 0.9, max(max(finals), min(lows)) * 1.35)
    ax.set_xlabel("full-batch GD step")
    ax.set_ylabel("clean test MSE")
    ax.set_title(f"Over-training with mixup: random features, n = {args.n}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
