r"""Pooled-embedding mixup: mix graph embeddings after the readout, safe for any node counts.

Graphs in a batch have different numbers of nodes, so their node features cannot be
interpolated row by row. After the readout (``global_mean_pool`` / ``global_add_pool`` /
``global_max_pool``) every graph is one ``d``-vector, and any mixkit mixer applies unchanged:

.. math::
    h_g = \mathrm{READOUT}(\{z_v : v \in g\}), \qquad
    \tilde h_i = \lambda h_i + (1-\lambda) h_{\mathrm{index}_i}, \qquad
    \tilde y_i = \lambda y_i + (1-\lambda) y_{\mathrm{index}_i}

This is the "mixup on graph-level representations" of Wang, Wang, Liang, Cai, Hooi, *Mixup
for Node and Graph Classification*, WWW 2021 (the graph part), and the setting MixupE's
graph experiments use. Pairings, per-sample weights (Local Mixup), relabelling (GenLabel)
and schedules all apply, because the mixer sees an ordinary ``(num_graphs, d)`` batch.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch_geometric.data import Batch

import mixkit
from mixkit import Mixed, MixParams
from mixkit.validation import check_mixer, describe, fail, shape_str
from mixkit_pyg._validation import check_nonempty_graphs, graph_labels

__all__ = ["PooledMix", "mix_pooled"]


def _check_embeddings(owner: str, h: object, num_graphs: int | None) -> Tensor:
    if not isinstance(h, Tensor):
        fail(
            owner, "h to be a torch.Tensor of pooled graph embeddings", describe(h), type_error=True
        )
    if h.ndim < 2:
        fail(
            owner,
            "pooled graph embeddings h of shape (num_graphs, d) (or (num_graphs, ...))",
            f"h of shape {shape_str(h.shape)}",
        )
    if num_graphs is not None and h.shape[0] != num_graphs:
        fail(
            owner,
            f"one row of h per graph ({num_graphs} graphs): pool node embeddings first, "
            "e.g. global_mean_pool(z, batch.batch)",
            f"h of shape {shape_str(h.shape)}",
        )
    return h


def _num_graphs(owner: str, batch: object) -> int | None:
    """The graphs of the batch the embeddings came from; none of them may be empty."""
    if batch is None:
        return None
    if not isinstance(batch, Batch):
        fail(owner, "batch to be a torch_geometric Batch or None", describe(batch), type_error=True)
    check_nonempty_graphs(
        owner,
        batch,
        "graphs with at least one node (an empty graph has no pooled embedding: global_*_pool "
        "gives it a row of zeros, or no row when it is last; drop empty graphs from the data)",
    )
    return int(batch.num_graphs)


def mix_pooled(
    mixer: nn.Module,
    h: Tensor,
    y: Tensor,
    *,
    batch: object | None = None,
    features: Tensor | None = None,
) -> Mixed:
    """Mix pooled graph embeddings ``h`` ``(num_graphs, d)`` and their labels with any mixer.

    Args:
        mixer: any mixkit mixer (its ``train()`` / ``eval()`` mode and ``enabled`` decide
            whether it mixes; in eval mode the result is the identity).
        h: ``(num_graphs, d)`` float pooled embeddings (keep the graph: gradients flow through
            the mix into the GNN); ``(num_graphs, k, d)`` stacks of readouts work too.
        y: graph labels, one per graph: ``(num_graphs,)`` int, ``(num_graphs, 1)`` int
            (squeezed), ``(num_graphs, C)`` soft / multi-hot, or regression values.
        batch: the PyG ``Batch`` the embeddings came from; when given, ``h`` must have
            ``batch.num_graphs`` rows (catches node embeddings passed by mistake) and no
            graph may be empty (its pooled row would be made up).
        features: ``(num_graphs, ...)`` representation for pairings / weightings /
            relabelling; default ``h`` itself (detached).

    Returns:
        :class:`mixkit.Mixed`; ``inputs`` are the mixed embeddings to feed to the head.

    Raises:
        TypeError / ValueError: a non-mixer, ``h`` not 2-D or not one row per graph, an empty
            graph in ``batch``, ``y`` not one entry per graph (plus the mixer's own checks).

    Example:
        >>> from torch_geometric.data import Batch
        >>> from torch_geometric.nn import global_mean_pool
        >>> data = Batch.from_data_list(motif_graphs(4))
        >>> z = torch.randn(data.num_nodes, 16)  # node embeddings from the GNN layers
        >>> h = global_mean_pool(z, data.batch)  # (num_graphs, d)
        >>> mixer = mixkit.MixUp(alpha=0.2, num_classes=2)
        >>> mixed = mix_pooled(mixer, h, data.y, batch=data)
        >>> head = torch.nn.Linear(16, 2)
        >>> loss = mixed.loss(head(mixed.inputs))

    .. note::
        Pool first, then mix: mixing node features of different graphs needs an alignment
        (see :class:`mixkit_pyg.FGWMixUp`). ``lam`` is the weight of the original graph.
    """
    owner = "mix_pooled"
    check_mixer(owner, mixer)
    h = _check_embeddings(owner, h, _num_graphs(owner, batch))
    y = graph_labels(owner, y, h.shape[0])
    out: Mixed = mixer(h, y, features=features)
    return out


class PooledMix(mixkit.MixerWrapper):
    """A module to drop between the readout and the head: mixes pooled graph embeddings.

    Registered inside the model, it follows the model's mode: ``model.train()`` mixes,
    ``model.eval()`` is exactly the identity; ``model.state_dict()`` carries the mixer's
    generator and progress (bit-exact resume). See :func:`mix_pooled` for the math.

    Args:
        mixer: any mixkit mixer, e.g. ``mixkit.MixUp(alpha=0.2, num_classes=2)``.

    Example::

        class GIN(nn.Module):
            def __init__(self):
                ...
                self.mix = PooledMix(mixkit.MixUp(alpha=0.2, num_classes=2))

            def forward(self, data):
                z = self.convs(data.x, data.edge_index)
                mixed = self.mix(global_add_pool(z, data.batch), data.y, batch=data)
                return self.head(mixed.inputs), mixed

        logits, mixed = model(data)
        loss = mixed.loss(logits)  # pair-form cross-entropy on the mixed targets

    .. note::
        With MixupE (``mixkit.MixUpE`` or ``term=mixkit.MixupETerm()``) the clean pass runs on
        the pooled embeddings (``mixed.source``): ``mixed.loss(logits, model=model.head)``.
    """

    def __init__(self, mixer: nn.Module) -> None:
        check_mixer(type(self).__name__, mixer)
        super().__init__(mixer)

    def forward(  # type: ignore[override]  # the embeddings keep their name h (mix_pooled's)
        self,
        h: Tensor,
        y: Tensor,
        *,
        batch: object | None = None,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """Mix ``h`` ``(num_graphs, d)`` and ``y``; see :func:`mix_pooled`."""
        owner = type(self).__name__
        h = _check_embeddings(owner, h, _num_graphs(owner, batch))
        y = graph_labels(owner, y, h.shape[0])
        # mixing at a point of the model, one draw per step: mixkit's module-mixing step
        step = mixkit.MixStep(self.mixer, y, features=features, **kwargs)
        step.apply(h)
        return step.result(owner)

    def draw(
        self,
        x: Tensor,
        *,
        lam: float | None = None,
        features: Tensor | None = None,
        batch: object | None = None,
        **kwargs: Any,
    ) -> MixParams:
        """Draw parameters for ``x`` ``(num_graphs, d)`` (the wrapped mixer's ``draw``)."""
        owner = type(self).__name__
        x = _check_embeddings(owner, x, _num_graphs(owner, batch))
        return super().draw(x, lam=lam, features=features, **kwargs)

    def mix(
        self,
        x: Tensor,
        y: Tensor | None,
        params: MixParams,
        *,
        features: Tensor | None = None,
        batch: object | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """Apply drawn parameters (the wrapped mixer's ``mix``)."""
        owner = type(self).__name__
        x = _check_embeddings(owner, x, _num_graphs(owner, batch))
        y = graph_labels(owner, y, x.shape[0])
        return super().mix(x, y, params, features=features, **kwargs)
