r"""G-Mixup: class graphons estimated from a dataset, mixed, and sampled into labelled graphs.

Graphs of one class are seen as samples of one random-graph model, a *graphon*
:math:`W: [0, 1]^2 \to [0, 1]`. G-Mixup estimates a step-function graphon per class, mixes
the graphons of two classes and samples new graphs from the mix:

.. math::
    W_{\mathrm{mix}} = \lambda W_a + (1-\lambda) W_b, \qquad
    y_{\mathrm{mix}} = \lambda e_a + (1-\lambda) e_b, \qquad
    A_{uv} \sim \mathrm{Bernoulli}(W_{\mathrm{mix}}[u, v]),\ u < v

Paper: Han, Jiang, Liu, Hu, *G-Mixup: Graph Data Augmentation for Graph Classification*,
ICML 2022 (arXiv 2202.07179). It is a dataset-level augmentation (synthetic graphs are
generated once and added to the training set), not a batch mixer, so it produces graphs
for PyG's ``DataLoader`` rather than a :class:`mixkit.Mixed`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import Dataset
from torch_geometric.data import Data

import mixkit
from mixkit.validation import (
    check_bool,
    check_float,
    check_generator,
    check_int,
    describe,
    fail,
)
from mixkit_pyg import functional as G

__all__ = ["GMixUp", "GMixUpDataset", "Graphon"]


@dataclass(frozen=True, eq=False)
class Graphon:
    """The estimated graphon of one class.

    Attributes:
        label: the class.
        weights: ``(K, K)`` float32 step-function edge probabilities.
        features: ``(K, F)`` mean node features per aligned position, or None.
        num_graphs: how many graphs it was estimated from.
    """

    label: int
    weights: Tensor
    features: Tensor | None
    num_graphs: int

    def __repr__(self) -> str:
        feats = None if self.features is None else tuple(self.features.shape)
        return (
            f"Graphon(label={self.label}, resolution={self.weights.shape[0]}, "
            f"features_shape={feats}, num_graphs={self.num_graphs})"
        )


def _graph_label(owner: str, graph: Data, position: int) -> int:
    """The class of a graph: one integer label ``>= 0``; the graph must have nodes."""
    y = getattr(graph, "y", None)
    if not isinstance(y, Tensor) or y.numel() != 1 or y.is_floating_point():
        fail(
            owner, "graphs with one integer class label y each", f"graph {position}: {describe(y)}"
        )
    label = int(y.reshape(()))
    if label < 0:
        fail(owner, "class labels y >= 0 (classes 0 .. C-1)", f"graph {position}: label {label}")
    if not graph.num_nodes:
        fail(owner, "graphs with at least one node", f"graph {position} with 0 nodes")
    return label


def _dense_adjacency(graph: Data) -> Tensor:
    n = int(graph.num_nodes)
    adj = torch.zeros(n, n)
    ei = graph.edge_index.cpu()
    adj[ei[0], ei[1]] = 1.0
    return adj


class GMixUp:
    """Estimate class graphons, mix them, sample synthetic labelled graphs.

    A data-set-level augmentation: the synthetic graphs, with soft labels, join the training
    set (:class:`GMixUpDataset`). The defaults are those of the authors' released script. On
    sparse molecules (MUTAG) the sampled graphs are much denser than the data: check their
    statistics first. See the graphs guide of the documentation (docs/guides/graphs.md).

    Args:
        lam_range: ``(low, high)``: lam of each mixture (the weight of the first class) is
            drawn uniformly from it. Default ``(0.005, 0.01)``.
        num_mixtures: how many ``(class pair, lam)`` mixtures :meth:`augment` draws (10); each
            gives an equal share of the graphs.
        resolution: graphon steps ``K``; default the median node count of the fitted graphs.
        threshold: USVT threshold (0.2).
        node_features: estimate and mix mean node features per position, so that synthetic
            graphs carry (soft) node features; False gives graphs without ``x``.
        drop_isolated: remove nodes left without edges from a sampled graph (a graph with no
            edge at all keeps its nodes).
        generator: CPU ``torch.Generator`` for every draw (class pairs, lam, edges); default
            :func:`mixkit.default_generator` (seeded from torch's global RNG).

    Attributes (after :meth:`fit`):
        graphons_: ``{label: Graphon}``.
        num_classes_: ``max label + 1`` (or the ``num_classes`` given to :meth:`fit`).

    Example:
        >>> train_graphs = motif_graphs(20)
        >>> gmixup = GMixUp(generator=torch.Generator().manual_seed(0)).fit(train_graphs)
        >>> synthetic = gmixup.sample(4)  # graphs with soft labels y of shape (1, C)
        >>> len(synthetic), tuple(synthetic[0].y.shape)
        (4, (1, 2))
        >>> len(GMixUpDataset(train_graphs, gmixup, ratio=0.15))  # for PyG's DataLoader
        23
    """

    def __init__(
        self,
        *,
        lam_range: tuple[float, float] = (0.005, 0.01),
        num_mixtures: int = 10,
        resolution: int | None = None,
        threshold: float = 0.2,
        node_features: bool = True,
        drop_isolated: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(lam_range, Sequence) or len(lam_range) != 2:
            fail(owner, "lam_range as (low, high)", describe(lam_range), type_error=True)
        low = check_float(owner, "lam_range[0]", lam_range[0], low=0.0, high=1.0)
        high = check_float(owner, "lam_range[1]", lam_range[1], low=0.0, high=1.0)
        if low > high:
            fail(owner, "lam_range with low <= high", (low, high))
        self.lam_range = (low, high)
        self.num_mixtures = check_int(owner, "num_mixtures", num_mixtures, low=1)
        self.resolution = (
            None if resolution is None else check_int(owner, "resolution", resolution, low=1)
        )
        self.threshold = check_float(owner, "threshold", threshold, low=0.0)
        self.node_features = check_bool(owner, "node_features", node_features)
        self.drop_isolated = check_bool(owner, "drop_isolated", drop_isolated)
        gen = check_generator(owner, generator)
        self.generator = gen if gen is not None else mixkit.default_generator()
        self.graphons_: dict[int, Graphon] = {}
        self.num_classes_: int = 0

    def fit(self, graphs: Sequence[Data], *, num_classes: int | None = None) -> GMixUp:
        """Estimate one graphon per class from ``graphs`` (a list or a PyG dataset).

        Raises:
            ValueError: fewer than two classes, a graph without one integer label ``>= 0`` or
                without nodes, node features on some graphs only (``node_features=True``).
        """
        owner = f"{type(self).__name__}.fit"
        if len(graphs) == 0:
            fail(owner, "at least one graph", "an empty sequence")
        by_class: dict[int, list[Data]] = {}
        for position, graph in enumerate(graphs):
            by_class.setdefault(_graph_label(owner, graph, position), []).append(graph)
        if len(by_class) < 2:
            fail(owner, "graphs of at least two classes", f"classes {sorted(by_class)}")
        top = max(by_class) + 1
        if num_classes is not None:
            top = check_int(owner, "num_classes", num_classes, low=top)
        with_x = [isinstance(getattr(g, "x", None), Tensor) for g in graphs]
        use_x = self.node_features and all(with_x)
        if self.node_features and any(with_x) and not all(with_x):
            fail(
                owner,
                "node features x on every graph or on none",
                f"{sum(with_x)} of {len(graphs)}",
            )
        sizes = [int(g.num_nodes) for g in graphs]
        k = self.resolution or max(1, int(statistics.median(sizes)))
        self.graphons_ = {}
        for label in sorted(by_class):
            members = by_class[label]
            weights, feats = G.estimate_graphon(
                [_dense_adjacency(g) for g in members],
                k,
                threshold=self.threshold,
                features=[g.x for g in members] if use_x else None,
            )
            self.graphons_[label] = Graphon(label, weights, feats, len(members))
        self.num_classes_ = top
        return self

    def _fitted(self, owner: str) -> None:
        if not self.graphons_:
            fail(
                owner, f"a fitted {type(self).__name__} (call fit(graphs) first)", "an unfitted one"
            )

    def mix(self, a: int, b: int, lam: float) -> tuple[Tensor, Tensor | None, Tensor]:
        """The mixed graphon ``(W, X)`` and soft label ``(1, C)`` of classes ``a`` and ``b``."""
        owner = f"{type(self).__name__}.mix"
        self._fitted(owner)
        for c in (a, b):
            if c not in self.graphons_:
                fail(owner, f"a fitted class in {sorted(self.graphons_)}", c)
        lam = check_float(owner, "lam", lam, low=0.0, high=1.0)
        ga, gb = self.graphons_[a], self.graphons_[b]
        weights = torch.lerp(gb.weights, ga.weights, lam)
        feats = None
        if ga.features is not None and gb.features is not None:
            feats = torch.lerp(gb.features, ga.features, lam)
        label = torch.zeros(1, self.num_classes_)
        label[0, a] += lam
        label[0, b] += 1.0 - lam
        return weights, feats, label

    def sample_from(
        self, weights: Tensor, features: Tensor | None, label: Tensor, num_graphs: int
    ) -> list[Data]:
        """``num_graphs`` W-random graphs of a (mixed) graphon, labelled ``label``."""
        k = weights.shape[0]
        out = []
        for _ in range(num_graphs):
            upper = torch.rand(k, k, generator=self.generator) < weights  # (K, K)
            adj = torch.triu(upper, diagonal=1)
            adj = adj | adj.T
            keep = torch.arange(k)
            if self.drop_isolated and bool(adj.any()):
                keep = torch.nonzero(adj.any(dim=1))[:, 0]
                adj = adj[keep][:, keep]
            edge_index = torch.nonzero(adj).T.contiguous()  # (2, m)
            graph = Data(edge_index=edge_index, y=label.clone(), num_nodes=int(keep.shape[0]))
            if features is not None:
                graph.x = features[keep].clone()
            out.append(graph)
        return out

    def sample(
        self,
        num_graphs: int,
        *,
        classes: tuple[int, int] | None = None,
        lam: float | None = None,
    ) -> list[Data]:
        """Sample graphs from one mixture: two distinct classes and lam drawn unless given."""
        owner = f"{type(self).__name__}.sample"
        self._fitted(owner)
        check_int(owner, "num_graphs", num_graphs, low=0)
        labels = sorted(self.graphons_)
        if classes is None:
            pick = torch.randperm(len(labels), generator=self.generator)[:2].tolist()
            classes = (labels[pick[0]], labels[pick[1]])
        if lam is None:
            low, high = self.lam_range
            lam = low + (high - low) * float(torch.rand(1, generator=self.generator))
        return self.sample_from(*self.mix(classes[0], classes[1], lam), num_graphs)

    def augment(self, num_graphs: int) -> list[Data]:
        """``num_graphs`` synthetic graphs over ``num_mixtures`` random mixtures (the authors'
        scheme: each mixture draws two classes and a lam, then an equal share of graphs)."""
        owner = f"{type(self).__name__}.augment"
        self._fitted(owner)
        check_int(owner, "num_graphs", num_graphs, low=0)
        share, extra = divmod(num_graphs, self.num_mixtures)
        out: list[Data] = []
        for m in range(self.num_mixtures):
            out += self.sample(share + (1 if m < extra else 0))
        return out

    def __repr__(self) -> str:
        return (
            f"GMixUp(lam_range={self.lam_range}, num_mixtures={self.num_mixtures}, "
            f"resolution={self.resolution}, threshold={self.threshold}, "
            f"node_features={self.node_features}, drop_isolated={self.drop_isolated})"
        )


class GMixUpDataset(Dataset[Data]):
    """Training graphs plus G-Mixup synthetic graphs, ready for PyG's ``DataLoader``.

    The originals keep ``x`` and ``edge_index`` and get one-hot labels ``y`` ``(1, C)``; the
    synthetic graphs have soft labels ``(1, C)``, so a batch's ``y`` is ``(B, C)`` and the loss
    is a soft cross-entropy (``mixkit.functional.soft_cross_entropy(logits, batch.y)``).
    Other attributes of the originals (``edge_attr``, ...) are dropped so that both kinds
    collate together (G-Mixup does not model them).

    Args:
        graphs: the training graphs (list or PyG dataset), integer labels.
        gmixup: a :class:`GMixUp`; fitted on ``graphs`` here unless already fitted.
        ratio: synthetic graphs as a fraction of ``len(graphs)`` (the authors' ``aug_ratio``,
            0.15).
        num_classes: label width (default: the fitted ``num_classes_``).

    Call :meth:`resample` (say, each epoch) for fresh synthetic graphs.
    """

    def __init__(
        self,
        graphs: Sequence[Data],
        gmixup: GMixUp,
        *,
        ratio: float = 0.15,
        num_classes: int | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(gmixup, GMixUp):
            fail(owner, "gmixup to be a mixkit_pyg.GMixUp", describe(gmixup), type_error=True)
        self.ratio = check_float(owner, "ratio", ratio, low=0.0)
        self.gmixup = gmixup if gmixup.graphons_ else gmixup.fit(graphs, num_classes=num_classes)
        classes = num_classes or gmixup.num_classes_
        if classes != gmixup.num_classes_:
            fail(owner, f"num_classes {gmixup.num_classes_} (the fitted GMixUp's)", classes)
        self.originals = []
        for position, graph in enumerate(graphs):
            label = _graph_label(owner, graph, position)
            if label >= classes:
                fail(owner, f"labels < num_classes ({classes})", f"graph {position}: label {label}")
            y = torch.zeros(1, classes)
            y[0, label] = 1.0
            clean = Data(edge_index=graph.edge_index, y=y, num_nodes=int(graph.num_nodes))
            if gmixup.node_features and isinstance(getattr(graph, "x", None), Tensor):
                clean.x = graph.x.float()
            self.originals.append(clean)
        self.synthetic: list[Data] = []
        self.resample()

    def resample(self) -> None:
        """Draw a fresh set of synthetic graphs (from the GMixUp's generator)."""
        self.synthetic = self.gmixup.augment(round(self.ratio * len(self.originals)))

    def __len__(self) -> int:
        return len(self.originals) + len(self.synthetic)

    def __getitem__(self, i: int) -> Data:
        n = len(self.originals)
        return self.originals[i] if i < n else self.synthetic[i - n]

    def __repr__(self) -> str:
        return (
            f"GMixUpDataset(originals={len(self.originals)}, synthetic={len(self.synthetic)}, "
            f"ratio={self.ratio})"
        )
