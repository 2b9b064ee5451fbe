"""The composition axes every seed method plugs into: pairing, weighting, relabel, features."""

from __future__ import annotations

import re

import pytest
import torch
from torch import Tensor

import mixkit
from mixkit import MixUp


class FarthestPairing(mixkit.Pairing):
    """Pairs each sample with the one farthest from it (a deterministic, feature-driven pairing)."""

    needs_features = True

    def __init__(self) -> None:
        self.seen: Tensor | None = None

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        self.seen = features
        return torch.cdist(features, features).argmax(dim=1).cpu()


class DistanceWeights(mixkit.Weighting):
    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        return torch.exp(-(features - features[index]).norm(dim=1))


class FirstClass(mixkit.Relabel):
    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        out = torch.zeros_like(targets)
        out[:, 0] = 1.0
        return out


def data() -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 2, 3, generator=g), torch.tensor([0, 1, 2, 0, 1, 2])


def test_pairing_sees_flattened_inputs_or_the_callers_features() -> None:
    x, y = data()
    pairing = FarthestPairing()
    mixer = MixUp(num_classes=3, pairing=pairing, generator=torch.Generator().manual_seed(0))
    out = mixer(x, y)
    assert pairing.seen is not None and torch.equal(pairing.seen, x.reshape(6, -1))
    assert torch.equal(out.index, torch.cdist(x.flatten(1), x.flatten(1)).argmax(1))
    feats = torch.randn(6, 4, requires_grad=True)
    out = mixer(x, y, features=feats)
    assert torch.equal(pairing.seen, feats.detach())
    assert not pairing.seen.requires_grad


def test_weights_reach_the_result_and_the_loss() -> None:
    x, y = data()
    out = MixUp(
        num_classes=3, weighting=DistanceWeights(), generator=torch.Generator().manual_seed(1)
    )(x, y)
    flat = x.flatten(1)
    expected = torch.exp(-(flat - flat[out.index]).norm(dim=1))
    torch.testing.assert_close(out.weights, expected)
    logits = torch.randn(6, 3)
    plain = mixkit.mixed_loss(logits, out, reduction="none") / out.weights
    torch.testing.assert_close(out.loss(logits), (plain * expected).mean())


def test_relabel_touches_only_rows_that_were_mixed() -> None:
    x, y = data()
    mixer = MixUp(
        num_classes=3,
        mode="elem",
        p=0.5,
        relabel=FirstClass(),
        generator=torch.Generator().manual_seed(2),
    )
    out = mixer(x, y)
    moved = (out.lam < 1) & (out.index != torch.arange(6))
    assert 0 < int(moved.sum()) < 6
    assert torch.equal(out.targets[moved], torch.eye(3)[[0] * int(moved.sum())])
    assert torch.equal(out.targets[~moved], torch.eye(3)[y[~moved]])
    assert out.relabelled
    assert torch.equal(mixer.mix(x, y, mixer.draw(x, lam=1.0)).targets, torch.eye(3)[y])


def test_bad_features_and_strategies() -> None:
    x, y = data()
    message = (
        "MixUp: expected features with batch size 6 (the batch size of x), "
        "got features of shape (5, 2)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        MixUp(num_classes=3)(x, y, features=torch.zeros(5, 2))
    with pytest.raises(TypeError, match=r"expected features to be a floating-point torch\.Tensor"):
        MixUp(num_classes=3)(x, y, features=[1, 2])
    with pytest.raises(TypeError, match="expected weighting to be a mixkit Weighting or None"):
        MixUp(weighting=lambda f, i, lam: f)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUp: expected a relabel only with task='multiclass', got task='regression'"
        ),
    ):
        MixUp(task="regression", relabel=FirstClass())


def test_repr_shows_the_strategies() -> None:
    class W(DistanceWeights):
        def __repr__(self) -> str:
            return "W()"

    assert repr(MixUp(num_classes=2, weighting=W())) == (
        "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=2, weighting=W())"
    )
