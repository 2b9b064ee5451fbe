"""FGWMixUp and its kernels: exact invariants, awkward graphs, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

import mixkit
from mixkit_pyg import FGWMixUp, FGWOp, motif_graphs
from mixkit_pyg import functional as G


def path_graph(n: int, feats: Tensor, *, label: int, edge_attr: bool = True) -> Data:
    src = torch.arange(n - 1)
    edge_index = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], dim=1)
    data = Data(x=feats, edge_index=edge_index, y=torch.tensor([label]))
    if edge_attr:
        kinds = torch.arange(edge_index.shape[1]) % 3
        data.edge_attr = torch.nn.functional.one_hot(kinds, 3).float()  # (m, 3)
    return data


def odd_batch() -> Batch:
    """Graphs of 1, 3 (one isolated node), 4 and 6 nodes, with edge attributes."""
    g = torch.Generator().manual_seed(0)
    single = Data(
        x=torch.randn(1, 2, generator=g),
        edge_index=torch.zeros(2, 0, dtype=torch.long),
        edge_attr=torch.zeros(0, 3),
        y=torch.tensor([1]),
    )
    isolated = Data(
        x=torch.randn(3, 2, generator=g),
        edge_index=torch.tensor([[0, 1], [1, 0]]),
        edge_attr=torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        y=torch.tensor([0]),
    )
    graphs = [
        single,
        isolated,
        path_graph(4, torch.randn(4, 2, generator=g), label=1),
        path_graph(6, torch.randn(6, 2, generator=g), label=0),
    ]
    return Batch.from_data_list(graphs)


def mixer(**kwargs: object) -> FGWMixUp:
    kwargs.setdefault("num_classes", 2)
    kwargs.setdefault("generator", torch.Generator().manual_seed(0))
    return FGWMixUp(**kwargs)  # type: ignore[arg-type]


def graphs_of(batch: Batch) -> list[Data]:
    return batch.to_data_list()


def edge_set(data: Data) -> dict[tuple[int, int], float]:
    weight = getattr(data, "edge_weight", None)
    weights = torch.ones(data.edge_index.shape[1]) if weight is None else weight
    return {
        (int(u), int(v)): float(w)
        for (u, v), w in zip(data.edge_index.T.tolist(), weights, strict=True)
    }


def edge_attrs(data: Data) -> dict[tuple[int, int], list[float]]:
    pairs = data.edge_index.T.tolist()
    return {(u, v): a for (u, v), a in zip(pairs, data.edge_attr.tolist(), strict=True)}


# -- kernels ------------------------------------------------------------------------------


def test_coupling_marginals_and_identical_graphs_match_themselves() -> None:
    g = motif_graphs(2, generator=torch.Generator().manual_seed(1))
    a, b = g[0], g[1]
    adj_a, _ = G.to_dense_graph(a.edge_index, a.num_nodes)
    adj_b, _ = G.to_dense_graph(b.edge_index, b.num_nodes)
    t = G.fgw_coupling(a.x, G.structure_matrix(adj_a), b.x, G.structure_matrix(adj_b))
    assert t.shape == (a.num_nodes, b.num_nodes) and t.dtype == torch.float64
    f64 = torch.float64
    torch.testing.assert_close(t.sum(1), torch.full((a.num_nodes,), 1 / a.num_nodes, dtype=f64))
    torch.testing.assert_close(t.sum(0), torch.full((b.num_nodes,), 1 / b.num_nodes, dtype=f64))
    # a graph with distinct node features against itself: the identity matching
    x = torch.arange(5.0)[:, None]
    adj, _ = G.to_dense_graph(path_graph(5, x, label=0).edge_index, 5)
    c = G.structure_matrix(adj)
    torch.testing.assert_close(G.fgw_coupling(x, c, x, c), torch.eye(5, dtype=torch.float64) / 5)


def test_single_node_coupling_is_the_only_one() -> None:
    t = G.fgw_coupling(torch.ones(1, 2), np.zeros((1, 1)), torch.randn(4, 2), np.eye(4))
    assert torch.equal(t, torch.full((1, 4), 0.25, dtype=torch.float64))


def test_transport_preserves_mean_features_and_edge_mass() -> None:
    g = motif_graphs(2, generator=torch.Generator().manual_seed(2))
    a, b = g[0], g[1]
    adj_a, _ = G.to_dense_graph(a.edge_index, a.num_nodes)
    adj_b, _ = G.to_dense_graph(b.edge_index, b.num_nodes)
    t = G.fgw_coupling(a.x, G.structure_matrix(adj_a), b.x, G.structure_matrix(adj_b))
    x_t, adj_t, edge_t = G.transport_graph(t, b.x, adj_b)
    assert x_t.shape == (a.num_nodes, b.x.shape[1]) and adj_t.shape == (a.num_nodes,) * 2
    assert edge_t is None
    torch.testing.assert_close(x_t.mean(0), b.x.mean(0))
    # total edge mass scales with (n_a / n_b)^2 minus the self-loops the soft matching made
    assert float(adj_t.diagonal().abs().sum()) == 0.0
    assert float(adj_t.sum()) <= float(adj_b.sum()) * (a.num_nodes / b.num_nodes) ** 2 + 1e-4


def test_shortest_path_structure() -> None:
    adj, _ = G.to_dense_graph(path_graph(4, torch.zeros(4, 1), label=0).edge_index, 4)
    adj = torch.block_diag(adj, torch.zeros(1, 1))  # plus an isolated node
    dist = G.structure_matrix(adj, "shortest_path")
    assert dist[0, 3] == 3.0 and dist[1, 2] == 1.0 and dist[0, 4] == 5.0 and dist[4, 4] == 0.0


def test_dense_round_trip_keeps_edges_weights_and_attributes() -> None:
    data = path_graph(5, torch.zeros(5, 1), label=0)
    weight = torch.linspace(0.5, 2.0, data.edge_index.shape[1])
    adj, edge = G.to_dense_graph(data.edge_index, 5, edge_weight=weight, edge_attr=data.edge_attr)
    edge_index, w, attr = G.dense_to_edges(adj, edge)
    assert attr is not None
    got = {
        (int(u), int(v)): (float(x), a.tolist())
        for (u, v), x, a in zip(edge_index.T, w, attr, strict=True)
    }
    for k, (u, v) in enumerate(data.edge_index.T.tolist()):
        assert got[(u, v)][0] == pytest.approx(float(weight[k]))
        assert got[(u, v)][1] == pytest.approx(data.edge_attr[k].tolist())


# -- the mixer on batches ---------------------------------------------------------------


def test_lam_one_gives_every_graph_back() -> None:
    batch = odd_batch()
    m = mixer()
    out = m.mix(batch, None, m.draw(batch, lam=1.0))
    assert out.applied
    for before, after in zip(graphs_of(batch), graphs_of(out.inputs), strict=True):
        assert torch.equal(before.x, after.x)
        assert torch.equal(before.edge_index, after.edge_index)
        assert torch.equal(before.edge_attr, after.edge_attr)
        assert torch.equal(after.edge_weight, torch.ones(before.edge_index.shape[1]))
    assert torch.equal(out.inputs.y, torch.eye(2)[batch.y])


def test_mixed_graphs_live_on_the_heavier_graph_and_mean_pooling_is_the_mix() -> None:
    batch = odd_batch()
    m = mixer(mode="elem")
    params = m.draw(batch).replace(
        index=torch.tensor([2, 3, 3, 1]), lam=torch.tensor([0.7, 0.2, 0.4, 0.9])
    )
    out = m.mix(batch, None, params)
    sizes = (batch.ptr[1:] - batch.ptr[:-1]).tolist()  # [1, 3, 4, 6]
    mixed_sizes = (out.inputs.ptr[1:] - out.inputs.ptr[:-1]).tolist()
    assert mixed_sizes == [sizes[0], sizes[3], sizes[3], sizes[3]]  # lam >= 1/2: own nodes
    lam = out.lam[:, None]
    means = scatter(batch.x, batch.batch, reduce="mean")
    mixed_means = scatter(out.inputs.x, out.inputs.batch, reduce="mean")
    torch.testing.assert_close(mixed_means, lam * means + (1 - lam) * means[out.index])
    torch.testing.assert_close(out.inputs.y, out.targets)
    assert out.inputs.edge_weight.dtype == torch.float32
    assert bool((out.inputs.edge_weight > 0).all()) and bool((out.inputs.edge_weight <= 1).all())
    # edge attributes stay weight-averaged one-hot mixtures: rows sum to 1
    torch.testing.assert_close(
        out.inputs.edge_attr.sum(1), torch.ones(out.inputs.edge_attr.shape[0])
    )


def test_lam_zero_gives_every_partner_back() -> None:
    batch = odd_batch()
    m = mixer()
    index = torch.tensor([3, 2, 0, 1])
    out = graphs_of(m.mix(batch, None, m.draw(batch, lam=0.0).replace(index=index)).inputs)
    for i, j in enumerate(index.tolist()):
        partner = graphs_of(batch)[j]
        assert torch.equal(out[i].x, partner.x)
        assert edge_set(out[i]) == edge_set(partner)


def test_isolated_nodes_single_node_graphs_and_self_partners() -> None:
    batch = odd_batch()
    graphs = graphs_of(batch)
    m = mixer()
    # lam = 0.25: each mixed graph lives on its partner's nodes (the heavier side)
    params = m.draw(batch, lam=0.25).replace(index=torch.tensor([3, 0, 2, 1]))
    out = graphs_of(m.mix(batch, None, params).inputs)
    # the single node carried onto the 6-node path: every node gets 1/4 of its features
    g6 = graphs[3]
    torch.testing.assert_close(out[0].x, 0.75 * g6.x + 0.25 * batch.x[0])
    assert edge_set(out[0]) == dict.fromkeys(edge_set(g6), 0.75)
    assert edge_attrs(out[0]) == edge_attrs(g6)  # attributes are weight-averaged: unchanged
    # the 3-node graph (one isolated node) carried onto the single node: its mean features,
    # and no self-loop invented from its edge
    assert out[1].num_nodes == 1 and out[1].edge_index.shape[1] == 0
    torch.testing.assert_close(out[1].x[0], 0.75 * batch.x[0] + 0.25 * graphs[1].x.mean(0))
    # a self-partner is untouched even with lam < 1
    assert torch.equal(out[2].x, graphs[2].x)
    # lam = 0.75 the other way round: the 3-node graph keeps its nodes and its one edge
    params = m.draw(batch, lam=0.75).replace(index=torch.tensor([3, 0, 2, 1]))
    out = graphs_of(m.mix(batch, None, params).inputs)
    torch.testing.assert_close(out[1].x, 0.75 * graphs[1].x + 0.25 * batch.x[0])
    assert edge_set(out[1]) == {(0, 1): 0.75, (1, 0): 0.75}


def test_pair_mode_solves_each_pair_once_and_mixes_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = Batch.from_data_list(motif_graphs(6, generator=torch.Generator().manual_seed(4)))
    m = mixer(mode="pair")
    calls: list[int] = []
    original = G.fgw_coupling

    def counting(*args: object, **kwargs: object) -> Tensor:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(G, "fgw_coupling", counting)
    out = m(batch)
    assert torch.equal(out.index[out.index], torch.arange(6))
    assert len(calls) == 3


def test_inputs_untouched_same_seed_same_batch_and_resume() -> None:
    batch = odd_batch()
    before = copy.deepcopy(batch)
    a, b = mixer(), mixer()
    first, second = a(batch), b(batch)
    for name in ("x", "edge_index", "edge_attr", "y", "batch", "ptr"):
        assert torch.equal(getattr(batch, name), getattr(before, name)), name
    for name in ("x", "edge_index", "edge_weight", "edge_attr", "y"):
        assert torch.equal(getattr(first.inputs, name), getattr(second.inputs, name)), name
    state = copy.deepcopy(a.state_dict())
    nxt = a(batch)
    a.load_state_dict(state)
    assert torch.equal(a(batch).inputs.x, nxt.inputs.x)


def test_eval_and_disabled_return_the_batch_itself() -> None:
    batch = odd_batch()
    m = mixer().eval()
    out = m(batch)
    assert out.inputs is batch and out.source is batch and not out.applied
    assert torch.equal(out.targets, torch.eye(2)[batch.y])
    m.train()
    m.enabled = False
    assert m(batch).inputs is batch


def test_loss_and_gradient_through_a_weighted_gnn() -> None:
    batch = Batch.from_data_list(motif_graphs(8, generator=torch.Generator().manual_seed(5)))
    torch.manual_seed(0)
    conv = torch.nn.Linear(batch.x.shape[1], 2)
    out = mixer(alpha=0.4)(batch)
    g = out.inputs
    src, dst = g.edge_index
    z = g.x + scatter(g.x[src] * g.edge_weight[:, None], dst, dim=0, dim_size=g.num_nodes)
    logits = conv(scatter(z, g.batch, reduce="mean"))
    loss = out.loss(logits)
    loss.backward()
    assert bool(torch.isfinite(loss)) and conv.weight.grad is not None


def test_composes_with_pairing_weights_and_features() -> None:
    batch = Batch.from_data_list(motif_graphs(6, generator=torch.Generator().manual_seed(6)))
    feats = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))

    class Nearest(mixkit.Pairing):
        needs_features = True
        seen: Tensor | None = None

        def pair(
            self, batch_size: int, features: Tensor | None, generator: torch.Generator
        ) -> Tensor:
            assert features is not None
            Nearest.seen = features
            d = torch.cdist(features, features).fill_diagonal_(float("inf"))
            return d.argmin(1)

    class Dist(mixkit.Weighting):
        def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
            return torch.exp(-(features - features[index]).norm(dim=1))

    out = mixer(pairing=Nearest(), weighting=Dist())(batch, features=feats)
    assert Nearest.seen is not None and torch.equal(Nearest.seen, feats)
    d = torch.cdist(feats, feats).fill_diagonal_(float("inf"))
    assert torch.equal(out.index, d.argmin(1))
    torch.testing.assert_close(out.weights, torch.exp(-(feats - feats[out.index]).norm(dim=1)))
    # without features= the pairing sees the mean-pooled node features
    mixer(pairing=Nearest())(batch)
    torch.testing.assert_close(Nearest.seen, scatter(batch.x, batch.batch, reduce="mean"))


def test_random_choice_of_graph_mixers() -> None:
    batch = odd_batch()
    choice = mixkit.RandomChoice(
        [mixer(), mixer(fgw_alpha=1.0, structure="shortest_path")],
        generator=torch.Generator().manual_seed(0),
    )
    out = choice(batch, batch.y)
    assert isinstance(out.inputs, Batch) and out.inputs.num_graphs == 4
    choice.eval()
    assert choice(batch, batch.y).inputs is batch  # the identity is the caller's batch
    assert torch.equal(choice.draw(batch).index, torch.arange(4))


def test_dense_node_sets_match_by_optimal_transport(device: torch.device) -> None:
    # two sets with the same points in another order: OT finds the permutation back
    a = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], device=device)
    x = torch.stack([a, a[[2, 0, 1]] + 0.1])  # (2, 3, 2)
    m = mixer(mode="elem")
    params = m.draw(x, lam=0.5).replace(index=torch.tensor([1, 0]))
    out = m.mix(x, torch.tensor([0, 1], device=device), params)
    torch.testing.assert_close(out.inputs[0], a + 0.05)
    assert out.inputs.device == x.device


def test_batch_on_device(device: torch.device) -> None:
    batch = odd_batch().to(device)
    out = mixer()(batch)
    assert out.inputs.x.device == batch.x.device and out.targets.device == batch.x.device


def test_repr() -> None:
    assert repr(FGWMixUp(num_classes=2)) == (
        "FGWMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=2)"
    )
    mixer = FGWMixUp(fgw_alpha=0.9, structure="shortest_path", edge_threshold=0.01, tol=1e-9)
    assert repr(mixer) == (
        "FGWMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=None, fgw_alpha=0.9, "
        "structure='shortest_path', edge_threshold=0.01, tol=1e-09)"
    )


def test_the_preset_is_the_template_with_the_fgw_op_in_its_slot() -> None:
    batch = odd_batch()
    preset = mixer(mode="elem", fgw_alpha=0.3, structure="shortest_path")
    plain = mixkit.Mixer(
        mode="elem",
        num_classes=2,
        op=FGWOp(fgw_alpha=0.3, structure="shortest_path"),
        generator=torch.Generator().manual_seed(0),
    )
    a, b = preset(batch), plain(batch)
    for name in ("x", "edge_index", "edge_weight", "edge_attr", "y"):
        assert torch.equal(getattr(a.inputs, name), getattr(b.inputs, name)), name
    assert isinstance(preset.op, FGWOp) and preset.strategies()["op"] is preset.op
    assert (preset.fgw_alpha, preset.structure, preset.max_iter) == (0.3, "shortest_path", 1000)
    assert repr(plain.op) == (
        "FGWOp(fgw_alpha=0.3, structure='shortest_path', edge_threshold=1e-06, max_iter=1000, "
        "tol=1e-06)"
    )
    assert "op=FGWOp(fgw_alpha=0.3" in repr(plain)  # the plain mixer shows its op


def test_another_preset_takes_the_fgw_op() -> None:
    # k-mixup's optimal-transport pairing on the mean node features, FGW mixing of the pairs
    batch = Batch.from_data_list(motif_graphs(8, generator=torch.Generator().manual_seed(7)))
    kmix = mixkit.KMixUp(k=8, num_classes=2, op=FGWOp(), generator=torch.Generator().manual_seed(0))
    out = kmix(batch)
    assert isinstance(out.inputs, Batch) and out.inputs.num_graphs == 8
    torch.testing.assert_close(out.inputs.y, out.targets)
    lam = out.lam[:, None]
    means = scatter(batch.x, batch.batch, reduce="mean")
    mixed_means = scatter(out.inputs.x, out.inputs.batch, reduce="mean")
    torch.testing.assert_close(mixed_means, lam * means + (1 - lam) * means[out.index])


def test_the_final_targets_are_the_new_batch_labels() -> None:
    # label smoothing: y holds the smoothed mixed targets; unmixed graphs come back as they were
    batch = odd_batch()
    m = mixer(label_smoothing=0.2, mode="elem")
    params = m.draw(batch).replace(index=torch.tensor([1, 0, 2, 2]), lam=torch.full((4,), 0.6))
    out = m.mix(batch, None, params)
    assert torch.equal(out.inputs.y, out.targets)
    assert [g.y.shape for g in out.inputs.to_data_list()] == [(1, 2)] * 4
    smooth = torch.eye(2)[batch.y] * 0.8 + 0.1
    torch.testing.assert_close(out.targets[2], smooth[2])
    assert out.source is batch and torch.equal(out.inputs.y[:2], out.targets[:2])
    assert out.inputs.y is not batch.y and torch.equal(batch.y, odd_batch().y)


def test_labels_of_shape_n_by_one_are_squeezed() -> None:
    batch = odd_batch()
    out = mixer()(batch, batch.y[:, None])
    assert out.y_a.shape == (4,)
