"""Mixing inside a model (ModuleMix, MixStep): Manifold Mixup's exact computation, one draw per
step, every strategy applying on the tensor being mixed, identity in eval mode, clean removal."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

import mixkit
from mixkit import functional as F


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Net(nn.Module):
    """A small ResNet-style CNN with named stages."""

    def __init__(self, classes: int = 5, *, checkpointed: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
        self.layer2 = nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))
        self.checkpointed = checkpointed

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x)
        h = h + self.layer1(h)
        block = self.layer2
        h = checkpoint(block, h, use_reentrant=False) if self.checkpointed else block(h)
        out: Tensor = self.head(h)
        return out

    def by_hand(self, x: Tensor, site: str, params: mixkit.MixParams) -> Tensor:
        """The same forward with the site's output mixed explicitly by the kernel."""

        def mixed(t: Tensor) -> Tensor:
            return F.mix(t, params.index, params.lam)

        x = mixed(x) if site == "input" else x
        h = self.stem(x)
        r = self.layer1(h)
        h = h + (mixed(r) if site == "layer1" else r)
        h = self.layer2(h)
        h = mixed(h) if site == "layer2" else h
        out: Tensor = self.head(h)
        return out


def batch(n: int = 8, seed: int = 1) -> tuple[Tensor, Tensor]:
    gen = g(seed)
    return torch.randn(n, 3, 8, 8, generator=gen), torch.randint(0, 5, (n,), generator=gen)


def manifold(model: nn.Module, **kwargs: object) -> mixkit.ModuleMix:
    mixer = kwargs.pop("mixer", None) or mixkit.MixUp(alpha=2.0, num_classes=5, generator=g(0))
    at = kwargs.pop("at", ["input", "layer1", "layer2"])
    return mixkit.ModuleMix(mixer, model, at=at, generator=g(1), **kwargs)  # type: ignore[arg-type]


def test_each_site_is_mixed_exactly_as_by_hand_and_the_loss_uses_its_targets() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model)
    seen = set()
    for _ in range(12):
        with mixing.step(y) as step:
            logits = model(x)
        site = mixing.site
        assert isinstance(site, str)
        seen.add(site)
        mixed = step.result("test")
        assert step.calls == 1 and mixed.applied
        torch.testing.assert_close(logits, model.by_hand(x, site, mixed.params))
        expected = F.mix_one_hot(y, mixed.index, mixed.lam, 5)
        torch.testing.assert_close(mixed.targets, expected)
        reference = F.soft_cross_entropy(logits, expected).mean()
        torch.testing.assert_close(mixed.loss(logits), reference)
    assert seen == {"input", "layer1", "layer2"}


def test_gradients_flow_through_both_sources_of_a_hidden_mix() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model, at=["layer2"])
    with mixing.step(y) as step:
        logits = model(x)
    step.result("test").loss(logits).backward()
    assert model.stem.weight.grad is not None
    assert float(model.stem.weight.grad.abs().sum()) > 0


def test_one_draw_per_step_from_its_own_generator_with_probabilities() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model, p=[0.0, 1.0, 3.0])
    sites = []
    for _ in range(40):
        with mixing.step(y):
            model(x)
        sites.append(mixing.site)
    assert "input" not in sites and sites.count("layer2") > sites.count("layer1") > 0
    twin = manifold(Net(), p=[0.0, 1.0, 3.0])
    again = []
    for _ in range(40):
        with twin.step(y):
            twin.model(x)
        again.append(twin.site)
    assert again == sites


def test_every_tensor_of_a_step_gets_the_same_partners_and_lam() -> None:
    # a shared module called twice, and a gradient-checkpointed block recomputed in backward
    shared = nn.Linear(6, 6)

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shared = shared

        def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
            return self.shared(a), self.shared(b)

    model = Twice()
    mixer = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=3, generator=g(0))
    mixing = mixkit.ModuleMix(mixer, model, at="shared")
    a, b, y = torch.randn(5, 6), torch.randn(5, 6), torch.tensor([0, 1, 2, 0, 1])
    with mixing.step(y) as step:
        out_a, out_b = model(a, b)
    assert step.calls == 2
    params = step.result("test").params
    torch.testing.assert_close(out_a, F.mix(shared(a), params.index, params.lam))
    torch.testing.assert_close(out_b, F.mix(shared(b), params.index, params.lam))


