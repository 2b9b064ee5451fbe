"""MixupE: the scores, the term, the rescaling, the wrapper, mean_input, and the examples."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as TF
from torch import Tensor, nn

import mixkit
from mixkit import CutMix, Mixed, MixUp, MixUpE, MixupETerm, OffAfter, RandomChoice, mean_input
from mixkit.testing import MixerCase, parametrize_with_checks, run_check

ROOT = Path(__file__).resolve().parents[3]


# -- helpers --------------------------------------------------------------------------------


def relu_mlp(d: int, c: int, *, bias: bool, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(d, 16, bias=bias), nn.ReLU(), nn.Linear(16, 16, bias=bias), nn.ReLU(),
        nn.Linear(16, c, bias=bias),
    ).double()  # fmt: skip


def relu_cnn(c: int, *, bias: bool, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, c, bias=bias),
    ).double()  # fmt: skip


def tabular(b: int = 12, d: int = 5, c: int = 3, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g, dtype=torch.float64), torch.randint(
        0, c, (b,), generator=g
    )


def images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 5, (6,), generator=g)


def grads(loss: Tensor, model: nn.Module) -> list[Tensor]:
    return list(torch.autograd.grad(loss, list(model.parameters())))


def assert_grads_close(
    a: list[Tensor], b: list[Tensor], *, rtol: float = 1.3e-6, atol: float = 1e-5
) -> None:
    for ga, gb in zip(a, b, strict=True):
        torch.testing.assert_close(ga, gb, rtol=rtol, atol=atol)


def reference_loss(
    model: nn.Module,
    mixed: Mixed,
    *,
    eta: float,
    one_minus_m: float,
    tau: float,
    version: int = 3,
    x_bar: Tensor | None = None,
) -> Tensor:
    """The authors' training_method, written out for integer labels (the test oracle)."""
    l_mix = mixkit.mixed_loss(model(mixed.inputs), mixed)
    x, batch = mixed.source, mixed.source.shape[0]
    classes, ls = mixed.targets.shape[1], mixed.label_smoothing
    y = TF.one_hot(mixed.y_a, classes).to(x.dtype) * (1 - ls) + ls / classes
    if version == 3:
        f = model(x)
        s = (f * (y - torch.softmax(f, dim=1))).sum(dim=1)
        term = -eta * one_minus_m * s[s.detach() < tau].sum() / batch
    else:
        assert x_bar is not None
        xg = x.clone().requires_grad_(True)
        f = model(xg)
        b = (torch.softmax(f, dim=1) - y).detach()
        (g,) = torch.autograd.grad((f * b).sum(), xg, create_graph=True)
        s = (g * (x_bar - x)).reshape(batch, -1).sum(dim=1)
        term = eta * one_minus_m * s[s.detach() < tau].sum() / batch
    total: Tensor = l_mix + term
    return (l_mix.detach().abs() / total.detach().abs()) * total


class Counting(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        out: Tensor = self.model(x)
        return out


# -- item 7: the exact relation of the two versions' scores -----------------------------------


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_v1_score_is_grad_dot_xbar_plus_v3_score_on_bias_free_relu_nets(net: str) -> None:
    if net == "mlp":
        x, y = tabular(b=16, d=6, c=4)
        model = relu_mlp(6, 4, bias=False)
    else:
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(8, 3, 8, 8, generator=g, dtype=torch.float64), torch.arange(8) % 4
        model = relu_cnn(4, bias=False)
    x_bar = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(2)).double()
    targets = TF.one_hot(y, 4).double()
    s1 = MixupETerm(version=1, x_bar=x_bar).scores(model, x, targets)
    s3 = MixupETerm().scores(model, x, targets)
    # grad_x <f(x_i), b_i> . x_bar, computed on its own
    xg = x.clone().requires_grad_(True)
    f = model(xg)
    b = (torch.softmax(f, dim=1) - targets).detach()
    (grad,) = torch.autograd.grad((f * b).sum(), xg)
    along_xbar = (grad * x_bar).reshape(x.shape[0], -1).sum(dim=1)
    torch.testing.assert_close(s1, along_xbar + s3, rtol=1e-10, atol=1e-10)
    assert s1.dtype == s3.dtype == torch.float64 and s1.shape == (x.shape[0],)
    assert float((s1 - s3).detach().abs().max()) > 1e-3, "the relation must not hold trivially"


