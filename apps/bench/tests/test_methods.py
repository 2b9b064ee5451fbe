"""The methods' recipes and the training loop's one loss path, on the public core API."""

from __future__ import annotations

from typing import Any, get_args

import pytest
import torch
from torch import Tensor, nn

import mixkit
from mixkit_bench import METHODS
from mixkit_bench._methods import Context, build
from mixkit_bench._train import Recipe, Reduction, fit


class RecordingTerm(mixkit.LossTerm):
    """An extra loss term that records the model it is given and adds a clean-pass penalty."""

    def __init__(self) -> None:
        self.models: list[Any] = []
        self.sources: list[Tensor] = []

    def __call__(
        self,
        loss: Tensor,
        mixed: mixkit.Mixed,
        logits: Tensor,
        model: Any,
        *,
        reduction: str,
        num_samples: Tensor | float | None,
    ) -> Tensor:
        self.models.append(model)
        self.sources.append(mixed.source)
        return loss + 1e-3 * (model(mixed.source) ** 2).mean()


def _context() -> Context:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 5, generator=g), torch.arange(60) % 3
    return Context(num_classes=3, epochs=4, seed=0, local={"eps": 2.0}, fit_x=x, fit_y=y)


def test_the_reduction_type_is_the_cores_list() -> None:
    assert get_args(Reduction) == mixkit.functional.REDUCTIONS


def test_every_method_is_a_mixer_and_only_mixupe_and_regmixup_have_a_term() -> None:
    ctx = _context()
    assert build("ERM", ctx).mixer is None
    for method in METHODS:
        if method == "ERM":
            continue
        recipe = build(method, ctx)
        mixer = recipe.mixer
        inner = mixkit.iter_mixers(mixer)
        assert inner == [mixer], method  # one mixer, no wrapper: the loop needs none
        assert recipe.report_validation == (method == "MixUp, AutoSwitch"), method
        term = mixer.term
        if method == "MixupE":
            assert isinstance(term, mixkit.MixupETerm) and term.needs_model
            assert (term.eta, term.tau, term.version) == (1e-3, 1.0, 3)
            assert (mixer.alpha, mixer.num_classes) == (ctx.alpha, 3)
        elif method == "RegMixup":
            assert isinstance(term, mixkit.RegMixupTerm) and term.needs_model
            assert (term.eta, mixer.alpha, mixer.num_classes) == (1.0, 20.0, 3)  # the authors'
        else:
            assert term is None, method
    with pytest.raises(ValueError, match=r"expected a method among \['ERM'"):
        build("Nope", ctx)


def test_the_loop_takes_every_loss_through_mixed_loss_with_decode_as_the_model() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 5, generator=g), torch.arange(40) % 3
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    encoder, head = model[:2], model[2]
    term = RecordingTerm()
    mixer = mixkit.MixUp(num_classes=3, term=term, generator=torch.Generator().manual_seed(1))

    def batches(epoch: int) -> Any:
        return [(x[i : i + 10], y[i : i + 10]) for i in range(0, 40, 10)]

    def evaluate(m: nn.Module) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            return torch.log_softmax(m(x), dim=1), y

    before = [p.detach().clone() for p in model.parameters()]
    result = fit(
        model, batches, evaluate, Recipe(mixer), epochs=2, encode=encoder, decode=head
    )  # fmt: skip
    assert len(term.models) == 2 * 4  # every step, through mixed.loss(logits, model=decode)
    assert all(m is head for m in term.models)
    assert all(s.shape == (10, 8) for s in term.sources)  # the clean encoded batch
    assert result["mixed_epochs"] == [True, True]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_mixupe_trains_through_the_loop() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 5, generator=g), torch.arange(60) % 3
    x = x + 3.0 * nn.functional.one_hot(y, 5).float()  # separable classes
    ctx = _context()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))

    def batches(epoch: int) -> Any:
        return [(x[i : i + 20], y[i : i + 20]) for i in range(0, 60, 20)]

    def evaluate(m: nn.Module) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            return torch.log_softmax(m(x), dim=1), y

    result = fit(model, batches, evaluate, build("MixupE", ctx), epochs=30, lr=1e-2)
    assert result["accuracy"] > 0.9
    assert result["test_loss"][-1] < result["test_loss"][0]


