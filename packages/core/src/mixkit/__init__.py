"""mixkit: data mixing (mixup and its modern descendants) for every domain.

The core: pure kernels in :mod:`mixkit.functional`, mixers that draw their parameters from an
explicit generator and return a :class:`Mixed`, the loss, schedules, and a public conformance
suite in :mod:`mixkit.testing`. ``import mixkit`` needs only torch, numpy, scipy and POT.
"""

from mixkit import functional
from mixkit._choice import RandomChoice
from mixkit._cutmix import CutMix
from mixkit._genlabel import GenLabel, GenLabelMixUp
from mixkit._kmixup import KMixUp, OTPairing
from mixkit._local import LocalMixUp, LocalPairing, LocalWeights
from mixkit._mixed import Mixed, mixed_loss
from mixkit._mixer import Mixer, MixUp
from mixkit._mixupe import MixUpE, mean_input
from mixkit._pairing import Pairing, RandomPairing
from mixkit._params import MixParams
from mixkit._relabel import Relabel
from mixkit._schedules import AutoSwitch, LinearDecay, OffAfter, Schedule
from mixkit._weighting import Weighting

__version__ = "0.1.0"

__all__ = [
    "AutoSwitch",
    "CutMix",
    "GenLabel",
    "GenLabelMixUp",
    "KMixUp",
    "LinearDecay",
    "LocalMixUp",
    "LocalPairing",
    "LocalWeights",
    "MixParams",
    "MixUp",
    "MixUpE",
    "Mixed",
    "Mixer",
    "OTPairing",
    "OffAfter",
    "Pairing",
    "RandomChoice",
    "RandomPairing",
    "Relabel",
    "Schedule",
    "Weighting",
    "__version__",
    "functional",
    "mean_input",
    "mixed_loss",
]
