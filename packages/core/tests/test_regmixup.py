"""RegMixup: the term's value and gradient, reductions, tasks, identity, state, repr, errors,
and the conformance suite on the preset."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as TF
from torch import Tensor, nn

import mixkit
from mixkit import CutMix, Mixed, MixParams, MixUp, OffAfter, RegMixup, RegMixupTerm
from mixkit.testing import MixerCase, parametrize_with_checks, run_check

# -- helpers --------------------------------------------------------------------------------


def mlp(d: int, c: int, *, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, c)).double()


def tabular(b: int = 12, d: int = 5, c: int = 3, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=g, dtype=torch.float64)
    return x, torch.randint(0, c, (b,), generator=g)


def images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 5, (6,), generator=g)


def grads(loss: Tensor, model: nn.Module) -> list[Tensor]:
    return list(torch.autograd.grad(loss, list(model.parameters())))


def reference(model: nn.Module, mixed: Mixed, eta: float) -> Tensor:
    """The paper's loss for integer labels, mean reduction: CE(clean) + eta * mixup CE."""
    clean = TF.cross_entropy(model(mixed.source), mixed.y_a)
    logits = model(mixed.inputs)
    lam = mixed.lam.to(logits.dtype)
    mix = lam * TF.cross_entropy(logits, mixed.y_a, reduction="none") + (
        1 - lam
    ) * TF.cross_entropy(logits, mixed.y_b, reduction="none")
    return clean + eta * mix.mean()


class Counting(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        out: Tensor = self.model(x)
        return out


# -- the value, by hand ---------------------------------------------------------------------


def test_loss_value_computed_by_hand() -> None:
    # f(x) = x (an identity linear map), two samples, two classes, lam = 0.75, partners swapped
    model = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    mixer = RegMixup(eta=0.5, num_classes=2)
    params = MixParams(index=torch.tensor([1, 0]), lam=torch.tensor([0.75, 0.75]))
    mixed = mixer.mix(x, y, params)
    # mixed inputs: 0.75 x_i + 0.25 x_j
    torch.testing.assert_close(
        mixed.inputs, torch.tensor([[0.75, 0.5], [0.25, 1.5]], dtype=torch.float64)
    )

    def ce(z: tuple[float, float], k: int) -> float:  # log-sum-exp minus the true logit
        return math.log(math.exp(z[0]) + math.exp(z[1])) - z[k]

    clean = (ce((1.0, 0.0), 0) + ce((0.0, 2.0), 1)) / 2
    mix = (
        0.75 * ce((0.75, 0.5), 0) + 0.25 * ce((0.75, 0.5), 1)
        + 0.75 * ce((0.25, 1.5), 1) + 0.25 * ce((0.25, 1.5), 0)
    ) / 2  # fmt: skip
    expected = clean + 0.5 * mix
    loss = mixed.loss(model(mixed.inputs), model=model)
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-12)
    # by hand: clean (0.31326 + 0.12693) / 2 = 0.22010; mixed (0.63843 + 0.56442) / 2 = 0.60142
    assert math.isclose(expected, 0.22010 + 0.5 * 0.60142, rel_tol=2e-5)


