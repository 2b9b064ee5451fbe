"""The public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import mixkit
import mixkit.functional
import mixkit.testing


def test_core_public_names() -> None:
    assert mixkit.__all__ == [
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
    for name in mixkit.__all__:
        assert hasattr(mixkit, name), name


def test_functional_public_names() -> None:
    assert mixkit.functional.__all__ == [
        "box_fraction",
        "cutmix",
        "mix",
        "mix_one_hot",
        "mix_targets",
        "one_hot",
        "pair_cross_entropy",
        "smooth_targets",
        "soft_cross_entropy",
        "union_targets",
    ]


def test_testing_public_names() -> None:
    assert mixkit.testing.__all__ == [
        "CHECKS",
        "MixerCase",
        "MixerLike",
        "check_mixer",
        "parametrize_with_checks",
        "run_check",
    ]
