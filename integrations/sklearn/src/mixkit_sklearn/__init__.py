"""mixkit for scikit-learn: mixup and its descendants inside ``fit``.

* :class:`MixUpClassifier` / :class:`MixUpRegressor`: meta-estimators that mix the training set
  with any mixkit mixer and fit any estimator on it (soft labels reach a classifier as one row
  per class weighted by its share, through ``sample_weight``); prediction is untouched.
* :class:`MixUpResampler`: the same mixing as a ``fit_resample`` step (imbalanced-learn's
  sampler protocol).
* :class:`MLPMixUpClassifier` / :class:`MLPMixUpRegressor`: torch MLPs with the scikit-learn
  API that mix inside every training step (Local Mixup, k-mixup, GenLabel, MixupE, schedules).
* :func:`expand_soft_targets`: soft labels as weighted hard-labelled rows.
"""

from mixkit_sklearn._augment import expand_soft_targets
from mixkit_sklearn._meta import MixUpClassifier, MixUpRegressor
from mixkit_sklearn._mlp import MLPMixUpClassifier, MLPMixUpRegressor
from mixkit_sklearn._resample import MixUpResampler

__version__ = "0.2.0"

__all__ = [
    "MLPMixUpClassifier",
    "MLPMixUpRegressor",
    "MixUpClassifier",
    "MixUpRegressor",
    "MixUpResampler",
    "__version__",
    "expand_soft_targets",
]
