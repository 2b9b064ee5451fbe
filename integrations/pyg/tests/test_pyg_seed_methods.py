"""The core seed methods on graphs, through mixkit-pyg: Local Mixup, k-mixup, GenLabel, MixupE."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import global_add_pool, global_mean_pool

import mixkit
from mixkit_pyg import FGWMixUp, PooledMix, motif_graphs

GRAPHS = motif_graphs(32, generator=torch.Generator().manual_seed(11))


class Net(nn.Module):
    """Sum-aggregation layer, add readout, linear head; ``forward`` takes a Batch."""

    def __init__(self, mix: PooledMix | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(9, 8)
        self.head = nn.Linear(8, 2)
        self.mix = mix

    def embed(self, g: Batch) -> Tensor:
        src, dst = g.edge_index
        w = getattr(g, "edge_weight", None)
        msg = g.x[src] if w is None else g.x[src] * w[:, None]
        z = g.x + torch.zeros_like(g.x).index_add_(0, dst, msg)
        return global_add_pool(self.lin(z).relu(), g.batch)  # (num_graphs, 8)

    def forward(self, g: Batch) -> Tensor:
        return self.head(self.embed(g))


def batch_of(n: int = 16) -> Batch:
    return Batch.from_data_list(GRAPHS[:n])


def test_local_mixup_weights_on_pooled_embeddings() -> None:
    g = batch_of()
    h = Net().embed(g).detach()
    far = PooledMix(
        mixkit.LocalMixUp(eps=math.inf, num_classes=2, generator=torch.Generator().manual_seed(0))
    )(h, g.y)
    assert torch.equal(far.weights, torch.ones(16))  # eps = inf: vanilla mixup
    local = PooledMix(
        mixkit.LocalMixUp(eps=1.0, num_classes=2, generator=torch.Generator().manual_seed(0))
    )(h, g.y)
    d = (h - h[local.index]).norm(dim=1)
    assert torch.equal(local.weights, (d <= 1.0).float())


def test_k_mixup_pairs_within_clusters_of_graph_embeddings() -> None:
    g = batch_of()
    h = Net().embed(g).detach()
    h = torch.cat([h, h + 1e3])  # two far-apart copies of the batch: 32 graphs
    y = torch.cat([g.y, g.y])
    out = PooledMix(mixkit.KMixUp(k=32, num_classes=2, generator=torch.Generator().manual_seed(0)))(
        h, y
    )
    cross = ((out.index < 16) != (torch.arange(32) < 16)).float().mean()
    assert float(cross) == 0.0
    rand = PooledMix(mixkit.KMixUp(k=1, num_classes=2, generator=torch.Generator().manual_seed(0)))(
        h, y
    )
    assert float(((rand.index < 16) != (torch.arange(32) < 16)).float().mean()) > 0.2


def test_genlabel_on_pooled_embeddings_and_on_fgw_graphs() -> None:
    train = batch_of(32)
    net = Net()
    h = net.embed(train).detach()
    genlabel = mixkit.GenLabel(gamma=1.0, tol=1e-2).fit(h, train.y, num_classes=2)
    mixer = mixkit.MixUp(
        num_classes=2, relabel=genlabel, generator=torch.Generator().manual_seed(1)
    )
    out = PooledMix(mixer)(h[:16], train.y[:16])
    assert out.relabelled
    torch.testing.assert_close(out.targets.sum(1), torch.ones(16))
    # FGW mixup: GenLabel sees the mean-pooled node features of the mixed graphs, so fit there
    means = global_mean_pool(train.x, train.batch)
    fgw_label = mixkit.GenLabel(gamma=1.0, tol=1e-2).fit(means, train.y, num_classes=2)
    fgw = FGWMixUp(num_classes=2, relabel=fgw_label, generator=torch.Generator().manual_seed(2))
    out = fgw(batch_of())
    assert out.relabelled and torch.equal(out.inputs.y, out.targets)
    moved = (out.lam < 1) & (out.index != torch.arange(16))
    expected = fgw_label.relabel(
        global_mean_pool(out.inputs.x, out.inputs.batch), None, out.targets
    )
    torch.testing.assert_close(out.targets[moved], expected[moved], atol=1e-5, rtol=1e-4)


def test_mixupe_with_the_head_as_model_and_with_a_graph_model() -> None:
    g = batch_of()
    net = Net()
    mixer = mixkit.MixUpE(eta=0.5, num_classes=2, generator=torch.Generator().manual_seed(3))
    mixed = PooledMix(mixer)(net.embed(g), g.y, batch=g)
    logits = net.head(mixed.inputs)
    loss = mixed.loss(logits, model=net.head)  # the clean pass: head(pooled embeddings)
    plain = mixkit.mixed_loss(logits, mixed)
    torch.testing.assert_close(loss, plain)  # value: the mixup loss
    (grad_e,) = torch.autograd.grad(loss, net.lin.weight, retain_graph=True)
    (grad_m,) = torch.autograd.grad(plain, net.lin.weight)
    assert not torch.allclose(grad_e, grad_m)  # the gradient carries the MixupE term
    with pytest.raises(ValueError, match=re.escape("Mixed.loss: expected model= (the mixer's")):
        mixed.loss(logits)
    # input level: mixed.source is the Batch, and a model that takes a Batch does the rest
    fgw = FGWMixUp(
        num_classes=2, term=mixkit.MixupETerm(eta=0.5), generator=torch.Generator().manual_seed(4)
    )
    out = fgw(g, g.y)
    assert out.source is g and out.term is fgw.term
    logits = net(out.inputs)
    loss = out.loss(logits, model=net)
    plain = mixkit.mixed_loss(logits, out)
    torch.testing.assert_close(loss, plain)
    (grad_e,) = torch.autograd.grad(loss, net.lin.weight, retain_graph=True)
    (grad_m,) = torch.autograd.grad(plain, net.lin.weight)
    assert not torch.allclose(grad_e, grad_m)
