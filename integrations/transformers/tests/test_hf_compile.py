"""``TrainingArguments(torch_compile=True)``: the compiled model is mixed exactly as the eager one.

Both hooks run eagerly inside the compiled call (one graph break each), so the draws, the mixed
batches and the loss terms' clean passes are those of eager mode. Measured on the shared 2-core
CPU machine, each test (an eager run and a compiled run of 3 steps of 8, tiny ViT): backend
"eager" (Dynamo only) 1.3 s; backend "inductor" 16 s with an empty inductor cache, 2 to 5 s
with a warm one (an eager-mode run alone: 0.2 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from hf_support import (
    CLASSES,
    args,
    image_dataset,
    text_dataset,
    tiny_text_model,
    tiny_vit,
    trainer,
)

import mixkit
from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


def mixer() -> mixkit.RandomChoice:
    def g(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    return mixkit.RandomChoice(
        [
            mixkit.MixUpE(mode="elem", num_classes=CLASSES, eta=0.1, generator=g(1)),
            mixkit.CutMix(num_classes=CLASSES, weighting=mixkit.LocalWeights(eps=6.0)),
        ],
        generator=g(2),
    )


def run(out: Path, **compile_args: Any) -> tuple[list[mixkit.Mixed], list[float], Any]:
    chooser = mixer()
    results: list[mixkit.Mixed] = []
    chooser.register_forward_hook(lambda module, inputs, result: results.append(result))
    model = tiny_vit()
    t = trainer(
        model,
        args(out, max_steps=3, logging_steps=1, **compile_args),
        train_dataset=image_dataset(24),
        callbacks=[MixUpCallback(chooser)],
    )
    t.train()
    if compile_args:
        assert type(t.model_wrapped).__name__ == "OptimizedModule", "the model was not compiled"
    losses = [h["loss"] for h in t.state.log_history if "loss" in h]
    return results, losses, model


@pytest.mark.parametrize("backend", ["eager", "inductor"])
def test_a_compiled_model_trains_on_the_batches_of_eager_mode(tmp_path: Path, backend: str) -> None:
    torch.compiler.reset()
    plain, plain_losses, plain_model = run(tmp_path / "plain")
    compiled, losses, model = run(
        tmp_path / backend, torch_compile=True, torch_compile_backend=backend
    )
    assert len(plain) == len(compiled) == 3
    assert {m.params.choice for m in plain} == {0, 1}, "both mixers (and MixupE's term) ran"
    for a, b in zip(plain, compiled, strict=True):
        assert a.params.choice == b.params.choice
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
        assert torch.equal(a.weights, b.weights)
    assert losses == pytest.approx(plain_losses, rel=1e-4)
    for p, q in zip(plain_model.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layers", [0, (1, 2)])
def test_a_compiled_text_model_is_mixed_inside_as_in_eager_mode(
    tmp_path: Path, layers: Any
) -> None:
    # the hooks on the embedding module and the layers run eagerly too (graph breaks); MixupE's
    # clean pass at the word embeddings. Backend "eager" (Dynamo only): 2 s; "inductor" was
    # checked by hand (22 s cold, the same losses and weights to 1e-6).
    def run(out: Path, **compile_args: Any) -> tuple[list[float], Any]:
        g = torch.Generator().manual_seed(1)
        mixer = (
            mixkit.MixUpE(alpha=1.0, mode="elem", num_classes=CLASSES, eta=0.1, generator=g)
            if layers == 0
            else mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES, generator=g)
        )
        model = tiny_text_model("bert")
        t = trainer(
            model,
            args(out, max_steps=3, logging_steps=1, **compile_args),
            train_dataset=text_dataset(24),
            callbacks=[MixUpCallback(mixer, layers=layers)],
        )
        t.train()
        if compile_args:
            assert type(t.model_wrapped).__name__ == "OptimizedModule"
        return [h["loss"] for h in t.state.log_history if "loss" in h], model

    torch.compiler.reset()
    plain_losses, plain_model = run(tmp_path / "plain")
    losses, model = run(tmp_path / "compiled", torch_compile=True, torch_compile_backend="eager")
    assert losses == pytest.approx(plain_losses, rel=1e-5)
    for p, q in zip(plain_model.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
