"""mixkit's conformance suite on every mixer of mixkit-pyg, and on every core method on graphs.

Graph batches here are real: motif graphs of different sizes (PyG's ExplainerDataset), read
out by a fixed message-passing step and ``global_*_pool`` into ``(num_graphs, d)``
embeddings, which is what :class:`mixkit_pyg.PooledMix` mixes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import pytest
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.utils import scatter, to_dense_batch

import mixkit
from mixkit import CutMix, MixUp, RandomChoice
from mixkit.testing import MixerCase, check_mixer, parametrize_with_checks, run_check
from mixkit_pyg import FGWMixUp, FGWOp, PooledMix, motif_graphs

GRAPHS = motif_graphs(
    24, motifs=("house", "cycle", "grid"), generator=torch.Generator().manual_seed(3)
)


def _graph_batch(g: torch.Generator, size: int = 7) -> Batch:
    pick = torch.randperm(len(GRAPHS), generator=g)[:size].tolist()
    return Batch.from_data_list([GRAPHS[i] for i in pick])


def pooled(g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(num_graphs, 2F)`` readout (mean and sum pooling of one propagation step)."""
    batch = _graph_batch(g)
    src, dst = batch.edge_index
    z = batch.x + scatter(batch.x[src], dst, dim=0, dim_size=batch.num_nodes)  # (N, F)
    h = torch.cat([global_mean_pool(z, batch.batch), global_add_pool(z, batch.batch)], dim=1)
    return h, batch.y


def pooled_1d(g: torch.Generator) -> tuple[Tensor, Tensor]:
    h, y = pooled(g)
    return h.unsqueeze(1), y  # (num_graphs, 1, d): CutMix cuts a segment of the embedding


def pooled_soft(g: torch.Generator) -> tuple[Tensor, Tensor]:
    h, y = pooled(g)
    return h, torch.nn.functional.one_hot(y, 3).float() * 0.9 + 0.1 / 3


def pooled_regression(g: torch.Generator) -> tuple[Tensor, Tensor]:
    h, _ = pooled(g)
    return h, h[:, :2].sum(dim=1, keepdim=True)  # (num_graphs, 1) float targets