@pytest.mark.parametrize("eta", [1.0, 0.3, 0.0])
def test_loss_and_gradient_match_the_papers_loss(eta: float) -> None:
    x, y = tabular()
    model = mlp(5, 3)
    mixer = RegMixup(alpha=20.0, eta=eta, num_classes=3, generator=torch.Generator().manual_seed(0))
    mixed = mixer(x, y)
    assert mixed.applied and mixed.alpha == 20.0
    loss = mixed.loss(model(mixed.inputs), model=model)
    expected = reference(model, mixed, eta)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    ours = grads(loss, model)
    for a, b in zip(ours, grads(expected, model), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # it is not the mixup gradient: the clean cross-entropy is in it
    plain = grads(mixkit.mixed_loss(model(mixed.inputs), mixed), model)
    assert max(float((a - b).abs().max()) for a, b in zip(ours, plain, strict=True)) > 1e-3


def test_the_gradient_of_a_linear_model_in_closed_form() -> None:
    # f(x) = W x: dCE(Wx, y)/dW = (softmax(Wx) - onehot(y)) x^T
    x, y = tabular(b=8, d=4)
    model = nn.Linear(4, 3, bias=False).double()
    mixer = RegMixup(eta=2.0, num_classes=3, generator=torch.Generator().manual_seed(1))
    mixed = mixer(x, y)
    (ours,) = torch.autograd.grad(mixed.loss(model(mixed.inputs), model=model), model.weight)
    w = model.weight.detach()
    p_clean = torch.softmax(x @ w.T, dim=1)
    clean = (p_clean - TF.one_hot(y, 3).double()).T @ x / 8
    xm = mixed.inputs
    lam = mixed.lam.double()[:, None]
    targets = lam * TF.one_hot(y, 3) + (1 - lam) * TF.one_hot(mixed.y_b, 3)
    mix = (torch.softmax(xm @ w.T, dim=1) - targets).T @ xm / 8
    torch.testing.assert_close(ours, clean + 2.0 * mix, rtol=1e-10, atol=1e-12)


# -- reductions, weights, smoothing, tasks ---------------------------------------------------


def test_reductions_and_num_samples() -> None:
    x, y = tabular()
    model = mlp(5, 3)
    mixer = RegMixup(eta=0.7, num_classes=3, generator=torch.Generator().manual_seed(0))
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    clean = TF.cross_entropy(model(x), y, reduction="none")
    mix = mixkit.mixed_loss(logits, mixed, reduction="none")
    per_sample = mixed.loss(logits, model=model, reduction="none")
    torch.testing.assert_close(per_sample, clean + 0.7 * mix)
    torch.testing.assert_close(
        mixed.loss(logits, model=model, reduction="sum"), (clean + 0.7 * mix).sum()
    )
    torch.testing.assert_close(
        mixed.loss(logits, model=model, num_samples=48), (clean + 0.7 * mix).sum() / 48
    )
    torch.testing.assert_close(
        mixed.loss(logits, model=model, reduction="weighted_mean"), (clean + 0.7 * mix).mean()
    )


def test_local_weights_weigh_the_mixed_part_only() -> None:
    x, y = tabular(b=16)
    model = mlp(5, 3)
    mixer = MixUp(
        num_classes=3,
        weighting=mixkit.LocalWeights(eps=2.5),
        term=RegMixupTerm(eta=1.0),
        generator=torch.Generator().manual_seed(0),
    )
    mixed = mixer(x, y)
    assert 0.0 < float(mixed.weights.sum()) < 16.0  # some pairs dropped, some kept
    logits = model(mixed.inputs)
    clean = TF.cross_entropy(model(x), y, reduction="none")
    for reduction in ("mean", "weighted_mean"):
        mix = mixkit.mixed_loss(logits, mixed, reduction=reduction)
        torch.testing.assert_close(
            mixed.loss(logits, model=model, reduction=reduction), clean.mean() + mix
        )


def test_the_clean_part_is_smoothed_as_the_mixer_smooths() -> None:
    x, y = tabular()
    model = mlp(5, 3)
    mixer = RegMixup(num_classes=3, label_smoothing=0.1, generator=torch.Generator().manual_seed(0))
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    expected = TF.cross_entropy(model(x), y, label_smoothing=0.1) + mixkit.mixed_loss(logits, mixed)
    torch.testing.assert_close(mixed.loss(logits, model=model), expected)
    torch.testing.assert_close(
        RegMixupTerm.clean_targets(mixed), TF.one_hot(y, 3).float() * 0.9 + 0.1 / 3
    )


def test_multilabel_and_regression_use_their_own_clean_loss() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    multi = (torch.rand(6, 3, generator=g) > 0.5).double()
    values = torch.randn(6, 2, generator=g, dtype=torch.float64)
    for task, y, out in (("multilabel", multi, 3), ("regression", values, 2)):
        model = nn.Linear(4, out).double()
        mixer = RegMixup(task=task, eta=0.5, generator=torch.Generator().manual_seed(0))
        mixed = mixer(x, y)
        logits = model(mixed.inputs)
        if task == "multilabel":
            clean = TF.binary_cross_entropy_with_logits(model(x), y)
        else:
            clean = TF.mse_loss(model(x), y)
        expected = clean + 0.5 * mixkit.mixed_loss(logits, mixed)
        loss = mixed.loss(logits, model=model)
        torch.testing.assert_close(loss, expected.to(loss.dtype), rtol=1e-6, atol=1e-7)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_the_term_in_another_mixers_slot() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = images(g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
    mixer = CutMix(num_classes=5, term=RegMixupTerm(eta=0.5), generator=g)
    mixed = mixer(x, y)
    logits = model(mixed.inputs)
    expected = TF.cross_entropy(model(x), y) + 0.5 * mixkit.mixed_loss(logits, mixed)
    torch.testing.assert_close(mixed.loss(logits, model=model), expected)


# -- identity: nothing mixed, nothing added -------------------------------------------------


def test_when_nothing_is_mixed_the_loss_is_the_clean_cross_entropy_in_one_pass() -> None:
    x, y = tabular()
    model = Counting(mlp(5, 3))
    for setup in ("eval", "disabled", "schedule"):
        mixer = RegMixup(num_classes=3, eta=0.5)
        if setup == "eval":
            mixer.eval()
        elif setup == "disabled":
            mixer.enabled = False
        else:
            mixer = RegMixup(num_classes=3, eta=0.5, schedule=OffAfter(epoch=1))
            mixer.set_epoch(1)
        mixed = mixer(x, y)
        assert not mixed.applied and mixed.inputs is x
        model.calls = 0
        loss = mixed.loss(model(mixed.inputs), model=model)
        assert model.calls == 1, setup  # no extra clean pass
        torch.testing.assert_close(loss, TF.cross_entropy(model(x), y))
        # and without model=: nothing to run, the plain loss
        torch.testing.assert_close(mixed.loss(model(x)), TF.cross_entropy(model(x), y))


def test_the_loss_runs_the_model_on_the_mixed_and_the_clean_batch() -> None:
    x, y = tabular()
    seen: list[Tensor] = []
    model = Counting(mlp(5, 3))
    model.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    mixed = RegMixup(num_classes=3, generator=torch.Generator().manual_seed(0))(x, y)
    mixed.loss(model(mixed.inputs), model=model)
    assert model.calls == 2 and seen[0] is mixed.inputs and seen[1] is x


# -- the preset, state, copies, repr --------------------------------------------------------


def test_the_preset_is_mixup_with_beta_20_and_the_term() -> None:
    x, y = torch.randn(6, 3, 8, 8), torch.arange(6) % 5
    preset = RegMixup(num_classes=5, generator=torch.Generator().manual_seed(3))
    plain = MixUp(alpha=20.0, num_classes=5, generator=torch.Generator().manual_seed(3))
    a, b = preset(x, y), plain(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert isinstance(a.term, RegMixupTerm) and a.term is preset.term and b.term is None
    assert preset.alpha == 20.0 and a.term.eta == 1.0
    lam = torch.cat([preset(x, y).lam[:1] for _ in range(200)])
    # Beta(20, 20): mean 1/2, standard deviation 1 / (2 sqrt(41)) = 0.078
    assert abs(float(lam.mean()) - 0.5) < 0.02 and abs(float(lam.std()) - 0.078) < 0.015


def test_state_round_trip_and_copies() -> None:
    x, y = tabular()
    mixer = RegMixup(eta=0.25, num_classes=3, generator=torch.Generator().manual_seed(0))
    mixer(x, y)
    state = mixer.state_dict()
    assert state["_extra_state"]["strategies"]["term"] == {}  # nothing learnt, nothing saved
    other = RegMixup(eta=0.25, num_classes=3, generator=torch.Generator().manual_seed(9))
    other.load_state_dict(state)
    twin = copy.deepcopy(mixer)
    a, b, c = mixer(x, y), other(x, y), twin(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.inputs, c.inputs)
    assert isinstance(c.term, RegMixupTerm) and c.term is not mixer.term and c.term.eta == 0.25
    # a mixer without a term takes the (empty) state too: nothing would be dropped
    MixUp(alpha=20.0, num_classes=3).load_state_dict(state)


def test_repr() -> None:
    assert repr(RegMixup()) == (
        "RegMixup(eta=1.0, alpha=20.0, mode='batch', p=1.0, num_classes=None)"
    )
    assert repr(RegMixup(alpha=10.0, eta=0.5, num_classes=100, label_smoothing=0.1)) == (
        "RegMixup(eta=0.5, alpha=10.0, mode='batch', p=1.0, num_classes=100, label_smoothing=0.1)"
    )
    assert repr(RegMixupTerm()) == "RegMixupTerm(eta=1.0)"
    assert repr(CutMix(num_classes=10, term=RegMixupTerm(eta=2.0))) == (
        "CutMix(alpha=1.0, mode='batch', p=1.0, num_classes=10, term=RegMixupTerm(eta=2.0))"
    )


# -- the conformance suite ------------------------------------------------------------------

CASES = [
    MixerCase("regmixup", lambda g: RegMixup(num_classes=5, generator=g), images),
    MixerCase(
        "regmixup-elem-smoothed",
        lambda g: RegMixup(
            alpha=10.0, eta=0.5, mode="elem", label_smoothing=0.1, num_classes=5, generator=g
        ),
        images,
    ),
    MixerCase(
        "regmixup-term-cutmix",
        lambda g: CutMix(num_classes=5, term=RegMixupTerm(), generator=g),
        images,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


# -- bad input ------------------------------------------------------------------------------

XT, YT = tabular()
NET = mlp(5, 3)
MIXED = RegMixup(num_classes=3, generator=torch.Generator().manual_seed(0))(XT, YT)

# (id, call, exception type, the exact message)
CASES_BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "loss_without_model",
        lambda: MIXED.loss(NET(MIXED.inputs)),
        ValueError,
        "Mixed.loss: expected model= (the mixer's RegMixupTerm runs the model on the clean "
        "batch), got model=None",
    ),
    (
        "term_called_without_model",
        lambda: RegMixupTerm()(
            torch.tensor(1.0), MIXED, NET(MIXED.inputs), None, reduction="mean", num_samples=None
        ),
        ValueError,
        "RegMixupTerm: expected model= to run on the clean batch, got model=None",
    ),
    (
        "eta_negative",
        lambda: RegMixupTerm(eta=-1.0),
        ValueError,
        "RegMixupTerm: expected eta >= 0, got -1.0",
    ),
    (
        "eta_nan",
        lambda: RegMixup(eta=math.nan),
        ValueError,
        "RegMixupTerm: expected a finite eta >= 0, got nan",
    ),
    (
        "eta_string",
        lambda: RegMixupTerm(eta="1"),  # type: ignore[arg-type]
        TypeError,
        "RegMixupTerm: expected eta to be a real number, got '1' (str)",
    ),
    (
        "preset_with_term",
        lambda: RegMixup(term=RegMixupTerm()),
        ValueError,
        "RegMixup: expected no term argument (RegMixup's term is RegMixupTerm; use "
        "MixUp(term=...) instead), got term=RegMixupTerm(eta=1.0)",
    ),
    (
        "preset_alpha",
        lambda: RegMixup(alpha=-1.0),
        ValueError,
        "RegMixup: expected alpha >= 0, got -1.0",
    ),
    (
        "clean_logits_shape",
        lambda: MIXED.loss(NET(MIXED.inputs), model=mlp(5, 4)),
        ValueError,
        "RegMixupTerm: expected clean logits model(mixed.source) of shape (12, 3) "
        "(the shape of the targets), got (12, 4)",
    ),
    (
        "clean_logits_type",
        lambda: MIXED.loss(NET(MIXED.inputs), model=lambda v: {"logits": NET(v)}),  # type: ignore[arg-type,return-value]
        TypeError,
        "RegMixupTerm: expected model(x) to return a torch.Tensor of logits, got {'logits'",
    ),
    (
        "loss_model_not_callable",
        lambda: MIXED.loss(NET(MIXED.inputs), model=3),  # type: ignore[arg-type]
        TypeError,
        "Mixed.loss: expected model to be callable (an nn.Module), got 3 (int)",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [case[1:] for case in CASES_BAD],
    ids=[case[0] for case in CASES_BAD],
)
def test_bad_input_is_refused_with_its_message(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        call()
