"""The mixing hooks, called directly (no training loop): what the model receives and returns."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn.functional as TF
from hf_support import CleanPenalty, NearestPairing, Recording, args, tiny_vit, tiny_wav2vec2
from torch import Tensor, nn
from transformers import TrainerControl, TrainerState

import mixkit
from mixkit_transformers import MixUpCallback
from mixkit_transformers._outputs import mix_attention_mask


def install(cb: MixUpCallback, model: nn.Module, tmp_path: Path, **overrides: Any) -> None:
    cb.on_train_begin(args(tmp_path, **overrides), TrainerState(), TrainerControl(), model=model)


def received(model: nn.Module) -> list[dict[str, Any]]:
    """Every kwargs dict the model's forward gets after the callback's pre-hook."""
    calls: list[dict[str, Any]] = []
    model.register_forward_pre_hook(lambda m, a, kw: calls.append(dict(kw)), with_kwargs=True)
    return calls


def batch(n: int = 6, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 4, (n,), generator=g)


def test_training_calls_are_mixed_and_get_the_mixed_loss(
    tmp_path: Path, device: torch.device
) -> None:
    model, mixer = tiny_vit().to(device), Recording(alpha=1.0, mode="elem", num_classes=4)
    cb = MixUpCallback(mixer)
    install(cb, model, tmp_path)
    calls = received(model)
    x, y = (t.to(device) for t in batch())
    x0 = x.clone()
    out = model(pixel_values=x, labels=y)
    mixed = mixer.results[-1]
    assert torch.equal(x, x0), "the caller's batch was modified"
    assert "labels" not in calls[-1], "the labels reached the model"
    assert torch.equal(calls[-1]["pixel_values"], mixed.inputs)
    assert not torch.equal(mixed.inputs, x) and mixed.source is x
    torch.testing.assert_close(out.loss, mixed.loss(out.logits))
    assert next(iter(out.keys())) == "loss", "Trainer's outputs[0] must be the loss"
    out.loss.backward()
    assert model.config.problem_type is None, "the model inferred a problem_type from labels"


def test_evaluation_calls_are_untouched(tmp_path: Path) -> None:
    model, mixer = tiny_vit(), Recording(num_classes=4)
    install(MixUpCallback(mixer), model, tmp_path)
    calls = received(model)
    model.eval()
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    assert mixer.results == [], "the mixer was called at evaluation"
    assert calls[-1]["pixel_values"] is x and calls[-1]["labels"] is y
    torch.testing.assert_close(out.loss, TF.cross_entropy(out.logits, y))


def test_num_items_in_batch_normalises_over_the_accumulated_samples(
    tmp_path: Path, device: torch.device
) -> None:
    model, mixer = tiny_vit().to(device), Recording(num_classes=4)
    install(MixUpCallback(mixer), model, tmp_path)
    x, y = (t.to(device) for t in batch())
    out = model(pixel_values=x, labels=y, num_items_in_batch=torch.tensor(24, device=device))
    mixed = mixer.results[-1]
    expected = mixed.loss(out.logits, reduction="sum") / 24
    torch.testing.assert_close(out.loss, expected)


def test_tuple_outputs_and_plain_modules(tmp_path: Path) -> None:
    model, mixer = tiny_vit(), Recording(num_classes=4)
    install(MixUpCallback(mixer), model, tmp_path)
    x, y = batch()
    loss, logits = model(pixel_values=x, labels=y, return_dict=False)
    torch.testing.assert_close(loss, mixer.results[-1].loss(logits))

    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(64, 4)

        def forward(self, pixel_values: Tensor, labels: Tensor | None = None) -> Tensor:
            return self.head(pixel_values.flatten(1))

    plain, mixer2 = Plain(), Recording(num_classes=4)
    install(MixUpCallback(mixer2), plain, tmp_path)
    out = plain(pixel_values=x, labels=y)
    torch.testing.assert_close(out["loss"], mixer2.results[-1].loss(out["logits"]))


def test_audio_attention_mask_is_the_union_of_the_sources(
    tmp_path: Path, device: torch.device
) -> None:
    model = tiny_wav2vec2().to(device)
    mixer = Recording(mode="elem", p=0.7, num_classes=4)
    install(MixUpCallback(mixer), model, tmp_path)
    calls = received(model)
    lengths = torch.tensor([100, 256, 180, 120, 256, 90], device=device)
    mask = (torch.arange(256, device=device) < lengths.unsqueeze(1)).long()
    wave = torch.randn(6, 256, device=device) * mask
    y = torch.tensor([0, 1, 2, 3, 0, 1], device=device)
    model(input_values=wave, attention_mask=mask, labels=y)
    mixed = mixer.results[-1]
    got = calls[-1]["attention_mask"]
    for i in range(6):
        j = int(mixed.index[i])
        moved = bool(mixed.lam[i] < 1) and j != i  # (mixed.lam and .index live on the device)
        want = torch.maximum(mask[i], mask[j]) if moved else mask[i]
        assert torch.equal(got[i], want), i
    assert got.dtype == mask.dtype
    assert bool((mixed.lam < 1).any()) and bool((mixed.lam == 1).any())
    # a mask that is not aligned with the input is returned as it came
    other = mask[:, :10]
    assert mix_attention_mask(other, wave, mixed) is other


def test_missing_key_or_labels_are_named(tmp_path: Path) -> None:
    model = tiny_vit()
    install(MixUpCallback(mixkit.MixUp(num_classes=4)), model, tmp_path)
    x, y = batch()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected the training batch to hold the labels under 'labels' "
            "(Trainer pops them before the model when a compute_loss_func or "
            "label_smoothing_factor is set; the callback computes the loss itself), got keys "
            "['pixel_values']"
        ),
    ):
        model(pixel_values=x)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected the training batch to hold 'pixel_values' (with "
            "remove_unused_columns=True Trainer drops dataset columns the model's forward does "
            "not name, before any with_transform runs: set remove_unused_columns=False when a "
            "transform builds the key), got keys ['labels']"
        ),
    ):
        model(labels=y)


def test_float_labels_warn_about_evaluation(tmp_path: Path) -> None:
    model = tiny_vit()
    install(MixUpCallback(mixkit.MixUp()), model, tmp_path)
    x, _ = batch()
    soft = torch.softmax(torch.randn(6, 4), dim=1)
    with pytest.warns(UserWarning, match=re.escape("keep integer class labels in the dataset")):
        model(pixel_values=x, labels=soft)
    assert model.config.problem_type is None  # training never let the model see them


def test_draws_are_mixkits_reseed_of_seed_rank_step_and_micro_batch(tmp_path: Path) -> None:
    def make() -> mixkit.RandomChoice:  # three generators: the choice's and each mixer's
        return mixkit.RandomChoice(
            [mixkit.MixUp(mode="elem", num_classes=4), mixkit.CutMix(mode="elem", num_classes=4)]
        )

    model = tiny_vit()
    cb = MixUpCallback(make())
    install(cb, model, tmp_path)
    calls = received(model)
    x, y = batch()
    assert cb._hooks is not None and cb._seed is not None
    seed, cb._hooks.step = cb._seed, 5
    for _ in range(2):  # micro-batches 0 and 1 of step 5
        model(pixel_values=x, labels=y)

    def replay(rank: int, step: int, micro: int) -> Tensor:
        other = make()  # the same kind of mixer, its generators seeded otherwise
        mixkit.reseed(other, seed, rank, step, micro)
        out: Tensor = other(x, y).inputs
        return out

    assert torch.equal(calls[0]["pixel_values"], replay(0, 5, 0))
    assert torch.equal(calls[1]["pixel_values"], replay(0, 5, 1))
    for other in ((1, 5, 1), (0, 6, 1), (0, 5, 0)):
        assert not torch.equal(calls[1]["pixel_values"], replay(*other)), other


def test_ranks_draw_apart_unless_shared(tmp_path: Path) -> None:
    x, y = batch()

    def lam_on(rank: int, share: bool) -> Tensor:
        model, mixer = tiny_vit(), Recording(mode="elem", num_classes=4)
        cb = MixUpCallback(mixer, share_across_ranks=share)
        cb._seed = 7  # as if broadcast from rank 0
        install(cb, model, tmp_path)
        assert cb._hooks is not None
        cb._hooks.rank = 0 if share else rank  # what on_train_begin sets from process_index
        model(pixel_values=x, labels=y)
        return mixer.results[-1].lam

    assert not torch.equal(lam_on(0, False), lam_on(1, False))
    assert torch.equal(lam_on(0, True), lam_on(1, True))


def test_features_reach_the_pairing_without_gradient(tmp_path: Path) -> None:
    model, pairing = tiny_vit(), NearestPairing()
    seen: list[dict[str, Any]] = []

    def embed(module: nn.Module, inputs: Any) -> Tensor:
        seen.append(dict(inputs))
        out = module.vit(pixel_values=inputs["pixel_values"]).last_hidden_state[:, 0]
        assert not torch.is_grad_enabled()
        return out

    mixer = Recording(num_classes=4, pairing=pairing)
    install(MixUpCallback(mixer, features=embed), model, tmp_path)
    x, y = batch()
    model(pixel_values=x, labels=y)
    assert "labels" not in seen[-1] and seen[-1]["pixel_values"] is x
    with torch.no_grad():
        want = model.vit(pixel_values=x).last_hidden_state[:, 0]
    torch.testing.assert_close(pairing.seen[-1], want)
    d = torch.cdist(want, want).fill_diagonal_(float("inf"))
    assert torch.equal(mixer.results[-1].index, d.argmin(dim=1))


def test_remove_hooks_restores_the_plain_model(tmp_path: Path) -> None:
    model, mixer = tiny_vit(), Recording(num_classes=4)
    cb = MixUpCallback(mixer)
    install(cb, model, tmp_path)
    cb.remove_hooks()
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    assert mixer.results == []
    torch.testing.assert_close(out.loss, TF.cross_entropy(out.logits, y))


@pytest.mark.parametrize("preset", [False, True], ids=["term", "MixUpE"])
def test_mixupe_clean_pass_runs_through_the_model(tmp_path: Path, preset: bool) -> None:
    model = tiny_vit()
    results: list[mixkit.Mixed] = []
    if preset:
        mixer: mixkit.Mixer = mixkit.MixUpE(alpha=1.0, num_classes=4, eta=0.1)
        mixer.register_forward_hook(lambda m, a, out: results.append(out))
    else:
        mixer = Recording(alpha=1.0, num_classes=4, term=mixkit.MixupETerm(eta=0.1))
        results = mixer.results
    install(MixUpCallback(mixer), model, tmp_path)
    calls = received(model)
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    mixed = results[-1]
    assert len(calls) == 2, "expected the mixed call and MixupE's clean pass"
    assert torch.equal(calls[0]["pixel_values"], mixed.inputs)
    assert calls[1]["pixel_values"] is x and "labels" not in calls[1]
    # MixupE rescales so that the value is the mixup loss; the gradient carries its term
    plain = mixkit.mixed_loss(out.logits, mixed)
    torch.testing.assert_close(out.loss, plain)
    params = [p for p in model.parameters() if p.requires_grad]
    with_term = torch.autograd.grad(out.loss, params, retain_graph=True)
    without = torch.autograd.grad(plain, params)
    assert any(not torch.allclose(a, b) for a, b in zip(with_term, without, strict=True))


def test_any_loss_term_gets_the_model_and_the_accumulated_sample_count(tmp_path: Path) -> None:
    model, term = tiny_vit(), CleanPenalty(weight=0.5)
    mixer = Recording(num_classes=4, term=term)
    cb = MixUpCallback(mixer)
    install(cb, model, tmp_path)
    calls = received(model)
    x, y = batch()
    out = model(pixel_values=x, labels=y, num_items_in_batch=torch.tensor(12))
    assert len(term.clean_inputs) == 1 and torch.equal(term.clean_inputs[0], x)
    assert len(calls) == 2 and calls[1]["pixel_values"] is x
    mixed = mixer.results[-1]
    cb.remove_hooks()
    with torch.no_grad():
        clean = model(pixel_values=x).logits
    # the micro-batch's share (6 samples) of the loss of an accumulated batch of 12
    penalty = clean.pow(2).mean(dim=1).sum()
    expected = mixkit.mixed_loss(out.logits, mixed, num_samples=12) + 0.5 * penalty / 12
    torch.testing.assert_close(out.loss, expected)
    # a mixer without a term never runs the clean pass
    plain_model = tiny_vit()
    install(MixUpCallback(Recording(num_classes=4)), plain_model, tmp_path)
    plain_calls = received(plain_model)
    plain_model(pixel_values=x, labels=y)
    assert len(plain_calls) == 1


def test_a_mixer_wrapper_is_driven_like_the_mixer_it_wraps(tmp_path: Path) -> None:
    class Counted(mixkit.MixerWrapper):
        def __init__(self, mixer: nn.Module) -> None:
            super().__init__(mixer)
            self.calls = 0

        def forward(self, x: Any, y: Tensor | None = None, **kwargs: Any) -> mixkit.Mixed:
            self.calls += 1
            return super().forward(x, y, **kwargs)

    inner = Recording(num_classes=4, schedule=mixkit.LinearDecay(start=0, end=10, unit="step"))
    wrapper = Counted(inner)
    cb = MixUpCallback(wrapper)
    state = TrainerState()
    state.global_step, state.epoch = 4, 2.0
    model = tiny_vit()
    cb.on_train_begin(args(tmp_path), state, TrainerControl(), model=model)
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    assert wrapper.calls == 1 and (inner.epoch, inner.step) == (2, 5)  # set to 4, then a call
    torch.testing.assert_close(out.loss, inner.results[-1].loss(out.logits))
    assert repr(cb) == (
        "MixUpCallback(Counted( (mixer): Recording(alpha=1.0, mode='batch', p=1.0, "
        "num_classes=4, schedule=LinearDecay(start=0, end=10, unit='step', target='p', "
        "final=0.0)) ))"
    )


def test_a_checkpoint_of_another_mixer_and_data_parallel_are_refused(tmp_path: Path) -> None:
    other = mixkit.RandomChoice([mixkit.MixUp(num_classes=4), mixkit.CutMix(num_classes=4)])
    state = TrainerState()
    state.stateful_callbacks = {"MixUpCallback": MixUpCallback(other).state()}
    cb = MixUpCallback(mixkit.MixUp(num_classes=4))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected a checkpoint saved with a mixer like this one (MixUp("
            "alpha=1.0, mode='batch', p=1.0, num_classes=4)), got a mixer state that does not "
            "load (ValueError: MixUp.load_state_dict: expected the state of a MixUp like this "
            "one (keys ['epoch', 'generator', 'seed', 'step', 'strategies']), got keys "
            "['generator', 'seed'])"
        ),
    ):
        cb.on_train_begin(args(tmp_path), state, TrainerControl(), model=tiny_vit())
    threads = SimpleNamespace(
        n_gpu=2, label_smoothing_factor=0.0, restore_callback_states_from_checkpoint=False
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected one device per process (launch with torchrun or accelerate "
            "launch: DDP; the hooks of one model cannot serve the threads of nn.DataParallel), "
            "got n_gpu=2 in one process"
        ),
    ):
        cb.on_train_begin(threads, TrainerState(), TrainerControl(), model=tiny_vit())


def test_a_missing_metric_for_the_schedule_warns_once(tmp_path: Path) -> None:
    schedule = mixkit.AutoSwitch(patience=1)
    cb = MixUpCallback(mixkit.MixUp(num_classes=4, schedule=schedule), metric="eval_accuracy")
    install(cb, tiny_vit(), tmp_path)
    state = TrainerState()
    message = (
        "MixUpCallback: expected the evaluation metrics to hold 'eval_accuracy' for the "
        "mixer's schedule (metric=), got keys ['eval_loss']"
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        cb.on_evaluate(None, state, TrainerControl(), metrics={"eval_loss": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cb.on_evaluate(None, state, TrainerControl(), metrics={"eval_loss": 1.0})  # once
        for value in (0.5, 0.4, 0.6):
            cb.on_evaluate(None, state, TrainerControl(), metrics={"eval_accuracy": value})
    assert schedule.reports == 3
