"""mixkit-pyg: data mixing for PyTorch Geometric, acting on the collated ``Batch``.

PyG's ``DataLoader`` drops any ``collate_fn``, so mixing happens on what it yields:

* :class:`PooledMix` / :func:`mix_pooled`: any mixkit mixer on pooled graph embeddings
  ``(num_graphs, d)``, between the readout and the head (safe for any node counts);
* :class:`FGWMixUp`: input-level mixup, partners aligned by fused Gromov-Wasserstein (POT),
  returning a new ``Batch`` with weighted edges and soft labels: the preset of
  :class:`FGWOp`, the input operation for any :class:`mixkit.Mixer`;
* :class:`GMixUp` / :class:`GMixUpDataset`: class graphons estimated, mixed and sampled into
  synthetic labelled graphs for the ``DataLoader`` (G-Mixup);
* :func:`motif_graphs`: a synthetic graph-classification task built with PyG's motif
  generators (no download), to try the mixers on;
* :mod:`mixkit_pyg.functional`: the pure kernels.
"""

from mixkit_pyg import functional
from mixkit_pyg._fgw import FGWMixUp
from mixkit_pyg._fgw_op import FGWOp
from mixkit_pyg._gmixup import GMixUp, GMixUpDataset, Graphon
from mixkit_pyg._motifs import motif_graphs
from mixkit_pyg._pooled import PooledMix, mix_pooled

__version__ = "0.2.0"

__all__ = [
    "FGWMixUp",
    "FGWOp",
    "GMixUp",
    "GMixUpDataset",
    "Graphon",
    "PooledMix",
    "__version__",
    "functional",
    "mix_pooled",
    "motif_graphs",
]