def test_gradient_checkpointing_recomputes_the_same_mix() -> None:
    # the recomputation runs in backward: backward inside the step's block
    x, y = batch()
    plain, ckpt = Net(), Net(checkpointed=True)
    grads = []
    for model in (plain, ckpt):
        mixing = manifold(model, at=["layer2"])
        with mixing.step(y) as step:
            logits = model(x)
            step.result("test").loss(logits).backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
        assert step.calls == (2 if model.checkpointed else 1)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_pairings_and_weightings_measure_the_tensor_being_mixed() -> None:
    model, (x, y) = Net(), batch(16)
    mixer = mixkit.MixUp(
        num_classes=5,
        pairing=mixkit.OTPairing(k=4),
        weighting=mixkit.LocalWeights(eps=4.0),
        generator=g(0),
    )
    mixing = mixkit.ModuleMix(mixer, model, at="layer2")
    with mixing.step(y) as step:
        model(x)
    hidden = model.layer2(model.stem(x) + model.layer1(model.stem(x))).detach()
    reference = mixkit.MixUp(
        num_classes=5,
        pairing=mixkit.OTPairing(k=4),
        weighting=mixkit.LocalWeights(eps=4.0),
        generator=g(0),
    )(hidden, y)
    mixed = step.result("test")
    assert torch.equal(mixed.index, reference.index)
    assert torch.equal(mixed.weights, reference.weights)


def test_params_drawn_beforehand_are_applied() -> None:
    model, (x, y) = Net(), batch()
    mixer = mixkit.MixUp(num_classes=5, generator=g(0))
    mixing = mixkit.ModuleMix(mixer, model, at="layer1")
    params = mixer.draw(x, lam=0.25)
    with mixing.step(y, params=params) as step:
        logits = model(x)
    assert torch.equal(step.result("test").params.index, params.index)
    torch.testing.assert_close(logits, model.by_hand(x, "layer1", params))


def test_eval_mode_and_schedules_switched_off_are_the_identity() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model)
    model.eval()
    with mixing.step(y) as step:
        logits = model(x)
    assert not step.result("test").applied
    torch.testing.assert_close(logits, model(x))
    params = mixing.mixer.draw(x, lam=0.25)  # parameters drawn beforehand change nothing
    with mixing.step(y, params=params) as step:
        logits = model(x)
    assert not step.result("test").applied
    torch.testing.assert_close(logits, model(x))
    model.train()
    off = mixkit.MixUp(num_classes=5, schedule=mixkit.OffAfter(epoch=1))
    off.set_epoch(1)
    with manifold(model, mixer=off).step(y) as step:
        logits = model(x)
    assert not step.result("test").applied
    torch.testing.assert_close(logits, model(x))


def test_input_by_keyword_and_removal() -> None:
    class Keyword(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, *, features: Tensor) -> Tensor:
            out: Tensor = self.lin(features)
            return out

    model, x, y = Keyword(), torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    mixer = mixkit.MixUp(num_classes=3, generator=g(0))
    with mixkit.ModuleMix(mixer, model, at="input", input_key="features") as mixing:
        with mixing.step(y) as step:
            logits = model(features=x)
        params = step.result("test").params
        torch.testing.assert_close(logits, model.lin(F.mix(x, params.index, params.lam)))
    torch.testing.assert_close(model(features=x), model.lin(x))  # hooks gone
    with pytest.raises(ValueError, match=re.escape("ModuleMix.step: expected hooks in place")):
        mixing.step(y)