def test_the_relation_needs_a_bias_free_net() -> None:
    x, y = tabular(b=16, d=6, c=4)
    model = relu_mlp(6, 4, bias=True)
    targets, x_bar = TF.one_hot(y, 4).double(), torch.zeros(6, dtype=torch.float64)
    s1 = MixupETerm(version=1, x_bar=x_bar).scores(model, x, targets)
    s3 = MixupETerm().scores(model, x, targets)
    # with x_bar = 0 the relation says s1 == s3; biases break Euler's identity
    assert float((s1 - s3).detach().abs().max()) > 1e-3


def test_scores_use_the_link_of_each_task() -> None:
    model = nn.Linear(4, 3, bias=False).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    f = model(x)
    y = torch.rand(5, 3, dtype=torch.float64)
    e = MixupETerm()
    torch.testing.assert_close(e.scores(model, x, y, task="regression"), (f * (y - f)).sum(1))
    torch.testing.assert_close(
        e.scores(model, x, y, task="multilabel"), (f * (y - torch.sigmoid(f))).sum(1)
    )


# -- the loss: value, gradient, threshold, m ------------------------------------------------


@pytest.mark.parametrize("version", [3, 1])
@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_loss_value_is_the_mixup_loss_and_gradient_is_the_authors(
    version: int, alpha: float
) -> None:
    x, y = tabular()
    model = relu_mlp(5, 3, bias=True)
    x_bar = x.mean(0) if version == 1 else None
    eta = 0.5  # large, so the term visibly moves the gradient
    mixer = MixUpE(
        alpha=alpha,
        num_classes=3,
        generator=torch.Generator().manual_seed(0),
        eta=eta,
        tau=math.inf,
        version=version,  # type: ignore[arg-type]
        x_bar=x_bar,
    )
    mixed = mixer(x, y)
    loss = mixed.loss(model(mixed.inputs), model=model)
    plain = mixkit.mixed_loss(model(mixed.inputs), mixed)
    torch.testing.assert_close(loss, plain, rtol=1e-6, atol=0)  # the value: the mixup loss
    one_minus_m = 1.0 - (alpha + 1) / (2 * alpha + 1)
    expected = reference_loss(
        model, mixed, eta=eta, one_minus_m=one_minus_m, tau=math.inf, version=version, x_bar=x_bar
    )
    ours = grads(loss, model)
    assert_grads_close(ours, grads(expected, model), rtol=1e-5, atol=1e-6)
    plain_grads = grads(plain, model)
    assert max(float((a - b).abs().max()) for a, b in zip(ours, plain_grads, strict=True)) > 1e-3


def test_tau_keeps_only_scores_below_it() -> None:
    x, y = tabular(b=16)
    model = relu_mlp(5, 3, bias=True)
    mixer = MixUpE(num_classes=3, generator=torch.Generator().manual_seed(0), eta=0.5)
    mixed = mixer(x, y)
    s = mixer.mixupe.scores(model, x, MixupETerm.clean_targets(mixed)).detach()
    tau = float(s.median())  # about half the samples kept
    mixer.mixupe.tau = tau
    kept = int((s < tau).sum())
    assert 0 < kept < 16
    expected = reference_loss(model, mixed, eta=0.5, one_minus_m=1 / 3, tau=tau)
    assert_grads_close(
        grads(mixed.loss(model(mixed.inputs), model=model), model),
        grads(expected, model),
        rtol=1e-5,
        atol=1e-7,
    )
    # a threshold below every score keeps nothing: exactly the mixup gradient
    mixer.mixupe.tau = float(s.min()) - 1.0
    plain = mixkit.mixed_loss(model(mixed.inputs), mixed)
    assert_grads_close(
        grads(mixed.loss(model(mixed.inputs), model=model), model),
        grads(plain, model),
        rtol=0,
        atol=0,
    )


def test_version_1_needs_the_double_backward() -> None:
    # f(x) = W x: s_i = b_i^T W (x_bar - x_i); its gradient in W, b_i (x_bar - x_i)^T, exists only
    # through the graph of grad_x <f, b> (create_graph=True)
    x, y = tabular(b=10, d=4)
    model = nn.Linear(4, 3, bias=False).double()
    x_bar = torch.randn(4, dtype=torch.float64)
    eta, alpha = 0.3, 1.0
    mixer = MixUpE(
        alpha=alpha,
        num_classes=3,
        generator=torch.Generator().manual_seed(0),
        eta=eta,
        tau=math.inf,
        version=1,
        x_bar=x_bar,
    )
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    plain = mixkit.mixed_loss(logits, mixed)
    (grad_plain,) = torch.autograd.grad(plain, model.weight, retain_graph=True)
    b = torch.softmax(model(x), dim=1).detach() - TF.one_hot(y, 3).double()
    s = (b * ((x_bar - x) @ model.weight.detach().T)).sum(dim=1)
    term_grad = eta * (1 / 3) * b.T @ (x_bar - x) / x.shape[0]  # (C, D)
    total = plain.detach() + eta * (1 / 3) * s.sum() / x.shape[0]
    expected = (plain.detach().abs() / total.abs()) * (grad_plain + term_grad)
    (ours,) = torch.autograd.grad(mixed.loss(logits, model=model), model.weight)
    torch.testing.assert_close(ours, expected.to(ours.dtype), rtol=1e-5, atol=1e-7)
    assert float((ours - grad_plain).abs().max()) > 1e-3


