"""A training step that calls a mixer compiles, and gives the batches eager mode gives."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import mixkit


def make_mixers() -> dict[str, nn.Module]:
    def g(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    return {
        "mixup": mixkit.MixUp(num_classes=5, generator=g(0)),
        "cutmix-elem": mixkit.CutMix(num_classes=5, mode="elem", generator=g(1)),
        "kmixup-local": mixkit.KMixUp(
            k=4, num_classes=5, weighting=mixkit.LocalWeights(eps=20.0), generator=g(2)
        ),
        "choice": mixkit.RandomChoice(
            [mixkit.MixUp(num_classes=5, generator=g(3)), mixkit.CutMix(num_classes=5)],
            generator=g(4),
        ),
        "mixupe": mixkit.MixUpE(num_classes=5, eta=0.1, generator=g(5)),
    }


def run(mixer: nn.Module, backend: str | None, steps: int = 3) -> list[tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mixed = mixer(x, y)
        loss = mixed.loss(model(mixed.inputs), model=model)
        loss.backward()
        return loss.detach(), mixed.inputs

    fn = step if backend is None else torch.compile(step, backend=backend)
    g = torch.Generator().manual_seed(7)
    out = []
    for _ in range(steps):
        x, y = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 5, (16,), generator=g)
        opt.zero_grad()
        loss, inputs = fn(x, y)
        opt.step()
        out.append((loss, inputs.detach().clone()))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["eager", "inductor"])
def test_a_compiled_step_mixes_exactly_as_eager(backend: str) -> None:
    torch.compiler.reset()
    for name in make_mixers():
        eager = run(make_mixers()[name], None)
        compiled = run(make_mixers()[name], backend)
        for (loss_e, x_e), (loss_c, x_c) in zip(eager, compiled, strict=True):
            assert torch.equal(x_e, x_c), f"{name}: another batch under torch.compile"
            torch.testing.assert_close(loss_e, loss_c, rtol=1e-5, atol=1e-6)


def test_mixers_work_under_no_grad_and_inference_mode() -> None:
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 5, (8,))
    for mixer in make_mixers().values():
        with torch.no_grad():
            a = mixer(x, y)
        with torch.inference_mode():
            b = mixer(x, y)
        c = mixer(x, y)
        assert a.inputs.shape == b.inputs.shape == c.inputs.shape == x.shape
        assert not torch.is_inference(c.inputs)


def test_reseeding_inside_a_compiled_function_matches_eager() -> None:
    # integrations reseed per step (mixkit.reseed -> derive_seed, BLAKE2b): eager under compile
    def step(mixer: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
        mixkit.reseed(mixer, 1, k)
        out: torch.Tensor = mixer(x, y).inputs
        return out

    x, y = torch.randn(8, 3), torch.randint(0, 5, (8,))
    compiled = torch.compile(step, backend="eager")
    for k in range(3):
        a, b = mixkit.MixUp(num_classes=5), mixkit.MixUp(num_classes=5)
        assert torch.equal(step(a, x, y, k), compiled(b, x, y, k))
