"""Pooled-embedding mixup inside a real PyG model: gradients, modes, state, errors."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GINConv, global_add_pool

import mixkit
from mixkit import Mixed
from mixkit_pyg import PooledMix, mix_pooled, motif_graphs


class GIN(nn.Module):
    def __init__(self, mixer: nn.Module, features: int = 9, hidden: int = 16) -> None:
        super().__init__()
        mlp = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.conv = GINConv(mlp)
        self.mix = PooledMix(mixer)
        self.head = nn.Linear(hidden, 2)

    def forward(self, data: Batch) -> tuple[Tensor, Mixed]:
        z = self.conv(data.x, data.edge_index).relu()
        mixed = self.mix(global_add_pool(z, data.batch), data.y, batch=data)
        return self.head(mixed.inputs), mixed


def loader(n: int = 16, batch_size: int = 8) -> DataLoader:
    graphs = motif_graphs(n, generator=torch.Generator().manual_seed(0))
    return DataLoader(graphs, batch_size=batch_size, shuffle=False)


def test_mixing_inside_the_model_trains_and_eval_is_the_identity() -> None:
    torch.manual_seed(0)
    model = GIN(mixkit.MixUp(alpha=1.0, num_classes=2, generator=torch.Generator().manual_seed(1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = next(iter(loader()))
    logits, mixed = model(data)
    assert mixed.applied and mixed.inputs.shape == (8, 16) and logits.shape == (8, 2)
    loss = mixed.loss(logits)
    loss.backward()
    assert model.conv.nn[0].weight.grad is not None  # the gradient reaches the GNN
    opt.step()
    model.eval()
    with torch.no_grad():
        logits, mixed = model(data)
    assert not mixed.applied and mixed.inputs is mixed.source
    assert torch.equal(mixed.targets, torch.eye(2)[data.y])


def test_mixed_embeddings_are_the_lerp_of_pooled_rows() -> None:
    data = next(iter(loader()))
    h = torch.randn(data.num_graphs, 4, requires_grad=True)
    out = mix_pooled(
        mixkit.MixUp(mode="elem", num_classes=2, generator=torch.Generator().manual_seed(2)),
        h,
        data.y,
        batch=data,
    )
    lam = out.lam[:, None]
    torch.testing.assert_close(out.inputs, lam * h + (1 - lam) * h[out.index])
    assert out.inputs.requires_grad and out.source is h


def test_model_state_dict_resumes_the_mixer_bit_for_bit() -> None:
    model = GIN(mixkit.MixUp(num_classes=2, generator=torch.Generator().manual_seed(3)))
    data = next(iter(loader()))
    model(data)
    state = copy.deepcopy(model.state_dict())
    _, first = model(data)
    model.load_state_dict(state)
    _, again = model(data)
    assert torch.equal(first.index, again.index) and torch.equal(first.lam, again.lam)


def test_draw_mix_enabled_and_schedule_hooks_reach_the_mixer() -> None:
    inner = mixkit.MixUp(
        num_classes=2,
        schedule=mixkit.OffAfter(epoch=1),
        generator=torch.Generator().manual_seed(4),
    )
    mix = PooledMix(inner)
    h, y = torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])
    params = mix.draw(h, lam=0.5)
    torch.testing.assert_close(mix.mix(h, y, params).lam, torch.full((5,), 0.5))
    mix.set_step(7)
    mix.set_epoch(2)
    assert inner.epoch == 2 and inner.step == 7
    assert not mix(h, y).applied  # the schedule switched it off after epoch 1
    mix.report(0.3)
    mix.enabled = False
    assert not inner.enabled and not mix.enabled


def test_labels_shaped_num_graphs_by_one_are_squeezed() -> None:
    data = next(iter(loader()))
    h = torch.randn(data.num_graphs, 4)
    out = PooledMix(mixkit.MixUp(num_classes=2))(h, data.y[:, None])
    assert out.y_a.shape == (data.num_graphs,)


def test_repr() -> None:
    assert repr(PooledMix(mixkit.MixUp(alpha=0.2, num_classes=2))) == (
        "PooledMix(\n  (mixer): MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=2)\n)"
    )


def test_errors() -> None:
    data = next(iter(loader()))
    z = torch.randn(data.num_nodes, 4)  # node embeddings: forgot the readout
    mixer = mixkit.MixUp(num_classes=2)
    message = (
        f"mix_pooled: expected one row of h per graph ({data.num_graphs} graphs): pool node "
        f"embeddings first, e.g. global_mean_pool(z, batch.batch), got h of shape "
        f"({data.num_nodes}, 4)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        mix_pooled(mixer, z, data.y, batch=data)
    with pytest.raises(
        ValueError, match=re.escape("PooledMix: expected y with one entry per graph (8 graphs;")
    ):
        PooledMix(mixer)(torch.randn(8, 4), torch.zeros(data.num_nodes, dtype=torch.long))
    with pytest.raises(
        ValueError,
        match=re.escape("mix_pooled: expected pooled graph embeddings h of shape (num_graphs, d)"),
    ):
        mix_pooled(mixer, torch.randn(8), data.y)
    with pytest.raises(
        TypeError,
        match=re.escape("mix_pooled: expected h to be a torch.Tensor of pooled graph embeddings"),
    ):
        mix_pooled(mixer, [1.0], data.y)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError,
        match=re.escape(
            "PooledMix: expected mixer to be a module of mixkit mixers (a Mixer such as MixUp, "
            "CutMix or MixUpE, a RandomChoice, or a MixerWrapper), got <function"
        ),
    ):
        PooledMix(lambda h, y: h)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^mix_pooled: expected mixer to be a module of mixkit"):
        mix_pooled(torch.nn.Linear(2, 2), torch.randn(8, 4), data.y)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match="mix_pooled: expected batch to be a torch_geometric Batch or None"
    ):
        mix_pooled(mixer, torch.randn(8, 4), data.y, batch=Data())
    with pytest.raises(
        TypeError, match=re.escape("PooledMix: expected y to be a torch.Tensor of graph labels")
    ):
        PooledMix(mixer)(torch.randn(8, 4), [0] * 8)
