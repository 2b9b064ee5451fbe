"""The public names and reprs of mixkit-audio are pinned, the doc examples run, and the package
is written against the public API of the core only."""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
from pathlib import Path

import pytest
import torch
import torchaudio

import mixkit
import mixkit_audio
import mixkit_audio.functional
from mixkit_audio import (
    AudioMixed,
    AudioOp,
    AudioParams,
    LoudnessMixUp,
    LoudnessOp,
    SpectrogramMixUp,
    SpectrogramOp,
    WaveformMixUp,
    WaveformOp,
)

SOURCES = sorted(Path(mixkit_audio.__file__).parent.glob("*.py"))
PRESETS = {WaveformMixUp: WaveformOp, LoudnessMixUp: LoudnessOp, SpectrogramMixUp: SpectrogramOp}


def test_package_public_names() -> None:
    assert mixkit_audio.__all__ == [
        "AudioMixed",
        "AudioOp",
        "AudioParams",
        "AudioPipeline",
        "LoudnessMixUp",
        "LoudnessOp",
        "SpectrogramMixUp",
        "SpectrogramOp",
        "WaveformMixUp",
        "WaveformOp",
        "__version__",
        "functional",
        "pad_collate",
        "transform_lengths",
    ]
    for name in mixkit_audio.__all__:
        assert hasattr(mixkit_audio, name), name
    assert mixkit_audio.__version__ == "0.2.0"
    assert not hasattr(mixkit_audio, "AudioMixer")  # replaced by the operations
    pyproject = (Path(mixkit_audio.__file__).parents[2] / "pyproject.toml").read_text()
    assert 'version = "0.2.0"' in pyproject and '"mixkit>=0.2,<0.3"' in pyproject


def test_functional_public_names() -> None:
    assert mixkit_audio.functional.__all__ == [
        "POLICIES",
        "absolute_lengths",
        "energy_share",
        "fill_padding",
        "frame_lengths",
        "lengths_from_mask",
        "lengths_to_mask",
        "loudness_gains",
        "mix_frame_targets",
        "mix_log_power",
        "mix_loudness",
        "mixed_lengths",
        "padding_holds",
        "segment_rms",
        "share_to_snr",
        "snr_to_share",
    ]
    for name in mixkit_audio.functional.__all__:
        assert hasattr(mixkit_audio.functional, name), name


def test_mixers_are_presets_of_the_core_template() -> None:
    for preset, op in PRESETS.items():
        assert issubclass(preset, mixkit.Mixer) and issubclass(op, AudioOp)
        # a preset fills slots and shows its arguments; it never overrides the template
        own = {name for name in vars(preset) if not name.startswith("__")}
        assert own <= {"repr_args", "policy", "snr", "min_rms", "domain", "pad_value"}, own
        assert type(preset(num_classes=3).op) is op
    assert issubclass(AudioOp, mixkit.InputOp) and inspect.isabstract(AudioOp)
    assert AudioOp.arguments == ("lengths", "frame_targets") and AudioOp.supports_out
    assert issubclass(AudioMixed, mixkit.Mixed) and issubclass(AudioParams, mixkit.MixParams)


def test_presets_expose_their_operations_settings_read_only() -> None:
    loud = LoudnessMixUp(snr=(0, 6), policy="min", min_rms=0.01)
    assert (loud.snr, loud.policy, loud.min_rms) == ((0.0, 6.0), "min", 0.01)
    spec = SpectrogramMixUp(domain="db", pad_value=-80, policy="max")
    assert (spec.domain, spec.pad_value, spec.policy) == ("db", -80.0, "max")
    assert WaveformMixUp(policy="max").policy == "max"
    with pytest.raises(AttributeError):
        loud.snr = (1.0, 2.0)  # type: ignore[misc]


