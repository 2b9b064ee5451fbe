"""Bad input to every entry of mixkit-pyg: each a message naming what was expected and what came."""

from __future__ import annotations

import re

import pytest
import torch
from torch_geometric.data import Batch, Data, HeteroData
from torch_geometric.nn import global_mean_pool

import mixkit
from mixkit_pyg import FGWMixUp, FGWOp, GMixUp, GMixUpDataset, PooledMix, mix_pooled, motif_graphs

GRAPHS = motif_graphs(6, generator=torch.Generator().manual_seed(0))


def graph(n: int, label: int = 0) -> Data:
    src = torch.arange(max(n - 1, 0))
    edge_index = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], dim=1)
    return Data(x=torch.ones(n, 2), edge_index=edge_index, y=torch.tensor([label]))


def with_empty(position: int) -> Batch:
    graphs = [graph(3, 0), graph(4, 1), graph(2, 0)]
    graphs.insert(position, graph(0, 1))
    return Batch.from_data_list(graphs)


def fgw() -> FGWMixUp:
    return FGWMixUp(num_classes=2, generator=torch.Generator().manual_seed(0))


# -- FGWMixUp -------------------------------------------------------------------------------


def test_fgw_refuses_a_single_graph_and_says_how_to_batch_it() -> None:
    data = graph(3, 1)
    message = re.escape(
        "FGWMixUp: expected a torch_geometric Batch of graphs, not a single graph (for one "
        "graph: Batch.from_data_list([data])), got Data(x=[3, 2], edge_index=[2, 4], y=[1]) (Data)"
    )
    m = fgw()
    with pytest.raises(TypeError, match=message):
        m(data)  # y is there: the message is about the Batch, not about y
    with pytest.raises(TypeError, match=message):
        m(data, data.y)
    with pytest.raises(TypeError, match=message):
        m.draw(data)
    with pytest.raises(
        TypeError, match=re.escape("FGWMixUp.mix: expected a torch_geometric Batch")
    ):
        m.mix(data, None, mixkit.MixParams.identity(1))
    assert m(Batch.from_data_list([data])).inputs.num_graphs == 1  # what the message advises


def test_fgw_refuses_out_and_names_it() -> None:
    m = fgw()
    batch = Batch.from_data_list(GRAPHS)
    message = "FGWMixUp: expected out=None (FGWOp makes its own output), got a torch.float32"
    with pytest.raises(ValueError, match=re.escape(message)):
        m(batch, out=torch.empty_like(batch.x))
    x, y = torch.randn(4, 3, 2), torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match=re.escape(message)):
        m(x, y, out=torch.empty_like(x))
    with pytest.raises(ValueError, match=re.escape(message)):
        m.mix(x, y, m.draw(x), out=torch.empty_like(x))
    plain = mixkit.Mixer(num_classes=2, op=FGWOp())
    with pytest.raises(ValueError, match=re.escape("Mixer: expected out=None (FGWOp makes")):
        plain(x, y, out=torch.empty_like(x))


def test_fgw_batches() -> None:
    m = fgw()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "FGWMixUp: expected graphs with at least one node, got graph 2 with 0 nodes"
        ),
    ):
        m(with_empty(2))
    with pytest.raises(
        TypeError, match="FGWMixUp: expected a torch_geometric Batch of graphs or a dense"
    ):
        m([Data()], torch.tensor([0]))
    with pytest.raises(
        ValueError, match=r"expected a torch_geometric Batch of graphs or a dense \(B, N, F\)"
    ):
        m(torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "FGWMixUp: expected graphs with at least one node, got x of shape (2, 0, 3)"
        ),
    ):
        m(torch.zeros(2, 0, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="FGWMixUp: expected x to be a floating-point tensor"):
        m(torch.zeros(2, 3, 3, dtype=torch.long), torch.tensor([0, 1]))
    no_x = Batch.from_data_list(
        [Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=3, y=torch.tensor([0]))]
    )
    with pytest.raises(
        ValueError, match=r"FGWMixUp: expected graphs with node features x .* got x=None"
    ):
        m(no_x)
    int_x = Batch.from_data_list([Data(x=torch.zeros(3, 1, dtype=torch.long), y=torch.tensor([0]))])
    with pytest.raises(ValueError, match="FGWMixUp: expected node features x as a floating"):
        m(int_x)


