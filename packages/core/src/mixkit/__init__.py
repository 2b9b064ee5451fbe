"""mixkit: data mixing (mixup and its modern descendants) for every domain.

The core: pure kernels in :mod:`mixkit.functional`, mixers built from one template and
strategies (input operation, pairing, weighting, relabelling, extra loss term, schedule) that
draw from an explicit generator and return a :class:`Mixed`, whose ``loss`` is the one loss
entry. The extension API for integrations: :mod:`mixkit.validation` (the error template),
:class:`InputOp`, :class:`LossTerm`, :class:`MixerWrapper`, the introspection helpers
(:func:`iter_mixers`, :func:`generators`, :func:`reseed`) and the conformance suite in
:mod:`mixkit.testing`. ``import mixkit`` needs only torch, numpy, scipy and POT.
"""

from mixkit import functional, validation
from mixkit._choice import RandomChoice
from mixkit._cutmix import CutMix, CutMixOp
from mixkit._genlabel import GenLabel, GenLabelMixUp
from mixkit._kmixup import KMixUp, OTPairing
from mixkit._local import LocalMixUp, LocalPairing, LocalWeights
from mixkit._mean_input import mean_input
from mixkit._mixed import Mixed, mixed_loss
from mixkit._mixer import Mixer, iter_mixers
from mixkit._mixup import MixUp
from mixkit._mixupe import MixUpE, MixupETerm
from mixkit._module_mix import MixStep, ModuleMix
from mixkit._ops import InputOp, LerpOp, OpBatch
from mixkit._pairing import Pairing, RandomPairing
from mixkit._params import MixParams
from mixkit._regmixup import RegMixup, RegMixupTerm
from mixkit._relabel import Relabel
from mixkit._schedules import AutoSwitch, LinearDecay, OffAfter, Schedule
from mixkit._state import default_generator, derive_seed, generators, reseed
from mixkit._terms import LossTerm
from mixkit._weighting import Weighting
from mixkit._wrapper import MixerWrapper

__version__ = "0.2.0"

__all__ = [
    "AutoSwitch",
    "CutMix",
    "CutMixOp",
    "GenLabel",
    "GenLabelMixUp",
    "InputOp",
    "KMixUp",
    "LerpOp",
    "LinearDecay",
    "LocalMixUp",
    "LocalPairing",
    "LocalWeights",
    "LossTerm",
    "MixParams",
    "MixStep",
    "MixUp",
    "MixUpE",
    "Mixed",
    "Mixer",
    "MixerWrapper",
    "MixupETerm",
    "ModuleMix",
    "OTPairing",
    "OffAfter",
    "OpBatch",
    "Pairing",
    "RandomChoice",
    "RandomPairing",
    "RegMixup",
    "RegMixupTerm",
    "Relabel",
    "Schedule",
    "Weighting",
    "__version__",
    "default_generator",
    "derive_seed",
    "functional",
    "generators",
    "iter_mixers",
    "mean_input",
    "mixed_loss",
    "reseed",
    "validation",
]