def test_random_choice_uses_the_m_of_the_mixer_that_drew() -> None:
    x, y = tabular(b=8)
    model = relu_mlp(5, 3, bias=True)
    term = MixupETerm(eta=0.5, tau=math.inf)  # one term, shared by both mixers
    mixer = RandomChoice(
        [MixUp(alpha=1.0, num_classes=3, term=term), MixUp(alpha=4.0, num_classes=3, term=term)],
        p=[0.25, 0.75],
        generator=torch.Generator().manual_seed(0),
    )
    params = mixer.draw(x)
    assert params.choice is not None
    chosen = mixer.mix(x, y, params)
    alpha = (1.0, 4.0)[params.choice]
    assert chosen.alpha == alpha and chosen.term is term
    expected = reference_loss(
        model, chosen, eta=0.5, one_minus_m=alpha / (2 * alpha + 1), tau=math.inf
    )
    loss = chosen.loss(model(chosen.inputs), model=model)
    assert_grads_close(grads(loss, model), grads(expected, model))
    seen = set()
    for _ in range(6):  # forward: each batch carries the alpha of its mixer
        called = mixer(x, y)
        assert called.params.choice is not None
        alpha = (1.0, 4.0)[called.params.choice]
        seen.add(alpha)
        assert called.alpha == alpha
        expected = reference_loss(
            model, called, eta=0.5, one_minus_m=alpha / (2 * alpha + 1), tau=math.inf
        )
        loss = called.loss(model(called.inputs), model=model)
        assert_grads_close(grads(loss, model), grads(expected, model))
    assert seen == {1.0, 4.0}