def test_fgw_labels() -> None:
    m = fgw()
    batch = Batch.from_data_list(GRAPHS[:4])
    with pytest.raises(
        ValueError, match=re.escape("FGWMixUp: expected y with one entry per graph (4 graphs;")
    ):
        m(batch, torch.zeros(batch.num_nodes, dtype=torch.long))
    del batch.y
    message = "FGWMixUp: expected y to be a torch.Tensor of labels, got None"
    with pytest.raises(TypeError, match=re.escape(message)):
        m(batch)  # neither y= nor batch.y
    with pytest.raises(TypeError, match=re.escape(message)):
        m(torch.randn(3, 2, 2))  # dense node sets have no default labels
    assert m.draw(batch).batch_size == 4  # drawing needs no labels


def test_fgw_arguments() -> None:
    with pytest.raises(
        ValueError, match=re.escape("FGWMixUp: expected fgw_alpha in [0, 1], got 1.5")
    ):
        FGWMixUp(fgw_alpha=1.5)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "FGWMixUp: expected structure to be one of 'adjacency' | 'shortest_path', got 'sp'"
        ),
    ):
        FGWMixUp(structure="sp")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=re.escape("FGWMixUp: expected edge_threshold >= 0, got -1.0")
    ):
        FGWMixUp(edge_threshold=-1.0)
    with pytest.raises(ValueError, match=re.escape("FGWMixUp: expected max_iter >= 1, got 0")):
        FGWMixUp(max_iter=0)
    with pytest.raises(ValueError, match=re.escape("FGWMixUp: expected tol > 0, got 0.0")):
        FGWMixUp(tol=0.0)
    with pytest.raises(
        ValueError, match=re.escape("FGWMixUp: expected no op argument (FGWMixUp's operation is")
    ):
        FGWMixUp(op=mixkit.LerpOp())
    with pytest.raises(ValueError, match=re.escape("FGWOp: expected tol > 0, got -1.0")):
        FGWOp(tol=-1.0)


# -- PooledMix / mix_pooled -----------------------------------------------------------------

EMPTY = (
    "expected graphs with at least one node (an empty graph has no pooled embedding: "
    "global_*_pool gives it a row of zeros, or no row when it is last; drop empty graphs from "
    "the data), got graph {} with 0 nodes"
)


@pytest.mark.parametrize("position", [1, 3], ids=["inside", "last"])
def test_pooled_refuses_an_empty_graph_and_names_it(position: int) -> None:
    batch = with_empty(position)
    h = global_mean_pool(batch.x, batch.batch)  # the user did pool: 4 rows inside, 3 when last
    assert h.shape[0] == (4 if position == 1 else 3)
    mixer = mixkit.MixUp(num_classes=2)
    message = re.escape(EMPTY.format(position))
    with pytest.raises(ValueError, match="^PooledMix: " + message):
        PooledMix(mixer)(h, batch.y[: h.shape[0]], batch=batch)
    with pytest.raises(ValueError, match="^mix_pooled: " + message):
        mix_pooled(mixer, h, batch.y[: h.shape[0]], batch=batch)
    with pytest.raises(ValueError, match="^PooledMix: " + message):
        PooledMix(mixer).draw(h, batch=batch)
    params = mixkit.MixParams.identity(h.shape[0])
    with pytest.raises(ValueError, match="^PooledMix: " + message):
        PooledMix(mixer).mix(h, batch.y[: h.shape[0]], params, batch=batch)