def test_state_dict_resumes_the_same_sites_and_draws() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model)
    for _ in range(3):
        with mixing.step(y):
            model(x)
    state = copy.deepcopy(mixing.state_dict())
    first = []
    for _ in range(4):
        with mixing.step(y) as step:
            model(x)
        first.append((mixing.site, step.result("test").inputs.clone()))
    mixing.load_state_dict(state)
    for site, inputs in first:
        with mixing.step(y) as step:
            model(x)
        assert mixing.site == site and torch.equal(step.result("test").inputs, inputs)


def test_repr() -> None:
    mixing = manifold(Net(), at=["input", "layer2"])
    assert repr(mixing) == (
        "ModuleMix(MixUp(alpha=2.0, mode='batch', p=1.0, num_classes=5), at=['input', "
        "'layer2'], p=[0.5, 0.5])"
    )


MODEL = Net()


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (
            lambda: mixkit.ModuleMix(mixkit.MixUpE(num_classes=5), MODEL, at="layer1"),
            ValueError,
            "ModuleMix: expected a mixer without an extra loss term (MixupE's clean pass needs "
            "the network from the mixed tensor to the logits; mix the input, or pooled features "
            "with mixkit_pyg.PooledMix and the head as model), got MixupETerm(eta=0.001, "
            "tau=1.0, version=3)",
        ),
        (
            lambda: mixkit.ModuleMix("mixup", MODEL, at="layer1"),  # type: ignore[arg-type]
            TypeError,
            "ModuleMix: expected mixer to be a mixkit mixer (MixUp, CutMix, ...), got 'mixup' "
            "(str)",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), MODEL, at="layer9"),
            ValueError,
            "ModuleMix: expected at to name submodules of the model (stem, layer1, layer1.0, "
            "layer1.1, layer2, layer2.0, layer2.1, layer2.2, head, head.0, head.1, head.2), got "
            "'layer9'",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), MODEL, at=[nn.Linear(2, 2)]),
            ValueError,
            "ModuleMix: expected at to hold submodules of the model, got Linear(in_features=2, "
            "out_features=2, bias=True) (Linear)",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), MODEL, at=[]),
            ValueError,
            "ModuleMix: expected at least one site in at, got none",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), MODEL, at=["stem"], p=[0.5, 0.5]),
            ValueError,
            "ModuleMix: expected p with one probability per site (1), got 2 values",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), MODEL, at=["stem"], p=[float("nan")]),
            ValueError,
            "ModuleMix: expected p of finite non-negative values with a positive sum, got [nan]",
        ),
        (
            lambda: mixkit.ModuleMix(mixkit.MixUp(), "net", at="stem"),  # type: ignore[arg-type]
            TypeError,
            "ModuleMix: expected model to be a torch.nn.Module, got 'net' (str)",
        ),
        (
            lambda: mixkit.MixStep(mixkit.MixUp(), torch.zeros(2)).result("MyLoop"),
            ValueError,
            "MyLoop: expected the model to run the module chosen for mixing in this step, got "
            "no call",
        ),
    ],
)
def test_bad_input(call: object, kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        call()  # type: ignore[operator]


def test_a_second_step_before_the_first_ends_is_refused_and_outputs_must_be_tensors() -> None:
    model, (x, y) = Net(), batch()
    mixing = manifold(model, at=["head"])
    with (
        mixing.step(y),
        pytest.raises(ValueError, match=re.escape("ModuleMix.step: expected one step at a")),
    ):
        mixing.step(y)

    class Dict(nn.Module):
        def forward(self, x: Tensor) -> dict[str, Tensor]:
            return {"h": x}

    wrapper = nn.Sequential(Dict())
    weird = mixkit.ModuleMix(mixkit.MixUp(num_classes=5), wrapper, at="0")
    with (
        weird.step(y),
        pytest.raises(
            ValueError,
            match=re.escape(
                "ModuleMix: expected the module at '0' to return a tensor or a tuple starting with "
                "one, got {'h':"
            ),
        ),
    ):
        wrapper(x)