def test_the_alpha_of_a_schedule_is_the_one_m_uses() -> None:
    x, y = tabular()
    model = relu_mlp(5, 3, bias=True)
    schedule = mixkit.LinearDecay(start=0, end=2, target="alpha", final=0.0)
    mixer = MixUpE(
        alpha=2.0, num_classes=3, schedule=schedule, eta=0.5, tau=math.inf,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    mixer.set_epoch(1)  # alpha scaled by 0.5
    mixed = mixer(x, y)
    assert mixed.alpha == 1.0
    expected = reference_loss(model, mixed, eta=0.5, one_minus_m=1 / 3, tau=math.inf)
    loss = mixed.loss(model(mixed.inputs), model=model)
    assert_grads_close(grads(loss, model), grads(expected, model))


def test_clean_targets_carry_the_label_smoothing_of_the_mixer() -> None:
    x, y = tabular()
    model = relu_mlp(5, 3, bias=True)
    mixer = MixUpE(
        num_classes=3,
        label_smoothing=0.2,
        generator=torch.Generator().manual_seed(0),
        eta=0.5,
        tau=math.inf,
    )
    mixed = mixer(x, y)
    torch.testing.assert_close(
        MixupETerm.clean_targets(mixed), TF.one_hot(y, 3).float() * 0.8 + 0.2 / 3
    )
    expected = reference_loss(model, mixed, eta=0.5, one_minus_m=1 / 3, tau=math.inf)
    assert_grads_close(
        grads(mixed.loss(model(mixed.inputs), model=model), model), grads(expected, model)
    )


@pytest.mark.parametrize("version", [3, 1])
def test_reductions(version: int) -> None:
    x, y = tabular()
    model = relu_mlp(5, 3, bias=True)
    mixer = MixUpE(
        num_classes=3,
        generator=torch.Generator().manual_seed(0),
        eta=0.5,
        tau=math.inf,
        version=version,  # type: ignore[arg-type]
        x_bar=x.mean(0) if version == 1 else None,
    )
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    for reduction in ("mean", "sum", "weighted_mean"):
        torch.testing.assert_close(
            mixed.loss(logits, model=model, reduction=reduction),
            mixkit.mixed_loss(logits, mixed, reduction=reduction),
        )
    per_sample = mixed.loss(logits, model=model, reduction="none")
    assert per_sample.shape == (12,)
    torch.testing.assert_close(per_sample.mean(), mixed.loss(logits, model=model))
    # "sum" is B times "mean", gradient included
    assert_grads_close(
        grads(mixed.loss(model(mixed.inputs), model=model, reduction="sum"), model),
        [12 * g for g in grads(mixed.loss(model(mixed.inputs), model=model), model)],
    )


def test_identity_and_eta_zero_are_the_plain_loss_without_a_clean_pass() -> None:
    x, y = tabular()
    model = Counting(relu_mlp(5, 3, bias=True))
    mixer = MixUpE(num_classes=3, eta=0.5)
    for setup in ("eval", "disabled", "schedule"):
        m = copy.deepcopy(mixer)
        if setup == "eval":
            m.eval()
        elif setup == "disabled":
            m.enabled = False
        else:
            m = MixUpE(num_classes=3, schedule=OffAfter(epoch=1), eta=0.5)
            m.set_epoch(1)
        mixed = m(x, y)
        assert not mixed.applied and mixed.inputs is x
        model.calls = 0
        loss = mixed.loss(model(mixed.inputs), model=model)
        assert model.calls == 1, setup
        torch.testing.assert_close(loss, TF.cross_entropy(model(x), y), rtol=0, atol=0)
    zero = MixUpE(num_classes=3, generator=torch.Generator().manual_seed(0), eta=0.0)
    mixed = zero(x, y)
    logits = model(mixed.inputs)
    model.calls = 0
    assert torch.equal(mixed.loss(logits, model=model), mixkit.mixed_loss(logits, mixed))
    assert model.calls == 0, "logits given and eta = 0: no pass at all"


def test_loss_calls_the_model_on_the_mixed_and_the_clean_batch() -> None:
    x, y = tabular()
    inner = relu_mlp(5, 3, bias=True)
    seen: list[Tensor] = []
    model = Counting(inner)
    model.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    mixer = MixUpE(num_classes=3, generator=torch.Generator().manual_seed(0))
    mixed = mixer(x, y)
    mixed.loss(model(mixed.inputs), model=model)
    assert model.calls == 2
    assert seen[0] is mixed.inputs and seen[1] is x
    model.calls = 0
    mixed.loss(inner(mixed.inputs), model=model)
    assert model.calls == 1


def test_the_callers_batch_is_untouched_by_version_1() -> None:
    x, y = tabular()
    x0 = x.clone()
    mixer = MixUpE(num_classes=3, version=1, x_bar=x.mean(0))
    net, mixed = relu_mlp(5, 3, bias=True), mixer(x, y)
    mixed.loss(net(mixed.inputs), model=net).backward()
    assert torch.equal(x, x0) and not x.requires_grad and x.grad is None


def test_multilabel_and_regression_mixers() -> None:
    x = torch.randn(6, 4, dtype=torch.float64)
    for task, y, out in (
        ("multilabel", (torch.rand(6, 3) > 0.5).double(), 3),
        ("regression", torch.randn(6, 2, dtype=torch.float64), 2),
    ):
        model = nn.Linear(4, out).double()
        for version in (3, 1):
            mixer = MixUpE(
                task=task,
                generator=torch.Generator().manual_seed(0),  # type: ignore[arg-type]
                eta=0.5,
                tau=math.inf,
                version=version,
                x_bar=x.mean(0) if version == 1 else None,
            )
            mixed = mixer(x, y)
            loss = mixed.loss(model(mixed.inputs), model=model)
            torch.testing.assert_close(loss, mixkit.mixed_loss(model(mixed.inputs), mixed))
            loss.backward()
            assert all(
                p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters()
            )


def test_loss_on_every_device(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 3, 8, 8, generator=g).to(device), torch.arange(6).to(device) % 4
    model = relu_cnn(4, bias=True).float().to(device)
    for version in (3, 1):
        mixer = CutMix(
            num_classes=4,
            generator=torch.Generator().manual_seed(0),
            term=MixupETerm(version=version, x_bar=torch.zeros(3, 8, 8) if version == 1 else None),
        ).to(device)
        mixed = mixer(x, y)
        loss = mixed.loss(model(mixed.inputs), model=model)
        assert loss.device == x.device
        torch.testing.assert_close(loss, mixkit.mixed_loss(model(mixed.inputs), mixed))
        loss.backward()


# -- composition ----------------------------------------------------------------------------


class FarthestPairing(mixkit.Pairing):
    needs_features = True

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        return torch.cdist(features, features).argmax(dim=1).cpu()


class DistanceWeights(mixkit.Weighting):
    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        return torch.exp(-(features - features[index]).norm(dim=1))


class MajorityRelabel(mixkit.Relabel):
    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        return TF.one_hot(targets.argmax(dim=1), targets.shape[1]).float()


def composed(g: torch.Generator, term: MixupETerm) -> MixUp:
    return MixUp(
        num_classes=5,
        mode="elem",
        pairing=FarthestPairing(),
        weighting=DistanceWeights(),
        relabel=MajorityRelabel(),
        term=term,
        schedule=OffAfter(epoch=1),
        generator=g,
    )


def test_composes_with_pairing_weighting_relabel_and_a_switch_off_schedule() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 6, generator=g, dtype=torch.float64), torch.arange(8) % 5
    model = relu_mlp(6, 5, bias=True)
    mixer = composed(torch.Generator().manual_seed(1), MixupETerm(eta=0.5, tau=math.inf))
    mixed = mixer(x, y)
    flat = x.float()
    assert torch.equal(mixed.index, torch.cdist(flat, flat).argmax(1))
    assert mixed.relabelled and not torch.equal(mixed.weights, torch.ones(8))
    logits = model(mixed.inputs)
    loss = mixed.loss(logits, model=model)
    torch.testing.assert_close(loss, mixkit.mixed_loss(logits, mixed))
    # the clean term: the same as for a plain mixer with these targets and weights
    mixed_grad = grads(mixkit.mixed_loss(model(mixed.inputs), mixed), model)
    term_only = reference_loss(model, mixed, eta=0.5, one_minus_m=1 / 3, tau=math.inf)
    ours = grads(loss, model)
    assert_grads_close(ours, grads(term_only, model))
    assert any(float((a - b).abs().max()) > 1e-4 for a, b in zip(ours, mixed_grad, strict=True))
    mixer.set_epoch(1)  # the schedule switches mixing, and with it the term, off
    off = mixer(x, y)
    assert not off.applied
    torch.testing.assert_close(
        off.loss(model(off.inputs), model=model), TF.cross_entropy(model(x), y)
    )


