"""The public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import mixkit
import mixkit.functional
import mixkit.testing
import mixkit.validation


def test_core_public_names() -> None:
    assert mixkit.__all__ == [
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
    for name in mixkit.__all__:
        assert hasattr(mixkit, name), name


def test_functional_public_names() -> None:
    assert mixkit.functional.__all__ == [
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


def test_testing_public_names() -> None:
    assert mixkit.testing.__all__ == [
        "CHECKS",
        "MixerCase",
        "MixerLike",
        "check_mixer",
        "parametrize_with_checks",
        "run_check",
    ]


def test_validation_public_names() -> None:
    assert mixkit.validation.__all__ == [
        "check_batch",
        "check_bool",
        "check_choice",
        "check_float",
        "check_generator",
        "check_int",
        "check_mixer",
        "describe",
        "fail",
        "mixer_repr",
        "shape_str",
    ]
