"""Pure kernels: no randomness, no state, explicit parameters. The math of mixkit, once.

Every mixer, loss and integration calls these. Convention: ``lam`` is the weight of the
ORIGINAL sample ``i`` and ``1 - lam`` the weight of its partner ``index[i]`` (as in timm and
torchvision; kornia uses the opposite convention). Kernels never modify their arguments; each
returns a new tensor, or writes into an explicit ``out=`` where it takes one.

* mixing: :func:`mix`, :func:`cutmix`, :func:`box_fraction`;
* targets: :func:`one_hot`, :func:`smooth_targets`, :func:`mix_targets`, :func:`mix_one_hot`,
  :func:`union_targets`;
* losses: :func:`soft_cross_entropy`, :func:`pair_cross_entropy`, :func:`binary_cross_entropy`,
  :func:`squared_error`, and the weighted reductions :func:`reduce_loss`;
* the seed methods' math: Local Mixup's weights (:func:`partner_distances`,
  :func:`threshold_weights`, :func:`smooth_weights`, :func:`knn_weights`), k-mixup's matching
  (:func:`chunk_costs`, :func:`ot_match`), GenLabel's densities (:func:`class_log_densities`)
  and MixupE's scores (:func:`mixupe_scores`).
"""

from mixkit._densities import class_log_densities
from mixkit._kernels import (
    box_fraction,
    cutmix,
    mix,
    mix_one_hot,
    mix_targets,
    one_hot,
    smooth_targets,
    union_targets,
)
from mixkit._local import knn_weights, partner_distances, smooth_weights, threshold_weights
from mixkit._losses import (
    FORMS,
    REDUCTIONS,
    Form,
    Reduction,
    binary_cross_entropy,
    pair_cross_entropy,
    reduce_loss,
    soft_cross_entropy,
    squared_error,
)
from mixkit._mixupe import mixupe_scores
from mixkit._transport import chunk_costs, ot_match

__all__ = [
    "FORMS",
    "REDUCTIONS",
    "Form",
    "Reduction",
    "binary_cross_entropy",
    "box_fraction",
    "chunk_costs",
    "class_log_densities",
    "cutmix",
    "knn_weights",
    "mix",
    "mix_one_hot",
    "mix_targets",
    "mixupe_scores",
    "one_hot",
    "ot_match",
    "pair_cross_entropy",
    "partner_distances",
    "reduce_loss",
    "smooth_targets",
    "smooth_weights",
    "soft_cross_entropy",
    "squared_error",
    "threshold_weights",
    "union_targets",
]
