"""The seed methods compose: one mixer with a pairing, a relabelling, a weighting, a schedule,
and the MixupE term on top; every combination passes the conformance suite."""

from __future__ import annotations

import copy
import itertools
import math

import torch
from torch import nn

import mixkit
from mixkit import functional as F
from mixkit.testing import MixerCase, parametrize_with_checks, run_check


def blobs(g: torch.Generator, n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(3).repeat(n // 3 + 1)[:n]
    centres = torch.tensor([[-4.0, 0.0], [0.0, 0.0], [4.0, 0.0]])
    return centres[y] + 0.5 * torch.randn(n, 2, generator=g), y


FIT_X, FIT_Y = blobs(torch.Generator().manual_seed(99), 90)


def composed(
    g: torch.Generator,
    *,
    k: int = 4,
    eps: float = 3.0,
    off: int = 2,
    term: mixkit.LossTerm | None = None,
) -> mixkit.MixUp:
    return mixkit.MixUp(
        alpha=1.0,
        num_classes=3,
        pairing=mixkit.OTPairing(k=k),
        relabel=mixkit.GenLabel(gamma=0.5).fit(FIT_X, FIT_Y),
        weighting=mixkit.LocalWeights(eps=eps),
        term=term,
        schedule=mixkit.OffAfter(epoch=off),
        generator=g,
    )


def test_all_four_axes_act_in_one_mixer() -> None:
    x, y = blobs(torch.Generator().manual_seed(0))
    mixer = composed(torch.Generator().manual_seed(1))
    out = mixer(x, y)
    # pairing: the partners are an optimal matching within each chunk of k = 4
    assert out.applied and out.relabelled
    assert sorted(out.index.tolist()) == list(range(12))
    # weighting: Local's threshold on the sources' distance
    d = (x - x[out.index]).norm(dim=1)
    assert torch.equal(out.weights, (d <= 3.0).float())
    # relabelling: gamma-blend of GenLabel's density label and the mix of one-hots, on moved rows
    relabel = mixer.relabel
    assert isinstance(relabel, mixkit.GenLabel)
    y_mix = F.mix_targets(F.one_hot(y, 3), out.index, out.lam)
    expected = relabel.relabel(out.inputs, None, y_mix)
    moved = (out.lam < 1) & (out.index != torch.arange(12))
    torch.testing.assert_close(out.targets[moved], expected[moved])
    torch.testing.assert_close(out.targets.sum(1), torch.ones(12))
    # schedule: from epoch 2 the mixer is exactly the identity
    mixer.set_epoch(2)
    off = mixer(x, y)
    assert off.inputs is x and not off.applied


def test_composed_mixer_trains_with_mixupe_and_resumes_bit_exactly() -> None:
    x, y = blobs(torch.Generator().manual_seed(0), 24)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    term = mixkit.MixupETerm(eta=1e-3, tau=1.0)
    wrapper = composed(torch.Generator().manual_seed(3), term=term)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = None
    draws = []
    for step in range(6):
        if step == 3:
            state = copy.deepcopy(wrapper.state_dict())
        mixed = wrapper(x, y)
        draws.append(mixed.inputs.detach().clone())
        loss = mixed.loss(model(mixed.inputs), model=model, reduction="weighted_mean")
        assert math.isfinite(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    resumed = composed(torch.Generator().manual_seed(77), term=mixkit.MixupETerm())
    assert state is not None
    resumed.load_state_dict(state)
    for step in range(3, 6):
        assert torch.equal(resumed(x, y).inputs, draws[step])


AXES = {
    "pairing": [None, lambda: mixkit.OTPairing(k=4), lambda: mixkit.LocalPairing(sigma=0.5)],
    "weighting": [None, lambda: mixkit.LocalWeights(eps=3.0), lambda: mixkit.LocalWeights(knn=2)],
    "relabel": [None, lambda: mixkit.GenLabel(gamma=0.7).fit(FIT_X, FIT_Y)],
    "schedule": [None, lambda: mixkit.LinearDecay(start=0, end=8, unit="step")],
}


def _case(parts: tuple[object, ...]) -> MixerCase:
    names = [
        "random" if p is None else type(p()).__name__  # type: ignore[operator]
        for p in parts
    ]

    def make(g: torch.Generator, parts: tuple[object, ...] = parts) -> mixkit.MixUp:
        kwargs = {
            axis: (None if p is None else p())  # type: ignore[operator]
            for axis, p in zip(AXES, parts, strict=True)
        }
        return mixkit.MixUp(num_classes=3, generator=g, **kwargs)

    return MixerCase("+".join(names), make, lambda g: blobs(g, 9))


CASES = [_case(parts) for parts in itertools.product(*AXES.values())]


@parametrize_with_checks(CASES)
def test_every_combination_conforms(case: MixerCase, check: str) -> None:
    run_check(case, check)
