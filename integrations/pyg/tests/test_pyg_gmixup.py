"""G-Mixup: graphon estimation on graphs of known generators, mixing, sampling, the dataset."""

from __future__ import annotations

import re

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from mixkit.functional import soft_cross_entropy
from mixkit_pyg import GMixUp, GMixUpDataset, Graphon, motif_graphs
from mixkit_pyg import functional as G


def er_graph(n: int, p: float, label: int, g: torch.Generator, feat: float) -> Data:
    upper = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1)
    edge_index = torch.nonzero(upper | upper.T).T
    return Data(x=torch.full((n, 2), feat), edge_index=edge_index, y=torch.tensor([label]))


def two_er_classes(count: int = 30, n: int = 20) -> list[Data]:
    g = torch.Generator().manual_seed(0)
    graphs = []
    for _ in range(count):
        graphs.append(er_graph(n, 0.1, 0, g, 0.0))
        graphs.append(er_graph(n, 0.6, 1, g, 1.0))
    return graphs


def test_usvt_keeps_a_low_rank_matrix_and_clips() -> None:
    u = torch.linspace(0.1, 0.9, 10)
    w = torch.outer(u, u)  # rank one, in [0, 1]
    torch.testing.assert_close(G.usvt(w, 0.0), w)
    assert torch.equal(G.usvt(w * 3, 0.0), (w * 3).clamp(0, 1))
    assert torch.equal(G.usvt(w, 10.0), torch.zeros(10, 10))  # every singular value dropped


def test_align_by_degree_sorts_pads_and_crops() -> None:
    star = torch.zeros(4, 4)
    star[2, [0, 1, 3]] = star[[0, 1, 3], 2] = 1.0  # node 2 is the hub
    order, aligned, mask = G.align_by_degree(star, 6)
    assert order.tolist() == [2, 0, 1, 3] and mask.tolist() == [True] * 4 + [False] * 2
    assert aligned[0, 1:4].tolist() == [1.0, 1.0, 1.0] and float(aligned[4:].sum()) == 0.0
    order, aligned, mask = G.align_by_degree(star, 2)
    assert order.tolist() == [2, 0] and aligned.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_graphons_recover_the_edge_densities_of_each_class() -> None:
    gm = GMixUp(resolution=20, threshold=0.0, generator=torch.Generator().manual_seed(0))
    gm.fit(two_er_classes())
    assert sorted(gm.graphons_) == [0, 1] and gm.num_classes_ == 2
    sparse, dense = gm.graphons_[0], gm.graphons_[1]
    assert isinstance(sparse, Graphon) and sparse.num_graphs == 30
    off = ~torch.eye(20, dtype=torch.bool)
    assert abs(float(sparse.weights[off].mean()) - 0.1) < 0.02
    assert abs(float(dense.weights[off].mean()) - 0.6) < 0.03
    assert sparse.features is not None and torch.equal(sparse.features, torch.zeros(20, 2))
    assert dense.features is not None and torch.equal(dense.features, torch.ones(20, 2))


def test_mix_interpolates_graphons_features_and_labels() -> None:
    gm = GMixUp(resolution=20, generator=torch.Generator().manual_seed(0)).fit(two_er_classes())
    w, x, y = gm.mix(0, 1, 0.25)
    a, b = gm.graphons_[0], gm.graphons_[1]
    torch.testing.assert_close(w, 0.25 * a.weights + 0.75 * b.weights)
    assert x is not None and torch.allclose(x, torch.full((20, 2), 0.75))
    assert y.tolist() == [[0.25, 0.75]]
    w1, _, y1 = gm.mix(0, 1, 1.0)
    assert torch.equal(w1, a.weights) and y1.tolist() == [[1.0, 0.0]]


def test_samples_follow_the_mixed_density_and_are_reproducible() -> None:
    graphs = two_er_classes()
    gm = GMixUp(resolution=20, threshold=0.0, generator=torch.Generator().manual_seed(1))
    gm.fit(graphs)
    sampled = gm.sample(40, classes=(0, 1), lam=0.5)
    assert len(sampled) == 40
    edges = sum(int(s.edge_index.shape[1]) for s in sampled) / 2 / 40
    assert abs(edges / (20 * 19 / 2) - 0.35) < 0.03  # 0.5 * 0.1 + 0.5 * 0.6
    for s in sampled:
        assert s.y.tolist() == [[0.5, 0.5]] and s.x.shape == (s.num_nodes, 2)
        assert bool((s.edge_index[0] != s.edge_index[1]).all())  # no self-loops
    again = GMixUp(resolution=20, threshold=0.0, generator=torch.Generator().manual_seed(1))
    twin = again.fit(graphs).sample(40, classes=(0, 1), lam=0.5)
    assert all(torch.equal(a.edge_index, b.edge_index) for a, b in zip(sampled, twin, strict=True))


