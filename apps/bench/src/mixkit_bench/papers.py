"""``mixkit-bench papers``: each seed paper's claim, what we measured, and whether it holds.

The measurements are the repository's examples (``examples/*.py``), each one the single
implementation of its paper's cheap check (docs/methods/); this module runs them and judges
their numbers against the claims, plus two exact identities computed here. It needs a checkout
(the examples are not installed with the package).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

import mixkit

__all__ = ["Check", "run_all"]


@dataclass(frozen=True)
class Check:
    paper: str
    claim: str
    measured: str
    holds: bool


def examples_dir() -> Path:
    """The checkout's ``examples/`` (or ``$MIXKIT_EXAMPLES``)."""
    env = os.environ.get("MIXKIT_EXAMPLES")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[i] / "examples" for i in range(2, 6)]
    candidates.append(Path.cwd() / "examples")
    for path in candidates:
        if (path / "kmixup_blobs.py").exists():
            return path
    raise FileNotFoundError(
        "mixkit-bench papers runs the repository's examples; run it from a mixkit checkout or "
        "set MIXKIT_EXAMPLES to its examples/ folder"
    )


def _example(name: str) -> ModuleType:
    path = examples_dir() / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mixkit_example_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the example look their module up
    spec.loader.exec_module(module)
    return module


def _run(name: str, out: Path, quick: bool, *extra: str) -> Any:
    argv = ["--out", str(out / f"{name}.png"), *(["--quick"] if quick else []), *extra]
    return _example(name).main(argv)


def check_kmixup(out: Path, quick: bool) -> list[Check]:
    stats = _run("kmixup_blobs", out, quick)
    k1, k16 = stats[(1, False)]["cross"], stats[(16, False)]["cross"]
    k64 = stats[(64, True)]
    return [
        Check(
            "k-mixup (Greenewald et al., TMLR 2023)",
            "optimal-transport pairing keeps pairs within clusters: two separated blobs, B = 64, "
            "cross-cluster pairs ~50% at k = 1 and ~0 at k = 64",
            f"cross-cluster {k1:.1%} (k = 1), {k16:.1%} (k = 16), {k64['cross']:.1%} "
            f"(k = 64, no self-pairs: {k64['self']:.1%} self)",
            0.4 <= k1 <= 0.6 and k64["cross"] <= 0.02 and k16 < k1,
        )
    ]


def check_local(out: Path, quick: bool) -> list[Check]:
    result = _run("local_mixup_spirals", out, quick)
    q = result["quantiles"]
    acc = dict(zip(result["eps"], result["accuracy"], strict=True))
    erm, mix = acc[0.0], acc[max(acc)]
    middle = [a for e, a in acc.items() if 0 < e < max(acc)]
    return [
        Check(
            "Local Mixup (Baena et al., EUSIPCO 2022)",
            "two spirals: pairwise-distance quantiles 0.47 / 1.79 / 3.26 (5/50/95%)",
            " / ".join(f"{v:.2f}" for v in q),
            all(abs(a - b) < 0.1 for a, b in zip(q, (0.47, 1.79, 3.26), strict=True)),
        ),
        Check(
            "Local Mixup (Baena et al., EUSIPCO 2022)",
            "accuracy moves between ERM (eps = 0) and mixup (eps = 10) as eps grows",
            f"ERM {erm:.3f}, " + ", ".join(f"eps {e:g}: {a:.3f}" for e, a in acc.items() if e),
            all(min(erm, mix) - 0.02 <= a <= max(erm, mix) + 0.02 for a in middle) and erm != mix,
        ),
    ]


def check_genlabel(out: Path, quick: bool) -> list[Check]:
    r = _run("genlabel_toys", out, quick)
    share = r["A-C mixes labelled B"]
    col = r["collinear"]
    return [
        Check(
            "GenLabel (Sohn et al., ICML 2022)",
            "three collinear classes A-B-C: an A-C mix lands on B; mixup labels it A/C, "
            "GenLabel labels it B",
            f"A-C mixes given label B: MixUp {share['MixUp']:.2f}, "
            f"GenLabel {share['GenLabel']:.2f}",
            share["MixUp"] < 0.05 and share["GenLabel"] > 0.3,
        ),
        Check(
            "GenLabel (Sohn et al., ICML 2022)",
            "manifold intrusion costs mixup accuracy on the middle class; GenLabel recovers it",
            f"class-B test accuracy: ERM {col['ERM B']:.3f}, MixUp {col['MixUp B']:.3f}, "
            f"GenLabel {col['GenLabel B']:.3f}",
            col["GenLabel B"] > col["MixUp B"],
        ),
    ]