def x_bar_of(shape: tuple[int, ...]) -> Tensor:
    return torch.zeros(shape)


CASES = [
    MixerCase("mixupe-mixup", lambda g: MixUpE(num_classes=5, generator=g), images),
    MixerCase(
        "mixupe-v1-cutmix-elem",
        lambda g: CutMix(
            mode="elem",
            num_classes=5,
            generator=g,
            term=MixupETerm(version=1, x_bar=x_bar_of((3, 8, 8))),
        ),
        images,
    ),
    MixerCase(
        "mixupe-random-choice",
        lambda g: RandomChoice(
            [
                MixUpE(num_classes=5, generator=torch.Generator().manual_seed(1)),
                CutMix(
                    num_classes=5,
                    term=MixupETerm(),
                    generator=torch.Generator().manual_seed(2),
                ),
            ],
            generator=g,
        ),
        images,
    ),
    MixerCase(
        "mixupe-composed",
        lambda g: composed(g, MixupETerm(eta=0.1)),
        images,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


# -- the preset and the term's state --------------------------------------------------------


def test_the_preset_is_mixup_with_the_term() -> None:
    x, y = torch.randn(6, 3, 8, 8), torch.arange(6) % 5
    preset = MixUpE(num_classes=5, eta=0.2, generator=torch.Generator().manual_seed(3))
    plain = MixUp(num_classes=5, generator=torch.Generator().manual_seed(3))
    a, b = preset(x, y), plain(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert isinstance(a.term, MixupETerm) and a.term is preset.mixupe and b.term is None
    assert preset.mixupe.eta == 0.2
    params = preset.draw(x, lam=0.3)
    torch.testing.assert_close(preset.mix(x, y, params).inputs, 0.3 * x + 0.7 * x[params.index])


def test_x_bar_is_a_private_copy_in_the_mixer_state() -> None:
    x_bar = torch.ones(3, 8, 8)
    mixer = MixUpE(num_classes=5, version=1, x_bar=x_bar)
    state = mixer.state_dict()
    saved = state["_extra_state"]["strategies"]["term"]["x_bar"]
    assert torch.equal(saved, x_bar)
    other = MixUpE(num_classes=5, version=1, x_bar=torch.zeros(3, 8, 8))
    other.load_state_dict(state)
    assert other.mixupe.x_bar is not None and torch.equal(other.mixupe.x_bar, x_bar)
    x_bar.fill_(5.0)  # the caller's tensor: neither mixer shares it
    assert torch.equal(mixer.mixupe.x_bar, torch.ones(3, 8, 8))
    assert torch.equal(other.mixupe.x_bar, torch.ones(3, 8, 8))
    assert MixUpE().state_dict()["_extra_state"]["strategies"]["term"] == {"x_bar": None}


def test_x_bar_moves_to_the_device_of_the_batch(device: torch.device) -> None:
    x, y = torch.randn(6, 4, dtype=torch.float64).to(device), torch.arange(6).to(device) % 3
    model = nn.Linear(4, 3).double().to(device)
    mixer = MixUpE(num_classes=3, version=1, x_bar=torch.zeros(4, dtype=torch.float64))
    mixed = mixer(x, y)
    mixed.loss(model(mixed.inputs), model=model).backward()


def test_loading_a_term_state_into_a_mixer_without_a_term_fails() -> None:
    state = MixUpE(num_classes=5, version=1, x_bar=torch.ones(3)).state_dict()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUp.load_state_dict: expected a mixer with a term to load its saved state into, "
            "got term=None"
        ),
    ):
        MixUp(num_classes=5).load_state_dict(state)


def test_repr() -> None:
    assert repr(MixUpE()) == (
        "MixUpE(eta=0.001, tau=1.0, version=3, alpha=1.0, mode='batch', p=1.0, num_classes=None)"
    )
    term = MixupETerm(eta=0.01, version=1, x_bar=torch.zeros(3, 32, 32))
    assert repr(term) == "MixupETerm(eta=0.01, tau=1.0, version=1, x_bar_shape=(3, 32, 32))"
    assert repr(CutMix(num_classes=10, term=term)) == (
        "CutMix(alpha=1.0, mode='batch', p=1.0, num_classes=10, "
        "term=MixupETerm(eta=0.01, tau=1.0, version=1, x_bar_shape=(3, 32, 32)))"
    )
    assert repr(MixUpE(tau=math.inf)).startswith("MixUpE(eta=0.001, tau=inf, version=3")


# -- bad input ------------------------------------------------------------------------------

XT, YT = tabular()
NET = relu_mlp(5, 3, bias=True)
E3 = MixUpE(num_classes=3)
MIXED = E3(XT, YT)
E1 = MixUpE(num_classes=3, version=1, x_bar=torch.zeros(4, dtype=torch.float64))
T3 = MixupETerm()
M = torch.zeros(2, 3)

# (id, call, exception type, the exact message)
CASES_BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "term_type",
        lambda: MixUp(term="mixupe"),  # type: ignore[arg-type]
        TypeError,
        "MixUp: expected term to be a mixkit LossTerm or None, got 'mixupe' (str)",
    ),
    (
        "eta_negative",
        lambda: MixUpE(eta=-0.1),
        ValueError,
        "MixupETerm: expected eta >= 0, got -0.1",
    ),
    (
        "eta_nan",
        lambda: MixupETerm(eta=math.nan),
        ValueError,
        "MixupETerm: expected a finite eta >= 0, got nan",
    ),
    (
        "eta_string",
        lambda: MixupETerm(eta="1e-3"),  # type: ignore[arg-type]
        TypeError,
        "MixupETerm: expected eta to be a real number, got '1e-3' (str)",
    ),
    (
        "tau_nan",
        lambda: MixupETerm(tau=math.nan),
        ValueError,
        "MixupETerm: expected tau to be finite",
    ),
    (
        "tau_minus_inf",
        lambda: MixupETerm(tau=-math.inf),
        ValueError,
        "MixupETerm: expected tau > -inf (no sample would be kept), got -inf",
    ),
    (
        "version_2",
        lambda: MixupETerm(version=2),  # type: ignore[arg-type]
        ValueError,
        "MixupETerm: expected version to be 1 or 3, got 2",
    ),
    (
        "version_bool",
        lambda: MixupETerm(version=True),  # type: ignore[arg-type]
        ValueError,
        "MixupETerm: expected version to be 1 or 3, got True",
    ),
    (
        "v1_without_x_bar",
        lambda: MixUpE(version=1),
        ValueError,
        "MixupETerm: expected x_bar (the mean training input, e.g. mixkit.mean_input(loader)) "
        "with version=1, got None",
    ),
    (
        "v3_with_x_bar",
        lambda: MixupETerm(x_bar=torch.zeros(3)),
        ValueError,
        "MixupETerm: expected x_bar=None with version=3 (only version 1 uses it), "
        "got a torch.float32 tensor of shape (3,) on cpu",
    ),
    (
        "x_bar_list",
        lambda: MixupETerm(version=1, x_bar=[0.0]),  # type: ignore[arg-type]
        TypeError,
        "MixupETerm: expected x_bar to be a floating-point torch.Tensor or None, got [0.0] (list)",
    ),
    (
        "x_bar_int",
        lambda: MixupETerm(version=1, x_bar=torch.zeros(3, dtype=torch.int64)),
        ValueError,
        "MixupETerm: expected x_bar to be a floating-point torch.Tensor or None, "
        "got a torch.int64 tensor",
    ),
    (
        "preset_with_term",
        lambda: MixUpE(term=MixupETerm()),
        ValueError,
        "MixUpE: expected no term argument (MixUpE's term is MixupETerm; use MixUp(term=...) "
        "instead), got term=MixupETerm(eta=0.001, tau=1.0, version=3)",
    ),
    (
        "loss_without_model",
        lambda: MIXED.loss(NET(MIXED.inputs)),
        ValueError,
        "Mixed.loss: expected model= (the mixer's MixupETerm runs the model on the clean batch), "
        "got model=None",
    ),
    (
        "loss_model",
        lambda: MIXED.loss(NET(MIXED.inputs), model=3),  # type: ignore[arg-type]
        TypeError,
        "Mixed.loss: expected model to be callable (an nn.Module), got 3 (int)",
    ),
    (
        "loss_reduction",
        lambda: MIXED.loss(NET(MIXED.inputs), model=NET, reduction="avg"),  # type: ignore[arg-type]
        ValueError,
        "mixed_loss: expected reduction to be one of 'mean' | 'weighted_mean' | 'sum' | "
        "'none', got 'avg'",
    ),
    (
        "loss_mixed_logits",
        lambda: MIXED.loss(torch.zeros(12, 2), model=NET),
        ValueError,
        "mixed_loss: expected logits of shape (12, 3), got (12, 2)",
    ),
    (
        "loss_clean_logits_shape",
        lambda: MIXED.loss(NET(MIXED.inputs), model=relu_mlp(5, 4, bias=True)),
        ValueError,
        "MixupETerm: expected clean logits model(mixed.source) of shape (12, 3) "
        "(the shape of the targets), got (12, 4)",
    ),
    (
        "loss_clean_logits_type",
        lambda: MIXED.loss(NET(MIXED.inputs), model=lambda v: {"logits": NET(v)}),  # type: ignore[arg-type,return-value]
        TypeError,
        "MixupETerm: expected model(x) to return a torch.Tensor of logits, got {'logits'",
    ),
    (
        "loss_x_bar_shape",
        lambda: (lambda mixed: mixed.loss(NET(mixed.inputs), model=NET))(E1(XT, YT)),
        ValueError,
        "MixupETerm: expected x_bar of shape (5,) (one sample of the batch), "
        "got x_bar of shape (4,)",
    ),
    (
        "scores_v1_not_a_tensor",
        lambda: E1.mixupe.scores(NET, [1, 2], torch.zeros(2, 3)),
        ValueError,
        "mixupe_scores: expected a floating-point tensor batch for version=1 "
        "(it differentiates in x), got [1, 2] (list)",
    ),
    (
        "scores_task",
        lambda: T3.scores(NET, XT, torch.zeros(12, 3), task="ranking"),
        ValueError,
        "mixupe_scores: expected task to be one of 'multiclass' | 'multilabel' | "
        "'regression', got 'ranking'",
    ),
    (
        "scores_model",
        lambda: T3.scores(None, XT, torch.zeros(12, 3)),  # type: ignore[arg-type]
        TypeError,
        "mixupe_scores: expected model to be callable (an nn.Module), got None (NoneType)",
    ),
    (
        "scores_version",
        lambda: mixkit.functional.mixupe_scores(NET, XT, torch.zeros(12, 3), version=2),
        ValueError,
        "mixupe_scores: expected version to be 1 or 3, got 2",
    ),
    (
        "mean_input_not_iterable",
        lambda: mean_input(5),  # type: ignore[arg-type]
        TypeError,
        "mean_input: expected an iterable of batches (a DataLoader), got 5 (int)",
    ),
    (
        "mean_input_empty",
        lambda: mean_input([]),
        ValueError,
        "mean_input: expected at least one non-empty batch, got an empty iterable",
    ),
    (
        "mean_input_no_samples",
        lambda: mean_input([M[:0]]),
        ValueError,
        "mean_input: expected at least one non-empty batch, got 0",
    ),
    (
        "mean_input_integer",
        lambda: mean_input([torch.zeros(2, 3, dtype=torch.uint8)]),
        ValueError,
        "mean_input: expected batches of floating-point inputs (B, ...) as the model sees "
        "them, got a torch.uint8 tensor of shape (2, 3) on cpu in batch 0",
    ),
    (
        "mean_input_shapes",
        lambda: mean_input([M, torch.zeros(2, 4)]),
        ValueError,
        "mean_input: expected every batch with floating samples of shape (3,) (from batch 0), "
        "got a torch.float32 tensor of shape (2, 4) on cpu in batch 1",
    ),
    (
        "mean_input_dict_without_key",
        lambda: mean_input([{"a": M}]),
        ValueError,
        "mean_input: expected key naming the inputs of a dict batch (one of 'a'), got None",
    ),
    (
        "mean_input_dict_wrong_key",
        lambda: mean_input([{"a": M}], key="b"),
        ValueError,
        "mean_input: expected key naming the inputs of a dict batch (one of 'a'), got 'b'",
    ),
    (
        "mean_input_index",
        lambda: mean_input([(M, M)], key=2),
        ValueError,
        "mean_input: expected key to be an index into batches of 2 items, got 2",
    ),
    (
        "mean_input_tensor_with_key",
        lambda: mean_input([M], key="a"),
        ValueError,
        "mean_input: expected batches that can be indexed by key='a', got a tensor in batch 0",
    ),
    (
        "mean_input_not_a_tensor",
        lambda: mean_input([("a", M)]),
        TypeError,
        "mean_input: expected a tensor of inputs in each batch, got 'a' (str) in batch 0",
    ),
    (
        "mean_input_batch_type",
        lambda: mean_input([3.0]),
        ValueError,
        "mean_input: expected batches as tensors, tuples or dicts, got 3.0 (float) in batch 0",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, error, message, id=name) for name, call, error, message in CASES_BAD],
)
def test_bad_input(call: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


# -- mean_input -----------------------------------------------------------------------------


def test_mean_input_over_batches_of_every_form() -> None:
    g = torch.Generator().manual_seed(0)
    data = torch.randn(10, 3, 4, 4, generator=g)
    labels = torch.arange(10)
    expected = data.double().mean(dim=0).float()
    chunks = [data[:4], data[4:7], data[7:]]  # unequal batch sizes: every sample counts once
    torch.testing.assert_close(mean_input(chunks), expected)
    torch.testing.assert_close(
        mean_input(zip(chunks, labels.split([4, 3, 3]), strict=True)), expected
    )
    torch.testing.assert_close(
        mean_input([{"pixel_values": c, "labels": c[:, 0]} for c in chunks], key="pixel_values"),
        expected,
    )
    torch.testing.assert_close(mean_input([(labels, c) for c in chunks], key=1), expected)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, labels), batch_size=3)
    torch.testing.assert_close(mean_input(loader), expected)
    half = mean_input([c.half() for c in chunks])
    assert half.dtype == torch.float16 and half.shape == (3, 4, 4)
    # the x_bar of MixupE version 1
    mixer = MixUpE(num_classes=10, version=1, x_bar=mean_input(loader))
    x_bar = mixer.mixupe.x_bar
    assert x_bar is not None and torch.equal(x_bar, mean_input(loader))