def test_drop_isolated_and_default_lam_range() -> None:
    gm = GMixUp(generator=torch.Generator().manual_seed(2)).fit(two_er_classes(10, 12))
    assert gm.lam_range == (0.005, 0.01) and gm.graphons_[0].weights.shape == (12, 12)
    for s in gm.sample(10):
        lam = float(s.y.max())
        assert 0.99 <= lam <= 0.995 and abs(float(s.y.sum()) - 1.0) < 1e-6
        if s.edge_index.numel():
            assert set(s.edge_index.flatten().tolist()) == set(range(s.num_nodes))


def test_dataset_trains_with_pyg_dataloader() -> None:
    graphs = motif_graphs(40, generator=torch.Generator().manual_seed(3))
    gm = GMixUp(lam_range=(0.1, 0.2), generator=torch.Generator().manual_seed(3))
    dataset = GMixUpDataset(graphs, gm, ratio=0.25)
    assert len(dataset.originals) == 40 and len(dataset.synthetic) == 10 and len(dataset) == 50
    assert repr(dataset) == "GMixUpDataset(originals=40, synthetic=10, ratio=0.25)"
    batch = next(iter(DataLoader(dataset, batch_size=50)))
    assert batch.y.shape == (50, 2) and batch.x.shape[1] == 9
    torch.testing.assert_close(batch.y.sum(1), torch.ones(50))
    assert torch.equal(batch.y[:40].argmax(1), torch.cat([g.y for g in graphs]))
    loss = soft_cross_entropy(torch.zeros(50, 2, requires_grad=True), batch.y).mean()
    assert abs(float(loss.detach()) - float(torch.log(torch.tensor(2.0)))) < 1e-6
    first = [s.edge_index for s in dataset.synthetic]
    dataset.resample()
    assert len(dataset.synthetic) == 10
    assert any(
        not torch.equal(a, s.edge_index) for a, s in zip(first, dataset.synthetic, strict=True)
    )


def test_repr() -> None:
    assert repr(GMixUp()) == (
        "GMixUp(lam_range=(0.005, 0.01), num_mixtures=10, resolution=None, threshold=0.2, "
        "node_features=True, drop_isolated=True)"
    )
    gm = GMixUp(resolution=20).fit(two_er_classes(4))
    assert repr(gm.graphons_[1]) == (
        "Graphon(label=1, resolution=20, features_shape=(20, 2), num_graphs=4)"
    )


def test_errors() -> None:
    one_class = [g for g in two_er_classes(3) if int(g.y) == 0]
    with pytest.raises(
        ValueError,
        match=re.escape("GMixUp.fit: expected graphs of at least two classes, got classes [0]"),
    ):
        GMixUp().fit(one_class)
    soft = Data(
        x=torch.zeros(2, 1), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([0.5])
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "GMixUp.fit: expected graphs with one integer class label y each, got graph 0"
        ),
    ):
        GMixUp().fit([soft])
    with pytest.raises(
        ValueError,
        match=re.escape("GMixUp.sample: expected a fitted GMixUp (call fit(graphs) first)"),
    ):
        GMixUp().sample(3)
    with pytest.raises(
        ValueError, match=re.escape("GMixUp: expected lam_range with low <= high, got (0.5, 0.1)")
    ):
        GMixUp(lam_range=(0.5, 0.1))
    with pytest.raises(
        ValueError, match=re.escape("GMixUp: expected a finite lam_range[1] in [0, 1], got nan")
    ):
        GMixUp(lam_range=(0.1, float("nan")))
    with pytest.raises(ValueError, match=re.escape("GMixUp: expected resolution >= 1, got 0")):
        GMixUp(resolution=0)
    gm = GMixUp(resolution=5).fit(two_er_classes(3))
    with pytest.raises(
        ValueError, match=re.escape("GMixUp.mix: expected a fitted class in [0, 1], got 7")
    ):
        gm.mix(0, 7, 0.5)
    mixed_x = two_er_classes(3)
    del mixed_x[0].x
    with pytest.raises(
        ValueError,
        match=re.escape(
            "GMixUp.fit: expected node features x on every graph or on none, got 5 of 6"
        ),
    ):
        GMixUp().fit(mixed_x)
    with pytest.raises(
        TypeError, match=re.escape("GMixUpDataset: expected gmixup to be a mixkit_pyg.GMixUp")
    ):
        GMixUpDataset(two_er_classes(3), object())  # type: ignore[arg-type]