def check_overtraining(out: Path, quick: bool) -> list[Check]:
    runs = _run("overtraining_switch", out, quick)
    mix, erm = runs["MixUp"], runs["ERM"]
    auto = next(v for k, v in runs.items() if "AutoSwitch" in k)
    turn = min(range(len(mix.test)), key=mix.test.__getitem__)
    u_shape = mix.test[-1] > 1.05 * min(mix.test) and turn < len(mix.test) - 1
    erm_flat = erm.test[-1] <= 1.01 * min(erm.test)
    return [
        Check(
            "Over-training with mixup (Liu et al., ICLR 2023)",
            "random-feature regression: mixup's clean test MSE is U-shaped, ERM's is not",
            f"MixUp best {min(mix.test):.4f} at step {mix.steps[turn]}, final {mix.test[-1]:.4f}; "
            f"ERM final {erm.test[-1]:.4f} (best {min(erm.test):.4f})",
            u_shape and erm_flat,
        ),
        Check(
            "Over-training with mixup (Liu et al., ICLR 2023)",
            "switching mixup off in time (mixkit.AutoSwitch) ends with a lower test MSE than "
            "always-on mixup",
            f"AutoSwitch off at step {auto.switched_at}, final {auto.test[-1]:.4f} vs "
            f"always-on {mix.test[-1]:.4f}",
            auto.switched_at is not None and auto.test[-1] < mix.test[-1],
        ),
    ]


def check_mixupe() -> list[Check]:
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 16, bias=False), nn.ReLU(), nn.Linear(16, 4, bias=False)
    ).double()  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    x = torch.randn(8, 6, generator=g, dtype=torch.float64)
    targets = torch.softmax(torch.randn(8, 4, generator=g, dtype=torch.float64), dim=1)
    x_bar = torch.randn(6, generator=g, dtype=torch.float64)
    s1 = mixkit.functional.mixupe_scores(model, x, targets, version=1, x_bar=x_bar)
    s3 = mixkit.functional.mixupe_scores(model, x, targets, version=3)
    xr = x.clone().requires_grad_(True)
    b = (torch.softmax(model(xr), dim=1) - targets).detach()
    (grad,) = torch.autograd.grad((model(xr) * b).sum(), xr)
    lhs = s1
    rhs = grad @ x_bar + s3
    err = float((lhs - rhs).abs().max().detach())
    mixer = mixkit.MixUpE(num_classes=4, generator=torch.Generator().manual_seed(1), eta=0.5)
    y = torch.randint(0, 4, (8,), generator=g)
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    loss = mixed.loss(logits, model=model)  # the mixup loss plus MixupE's term
    plain = mixkit.mixed_loss(logits, mixed)  # the mixup loss alone
    params = list(model.parameters())
    moved = max(
        float((with_term - without).abs().max())
        for with_term, without in zip(
            torch.autograd.grad(loss, params, retain_graph=True),
            torch.autograd.grad(plain, params),
            strict=True,
        )
    )
    return [
        Check(
            "MixupE (Zou et al., UAI 2023)",
            "version 1 and version 3 scores: `s_v1 = grad<f,b>.x_bar + s_v3` on a bias-free "
            "ReLU net",
            f"max |difference| {err:.2e} (float64)",
            err < 1e-9,
        ),
        Check(
            "MixupE (Zou et al., UAI 2023)",
            "the rescaled MixupE loss reports the mixup loss's value; its gradient carries the "
            "term",
            f"MixupE {loss.item():.6f} vs mixup {plain.item():.6f}; gradients differ by up to "
            f"{moved:.2e}",
            math.isclose(loss.item(), plain.item(), rel_tol=1e-9) and moved > 1e-6,
        ),
    ]


def check_identities() -> list[Check]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 5, generator=g), torch.randint(0, 3, (32,), generator=g)

    def same(a: mixkit.Mixer, b: mixkit.Mixer) -> bool:
        ra, rb = a(x, y), b(x, y)
        return torch.equal(ra.inputs, rb.inputs) and torch.equal(ra.targets, rb.targets)

    def mk(cls: Callable[..., mixkit.Mixer], **kw: Any) -> mixkit.Mixer:
        return cls(num_classes=3, generator=torch.Generator().manual_seed(5), **kw)

    return [
        Check("k-mixup (Greenewald et al., TMLR 2023)", "k = 1 is vanilla mixup exactly",
              "bit-identical inputs and targets" if same(mk(mixkit.KMixUp, k=1), mk(mixkit.MixUp))
              else "different", same(mk(mixkit.KMixUp, k=1), mk(mixkit.MixUp))),
        Check("Local Mixup (Baena et al., EUSIPCO 2022)", "eps = infinity is vanilla mixup",
              "bit-identical inputs and targets", same(mk(mixkit.LocalMixUp, eps=math.inf),
                                                       mk(mixkit.MixUp))),
    ]  # fmt: skip


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a literal ``|`` would end the cell."""
    return text.replace("|", "\\|")


def run_all(out: Path, *, quick: bool = False) -> str:
    """Run every check, write ``papers.md`` under ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    torch_threads = torch.get_num_threads()
    checks: list[Check] = []
    try:
        checks += check_identities()
        checks += check_mixupe()
        checks += check_kmixup(out, quick)
        checks += check_local(out, quick)
        checks += check_genlabel(out, quick)
        checks += check_overtraining(out, quick)
    finally:
        torch.set_num_threads(torch_threads)
    lines = [
        f"Seed papers' cheap checks ({'quick' if quick else 'full'} settings; "
        "command: `mixkit-bench papers`). Plots are in the same folder.",
        "",
        "| paper | claim | measured | holds |",
        "|---|---|---|---|",
    ]
    lines += [f"| {_cell(c.paper)} | {_cell(c.claim)} | {_cell(c.measured)} | "
              f"{'yes' if c.holds else '**no**'} |" for c in checks]  # fmt: skip
    text = "\n".join(lines) + "\n"
    (out / "papers.md").write_text(text)
    return text