# -- the examples ---------------------------------------------------------------------------


def run_example(name: str, out: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000
    return result.stdout


@pytest.mark.slow
def test_mixupe_curves_example(tmp_path: Path) -> None:
    stdout = run_example("mixupe_curves.py", tmp_path / "curves.png")
    for method in ("MixUp", "MixUpE v3 eta=0.001", "MixUpE v3 eta=0.1", "MixUpE v1 eta=0.1"):
        assert re.search(rf"{re.escape(method)}\s+final train loss [\d.]+ test loss [\d.]+", stdout)


@pytest.mark.slow
def test_overtraining_switch_example(tmp_path: Path) -> None:
    stdout = run_example("overtraining_switch.py", tmp_path / "switch.png")
    for method in ("ERM", "MixUp", "MixUp + AutoSwitch"):
        assert re.search(
            rf"{re.escape(method)}\s+final test MSE [\d.]+ \(best [\d.]+ at step \d+\)", stdout
        )
    assert re.search(r"AutoSwitch: (mixing switched off at step \d+|never switched off)", stdout)


def test_mixupe_refuses_a_mixer_without_beta_lam() -> None:
    message = (
        "expected a mixer that draws lam from Beta(alpha, alpha) with alpha > 0 for a MixupETerm "
        "(its weight 1 - m = alpha / (2 alpha + 1) is 0 at alpha = 0), got alpha=0.0"
    )
    with pytest.raises(ValueError, match=re.escape("MixUpE: " + message)):
        MixUpE(alpha=0.0, num_classes=3)
    with pytest.raises(ValueError, match=re.escape("CutMix: " + message)):
        CutMix(alpha=0.0, num_classes=3, term=MixupETerm())