def node_sets(g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Dense ``(B, N, F)`` node sets (edgeless graphs): FGWMixUp's tensor input."""
    return torch.randn(6, 5, 4, generator=g), torch.randint(0, 3, (6,), generator=g)


class AsGraphs(mixkit.MixerWrapper):
    """The suite on FGW's ``Batch`` path: node sets ``(B, N, F)`` become a ``Batch`` of
    N-node rings, and the mixed graphs (they keep N nodes) are read back as ``(B, N, F)``."""

    @staticmethod
    def graphs(x: Tensor) -> Batch:
        n = torch.arange(x.shape[1])
        ring = torch.stack([n, (n + 1) % x.shape[1]])
        ring = torch.cat([ring, ring.flip(0)], dim=1).to(x.device)
        return Batch.from_data_list([Data(x=nodes, edge_index=ring) for nodes in x])

    @staticmethod
    def dense(out: mixkit.Mixed, x: Tensor) -> mixkit.Mixed:
        if not out.applied:
            assert out.inputs is out.source  # the caller's Batch: stand x in for it
            return dataclasses.replace(out, inputs=x, source=x)
        assert isinstance(out.inputs, Batch) and torch.equal(out.inputs.y, out.targets)
        nodes, _ = to_dense_batch(out.inputs.x, out.inputs.batch)
        return dataclasses.replace(out, inputs=nodes, source=x)

    def forward(self, x: Tensor, y: Tensor | None = None, **kwargs: Any) -> mixkit.Mixed:
        return self.dense(self.mixer(self.graphs(x), y, **kwargs), x)

    def draw(self, x: Tensor, **kwargs: Any) -> mixkit.MixParams:
        params: mixkit.MixParams = self.mixer.draw(self.graphs(x), **kwargs)
        return params

    def mix(
        self, x: Tensor, y: Tensor | None, params: mixkit.MixParams, **kwargs: Any
    ) -> mixkit.Mixed:
        return self.dense(self.mixer.mix(self.graphs(x), y, params, **kwargs), x)


class NearestPairing(mixkit.Pairing):
    """Stand-in for k-mixup / k-NN pairings: each graph mixes with its nearest other graph."""

    needs_features = True

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        dist = torch.cdist(features, features)
        dist.fill_diagonal_(float("inf"))
        return dist.argmin(dim=1).cpu() if batch_size > 1 else torch.zeros(1, dtype=torch.long)

    def __repr__(self) -> str:
        return "NearestPairing()"


class DistanceWeights(mixkit.Weighting):
    """Stand-in for Local Mixup: ``exp(-d)`` between the two sources."""

    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        return torch.exp(-(features - features[index]).norm(dim=1))

    def __repr__(self) -> str:
        return "DistanceWeights()"


class SharpenRelabel(mixkit.Relabel):
    """Stand-in for GenLabel: a deterministic function of the mixed embedding."""

    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        return torch.softmax(targets.float() * 4.0, dim=1)

    def __repr__(self) -> str:
        return "SharpenRelabel()"


def _gen(g: torch.Generator, offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(g.initial_seed() + offset)


Batcher = Callable[[torch.Generator], tuple[Tensor, Tensor]]


def _pooled_case(
    name: str, make: Callable[[torch.Generator], nn.Module], batch: Batcher = pooled
) -> MixerCase:
    def build(g: torch.Generator) -> PooledMix:
        return PooledMix(make(g))

    return MixerCase(name, build, batch)


CONVEX = "the lighter graph of each pair is first carried onto the heavier one's nodes along the "
CONVEX += "FGW coupling, so a mixed value lies between the heavier graph's value and the aligned "
CONVEX += "other's, not between x[i] and x[index] position by position"


def _mixup_in_mode(
    mode: Literal["batch", "elem", "pair"],
) -> Callable[[torch.Generator], nn.Module]:
    return lambda g: MixUp(mode=mode, num_classes=3, generator=g)


CASES = [
    _pooled_case("pooled-mixup-batch", _mixup_in_mode("batch")),
    _pooled_case("pooled-mixup-elem", _mixup_in_mode("elem")),
    _pooled_case("pooled-mixup-pair", _mixup_in_mode("pair")),
    _pooled_case(
        "pooled-cutmix-1d", lambda g: CutMix(mode="elem", num_classes=3, generator=g), pooled_1d
    ),
    _pooled_case(
        "pooled-mixup-p-smoothing",
        lambda g: MixUp(p=0.5, label_smoothing=0.1, num_classes=3, generator=g),
    ),
    _pooled_case("pooled-mixup-soft", lambda g: MixUp(alpha=0.4, generator=g), pooled_soft),
    _pooled_case(
        "pooled-mixup-regression",
        lambda g: MixUp(task="regression", generator=g),
        pooled_regression,
    ),
    _pooled_case(
        "pooled-mixup-composed",
        lambda g: MixUp(
            num_classes=3,
            pairing=NearestPairing(),
            weighting=DistanceWeights(),
            relabel=SharpenRelabel(),
            schedule=mixkit.LinearDecay(start=0, end=10, unit="step"),
            generator=g,
        ),
    ),
    _pooled_case(
        "pooled-random-choice",
        lambda g: RandomChoice(
            [
                MixUp(num_classes=3, generator=_gen(g, 1)),
                MixUp(
                    mode="elem", num_classes=3, weighting=DistanceWeights(), generator=_gen(g, 2)
                ),
            ],
            generator=g,
        ),
    ),
    MixerCase(
        "fgw-node-sets",
        lambda g: FGWMixUp(num_classes=3, generator=g),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-node-sets-elem-composed",
        lambda g: FGWMixUp(
            mode="elem",
            fgw_alpha=0.0,
            num_classes=3,
            weighting=DistanceWeights(),
            relabel=SharpenRelabel(),
            generator=g,
        ),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-node-sets-pair",
        lambda g: FGWMixUp(mode="pair", p=0.7, num_classes=3, generator=g),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-op-in-a-plain-mixer",
        lambda g: mixkit.Mixer(op=FGWOp(fgw_alpha=0.2), num_classes=3, generator=g),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-node-sets-mixupe-term",
        lambda g: FGWMixUp(num_classes=3, term=mixkit.MixupETerm(eta=0.5), generator=g),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-graphs",
        lambda g: AsGraphs(FGWMixUp(num_classes=3, generator=g)),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    MixerCase(
        "fgw-graphs-elem-composed",
        lambda g: AsGraphs(
            FGWMixUp(
                mode="elem",
                structure="shortest_path",
                label_smoothing=0.1,
                num_classes=3,
                weighting=DistanceWeights(),
                relabel=SharpenRelabel(),
                generator=g,
            )
        ),
        node_sets,
        expected_failures={"convex_combination": CONVEX},
    ),
    _pooled_case(
        "pooled-mixupe",
        lambda g: mixkit.MixUpE(eta=0.5, num_classes=3, generator=g),
    ),
]


def _seed_cases() -> list[MixerCase]:
    """Core seed methods that have landed, on pooled graph embeddings."""
    cases = []
    if hasattr(mixkit, "LocalMixUp"):
        cases.append(
            _pooled_case(
                "pooled-local-mixup",
                lambda g: mixkit.LocalMixUp(num_classes=3, eps=2.0, generator=g),
            )
        )
    if hasattr(mixkit, "KMixUp"):
        cases.append(
            _pooled_case(
                "pooled-k-mixup",
                lambda g: mixkit.KMixUp(k=4, num_classes=3, generator=g),
            )
        )
    return cases


@parametrize_with_checks(CASES + _seed_cases())
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_fgw_deviation_is_real_and_check_mixer_passes() -> None:
    for case in CASES:
        check_mixer(case)


def test_the_graph_batches_really_have_different_node_counts() -> None:
    batch = _graph_batch(torch.Generator().manual_seed(0))
    sizes = (batch.ptr[1:] - batch.ptr[:-1]).unique()
    assert sizes.numel() > 3
    h, y = pooled(torch.Generator().manual_seed(0))
    assert h.shape == (7, 18) and y.shape == (7,)


@pytest.mark.parametrize("case", CASES[:1], ids=lambda c: c.name)
def test_pooled_mixup_matches_plain_mixup_on_the_embeddings(case: MixerCase) -> None:
    h, y = pooled(torch.Generator().manual_seed(5))
    wrapped = case.make_mixer(torch.Generator().manual_seed(9))
    plain = MixUp(num_classes=3, generator=torch.Generator().manual_seed(9))
    a, b = wrapped(h, y), plain(h, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