def test_mixupe_runs_the_model_on_the_batch_it_takes_in_the_speech_domain() -> None:
    """The term's clean pass is ``model(mixed.source)``: with the speech domain's mixer
    (power-domain mixing of dB log-mels) the source must be the dB batch the CNN takes."""
    import mixkit_audio as ma

    ctx = Context(
        num_classes=10, epochs=2, seed=0, alpha=0.4,
        base=ma.SpectrogramMixUp, base_kwargs={"domain": "db"},
    )  # fmt: skip
    mixer = build("MixupE", ctx).mixer
    assert isinstance(mixer, ma.SpectrogramMixUp) and isinstance(mixer.term, mixkit.MixupETerm)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 1, 32, 101, generator=g) * 10.0 - 40.0
    y = torch.randint(0, 10, (6,), generator=g)
    mixed = mixer(x, y)
    assert mixed.applied and torch.equal(mixed.source, x)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(32 * 101, 10))
    logits = model(mixed.inputs)
    with pytest.raises(ValueError, match=r"Mixed\.loss: expected model= \(the mixer's MixupETerm"):
        mixed.loss(logits)
    loss = mixed.loss(logits, model=model)
    assert torch.isclose(loss, mixkit.mixed_loss(logits, mixed))  # the value: mixup's loss


def test_regmixup_with_the_default_base_is_the_cores_preset() -> None:
    ctx = _context()
    assert ctx.fit_x is not None
    x, y = ctx.fit_x[:16], ctx.fit_y[:16] if ctx.fit_y is not None else None
    ours = build("RegMixup", ctx).mixer
    preset = mixkit.RegMixup(num_classes=3, generator=torch.Generator().manual_seed(10_000))
    a, b = ours(x, y), preset(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    model = nn.Linear(5, 3)
    torch.testing.assert_close(
        a.loss(model(a.inputs), model=model), b.loss(model(b.inputs), model=model)
    )


def test_autoswitch_switches_mixing_off_when_the_validation_loss_stops_improving() -> None:
    """The loop reports the clean validation loss after every epoch; a loss that only rises
    switches mixing off after the warm-up and the patience (here 2 + 2 reports)."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 5, generator=g), torch.arange(60) % 3
    ctx = Context(num_classes=3, epochs=20, seed=0)
    recipe = build("MixUp, AutoSwitch", ctx)
    schedule = recipe.mixer.schedule
    assert isinstance(schedule, mixkit.AutoSwitch)
    assert (schedule.patience, schedule.warmup, schedule.smoothing) == (2, 2, 0.5)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    rising = iter(range(100))

    def evaluate(m: nn.Module) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            return torch.log_softmax(m(x), dim=1), y

    result = fit(
        model, lambda e: [(x[i : i + 20], y[i : i + 20]) for i in range(0, 60, 20)], evaluate,
        recipe, epochs=20, validate=lambda m: float(next(rising)),
    )  # fmt: skip
    assert schedule.switched_at == {"epoch": 3, "step": 12}  # after the 4th report
    assert result["switched_at"] == 4 and result["mixed_epochs"] == [True] * 4 + [False] * 16
    assert len(result["test_loss"]) == len(result["test_ece"]) == 20
    # no report, no switch: the same recipe without a validation loss mixes throughout
    again = fit(
        nn.Linear(5, 3), lambda e: [(x, y)], evaluate, build("MixUp, AutoSwitch", ctx),
        epochs=6,
    )  # fmt: skip
    assert again["switched_at"] is None and all(again["mixed_epochs"])
