"""The synthetic motif task: balanced, reproducible, global RNGs untouched, errors pinned."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mixkit_pyg import motif_graphs


def test_motif_graphs_are_balanced_reproducible_and_of_varied_size() -> None:
    a = motif_graphs(
        12, motifs=("house", "cycle", "grid"), generator=torch.Generator().manual_seed(0)
    )
    b = motif_graphs(
        12, motifs=("house", "cycle", "grid"), generator=torch.Generator().manual_seed(0)
    )
    assert [int(g.y) for g in a] == [0, 1, 2] * 4
    assert all(torch.equal(x.edge_index, y.edge_index) for x, y in zip(a, b, strict=True))
    assert len({g.num_nodes for g in a}) > 3
    g0 = a[0]
    assert g0.x.shape == (g0.num_nodes, 9) and torch.equal(g0.x.sum(1), torch.ones(g0.num_nodes))
    state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    motif_graphs(2)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNGs are left alone
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])  # type: ignore[index]


def test_motif_errors() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape("motif_graphs: expected motifs among ['cycle', 'grid', 'house']"),
    ):
        motif_graphs(2, motifs=("star",))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "motif_graphs: expected num_nodes as (low, high) with 1 <= low <= high, got (5, 2)"
        ),
    ):
        motif_graphs(2, num_nodes=(5, 2))