def test_core_private_names_are_never_used() -> None:
    core_derived = {
        name
        for name, value in vars(mixkit_audio).items()
        if inspect.isclass(value)
        and issubclass(value, mixkit.Mixer | mixkit.InputOp | mixkit.Mixed | mixkit.MixParams)
    }
    expected = {cls.__name__ for pair in PRESETS.items() for cls in pair}
    assert core_derived == expected | {"AudioOp", "AudioMixed", "AudioParams"}
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("mixkit._"), (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("mixkit._") for a in node.names), path.name
            if isinstance(node, ast.ClassDef) and node.name in core_derived:
                for inner in ast.walk(node):  # no private attribute or method of a core class
                    if isinstance(inner, ast.Attribute | ast.FunctionDef):
                        name = inner.attr if isinstance(inner, ast.Attribute) else inner.name
                        private = name.startswith("_") and not name.startswith("__")
                        assert not private, (path.name, node.name, name)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                value = node.value
                owner = value.id if isinstance(value, ast.Name) else None
                assert owner == "self" or node.attr.startswith("__"), (path.name, node.attr)


def test_reprs() -> None:
    assert repr(WaveformMixUp(num_classes=10)) == (
        "WaveformMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=10, policy='pad')"
    )
    assert repr(WaveformMixUp(alpha=0.2, policy="min", task="multilabel", union=True)) == (
        "WaveformMixUp(alpha=0.2, mode='batch', p=1.0, num_classes=None, policy='min', "
        "task='multilabel', union=True)"
    )
    x = torch.zeros(2, 1, 4)
    mixer = WaveformMixUp(num_classes=2, policy="max")
    params = mixkit.MixParams(index=torch.tensor([1, 0]), lam=torch.tensor([0.5, 0.5]))
    mixed = mixer.mix(x, torch.tensor([0, 1]), params, lengths=torch.tensor([4, 2]))
    assert repr(mixed) == (
        "AudioMixed(batch_size=2, inputs_shape=(2, 1, 4), targets_shape=(2, 2), "
        "lengths=[4, 4], frame_targets_shape=None, task='multiclass', applied=True)"
    )
    assert repr(mixed.params) == (
        "AudioParams(batch_size=2, lam=[0.5, 0.5], index=[1, 0], lengths=[4, 2], "
        "out_lengths=[4, 4], snr_db=None)"
    )


def test_operation_reprs_and_presets_with_strategies() -> None:
    assert repr(WaveformOp()) == "WaveformOp(policy='pad')"
    assert repr(LoudnessOp(snr=3, policy="max")) == (
        "LoudnessOp(snr=(3.0, 3.0), policy='max', min_rms=0.0001)"
    )
    assert repr(SpectrogramOp(domain="db", pad_value=-100)) == (
        "SpectrogramOp(domain='db', pad_value=-100.0, policy='pad')"
    )
    assert repr(mixkit.Mixer(num_classes=2, op=WaveformOp(policy="min"))) == (
        "Mixer(alpha=1.0, mode='batch', p=1.0, num_classes=2, op=WaveformOp(policy='min'))"
    )
    term = mixkit.MixupETerm(eta=0.5)
    assert repr(WaveformMixUp(num_classes=2, term=term)) == (
        "WaveformMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=2, policy='pad', "
        "term=MixupETerm(eta=0.5, tau=1.0, version=3))"
    )


MODULES = ["functional", "_waveform", "_loudness", "_spectrogram", "_pipeline", "_mixed", "_ops"]


@pytest.mark.parametrize("module", MODULES)
def test_doc_examples_run(module: str) -> None:
    mod = importlib.import_module(f"mixkit_audio.{module}")
    names = {name: getattr(mixkit_audio, name) for name in mixkit_audio.__all__}
    result = doctest.testmod(
        mod, extraglobs={"torch": torch, "torchaudio": torchaudio, **names}, verbose=False
    )
    assert result.failed == 0
    if module not in ("_mixed", "_ops"):
        assert result.attempted > 0