def test_pooled_counts_nodes_of_hand_built_and_heterogeneous_batches() -> None:
    mixer = mixkit.MixUp(num_classes=2)
    y = torch.tensor([0, 1, 0])
    no_ptr = Batch(x=torch.ones(5, 2), batch=torch.tensor([0, 0, 2, 2, 2]))  # graph 1: no node
    with pytest.raises(ValueError, match=re.escape("got graph 1 with 0 nodes")):
        PooledMix(mixer)(torch.randn(3, 2), y, batch=no_ptr)
    full = Batch(x=torch.ones(5, 2), batch=torch.tensor([0, 0, 1, 1, 2]))
    assert PooledMix(mixer)(torch.randn(3, 2), y, batch=full).applied

    def hetero(atoms: int, bonds: int) -> HeteroData:
        data = HeteroData()
        data["atom"].x, data["ring"].x = torch.ones(atoms, 2), torch.ones(bonds, 2)
        return data

    # a graph with nodes of one type only is not empty; one with none at all is
    batch = Batch.from_data_list([hetero(2, 0), hetero(0, 3), hetero(0, 0)])
    with pytest.raises(ValueError, match=re.escape("got graph 2 with 0 nodes")):
        mix_pooled(mixer, torch.randn(3, 2), y, batch=batch)
    batch = Batch.from_data_list([hetero(2, 0), hetero(0, 3), hetero(1, 1)])
    assert mix_pooled(mixer, torch.randn(3, 2), y, batch=batch).applied


def test_pooled_checks_rows_against_the_batch_in_draw_and_mix() -> None:
    batch = Batch.from_data_list(GRAPHS)
    z = torch.randn(batch.num_nodes, 4)  # node embeddings: no readout
    mix = PooledMix(mixkit.MixUp(num_classes=2))
    with pytest.raises(ValueError, match=re.escape("PooledMix: expected one row of h per graph")):
        mix.draw(z, batch=batch)
    with pytest.raises(ValueError, match=re.escape("PooledMix: expected one row of h per graph")):
        mix.mix(z, batch.y, mixkit.MixParams.identity(6), batch=batch)
    h = global_mean_pool(z, batch.batch)
    out = mix.mix(h, batch.y, mix.draw(h, lam=0.5, batch=batch), batch=batch)
    torch.testing.assert_close(out.lam, torch.full((6,), 0.5))


# -- GMixUp ---------------------------------------------------------------------------------


def labelled(labels: list[int], nodes: int = 4) -> list[Data]:
    return [graph(nodes, label) for label in labels]


def test_gmixup_refuses_negative_labels() -> None:
    # accepted before: classes [-1, 0, 1] with num_classes_ = 2, class -1 labelled as class 1
    with pytest.raises(
        ValueError,
        match=re.escape(
            "GMixUp.fit: expected class labels y >= 0 (classes 0 .. C-1), got graph 2: label -1"
        ),
    ):
        GMixUp().fit(labelled([0, 1, -1, 1]))
    fitted = GMixUp(resolution=3).fit(labelled([0, 1]))
    with pytest.raises(
        ValueError, match=re.escape("GMixUpDataset: expected class labels y >= 0 (classes 0 ..")
    ):
        GMixUpDataset(labelled([0, 1, -1]), fitted)


def test_gmixup_refuses_graphs_without_nodes() -> None:
    graphs = labelled([0, 1, 0])
    graphs.insert(1, graph(0, 1))
    message = "expected graphs with at least one node, got graph 1 with 0 nodes"
    with pytest.raises(ValueError, match=re.escape("GMixUp.fit: " + message)):
        GMixUp().fit(graphs)
    fitted = GMixUp(resolution=3).fit(labelled([0, 1]))
    with pytest.raises(ValueError, match=re.escape("GMixUpDataset: " + message)):
        GMixUpDataset(graphs, fitted)


def test_gmixup_dataset_refuses_labels_beyond_the_fitted_classes() -> None:
    fitted = GMixUp(resolution=3).fit(labelled([0, 1]))
    with pytest.raises(
        ValueError,
        match=re.escape("GMixUpDataset: expected labels < num_classes (2), got graph 2: label 2"),
    ):
        GMixUpDataset(labelled([0, 1, 2]), fitted)


def test_gmixup_default_generator_is_mixkits_default() -> None:
    torch.manual_seed(5)
    a = GMixUp().generator.initial_seed()
    torch.manual_seed(5)
    reference = mixkit.default_generator().initial_seed()
    torch.manual_seed(5)
    assert GMixUp().generator.initial_seed() == a == reference  # torch.manual_seed fixes it
    torch.manual_seed(6)
    assert GMixUp().generator.initial_seed() != a
