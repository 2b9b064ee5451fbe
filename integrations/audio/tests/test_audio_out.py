"""``out=``: every audio mixer writes its mixed batch into caller-owned memory exactly when given,
with the values it returns without it (batched path, large-row CPU path, power domains)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch
from audio_testutils import padded_batch, params
from torch import Tensor

import mixkit
from mixkit_audio import (
    LoudnessMixUp,
    LoudnessOp,
    SpectrogramMixUp,
    WaveformMixUp,
    WaveformOp,
)
from mixkit_audio import functional as AF

Y = torch.tensor([0, 1, 2, 3, 0])


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


MIXERS: dict[str, Callable[[torch.Generator], mixkit.Mixer]] = {
    **{
        f"waveform-{policy}": lambda g, pol=policy: WaveformMixUp(
            mode="elem", policy=pol, num_classes=4, generator=g
        )
        for policy in ("pad", "min", "max")
    },
    **{
        f"loudness-{policy}": lambda g, pol=policy: LoudnessMixUp(
            mode="elem", policy=pol, num_classes=4, generator=g
        )
        for policy in ("pad", "min", "max")
    },
    "plain-waveform-op": lambda g: mixkit.Mixer(
        num_classes=4, op=WaveformOp(policy="max"), generator=g
    ),
    "plain-loudness-op": lambda g: mixkit.Mixer(
        alpha=0.0, num_classes=4, op=LoudnessOp(policy="min"), generator=g
    ),
}
SPECTROGRAMS: dict[str, Callable[[torch.Generator], mixkit.Mixer]] = {
    f"spectrogram-{domain}": lambda g, d=domain: SpectrogramMixUp(
        domain=d, pad_value=-50.0, mode="elem", policy="min", num_classes=4, generator=g
    )
    for domain in ("linear", "log", "db")
}


def check_out(make: Callable[[torch.Generator], mixkit.Mixer], x: Tensor, lengths: Tensor) -> None:
    reference = make(gen(3))(x, Y, lengths=lengths)
    out = torch.full_like(x, float("nan"))
    got = make(gen(3))(x, Y, lengths=lengths, out=out)
    assert got.applied and got.inputs is out  # written there, not elsewhere
    assert torch.equal(out, reference.inputs)  # every element written, the same values
    for name in ("targets", "lam", "index", "lengths", "mask"):
        assert torch.equal(getattr(got, name), getattr(reference, name)), name
    fresh = make(gen(3))(x, Y, lengths=lengths)  # without out=: new memory
    pointer = fresh.inputs.untyped_storage().data_ptr()
    assert pointer not in (out.untyped_storage().data_ptr(), x.untyped_storage().data_ptr())


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_waveform_mixers_write_into_out(name: str, device: torch.device) -> None:
    x, lengths = padded_batch([10, 6, 3, 8, 9], seed=1)  # padding holds garbage
    check_out(MIXERS[name], x.to(device), lengths.to(device))


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_the_large_row_cpu_path_writes_into_out(name: str) -> None:
    x, lengths = padded_batch([40000, 25000, 33000, 12000, 40000], channels=1, seed=2)
    check_out(MIXERS[name], x, lengths)


@pytest.mark.parametrize("name", sorted(SPECTROGRAMS))
def test_spectrogram_mixers_write_into_out(name: str, device: torch.device) -> None:
    feats = torch.randn(5, 1, 6, 12, generator=gen(4)) * 10 - 20
    frames = torch.tensor([12, 7, 9, 12, 4])
    check_out(SPECTROGRAMS[name], feats.to(device), frames.to(device))
    half = feats.half()  # the power domains compute in float32, then write out's dtype
    check_out(SPECTROGRAMS[name], half.to(device), frames.to(device))


def test_large_spectrogram_rows_write_into_out() -> None:
    feats = torch.randn(5, 1, 64, 600, generator=gen(5)) * 10 - 20
    frames = torch.tensor([600, 420, 300, 600, 90])
    for name in sorted(SPECTROGRAMS):
        check_out(SPECTROGRAMS[name], feats, frames)


def test_mix_with_given_parameters_writes_into_out() -> None:
    x, lengths = padded_batch([10, 6, 3, 8, 9], seed=6)
    drawn = params([1, 2, 3, 0, 4], [0.3, 0.6, 1.0, 0.45, 0.2])
    for make in MIXERS.values():
        mixer = make(gen(0))
        reference = mixer.mix(x, Y, drawn, lengths=lengths)
        out = torch.full_like(x, float("nan"))
        got = mixer.mix(x, Y, drawn, lengths=lengths, out=out)
        assert got.inputs is out and torch.equal(out, reference.inputs)


def test_the_identity_leaves_out_untouched() -> None:
    x, lengths = padded_batch([10, 6, 3, 8, 9], seed=7)
    for make in MIXERS.values():
        evaluated, disabled = make(gen(0)).eval(), make(gen(0))
        disabled.enabled = False
        for mixer in (evaluated, disabled):
            out = torch.full_like(x, float("nan"))
            got = mixer(x, Y, lengths=lengths, out=out)
            assert got.inputs is x and not got.applied
            assert bool(out.isnan().all())  # not written


def raises(error: type[Exception], message: str, call: Callable[[], object]) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


X = torch.randn(2, 1, 100)


def test_out_memory_that_cannot_hold_the_mix() -> None:
    raises(
        TypeError,
        "WaveformMixUp: expected out to be a torch.Tensor or None, got [0.0] (list)",
        lambda: WaveformMixUp(num_classes=2)(X, Y[:2], out=[0.0]),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "WaveformMixUp: expected out like x (a torch.float32 tensor of shape (2, 1, 100) on cpu), "
        "got a torch.float32 tensor of shape (2, 100) on cpu",
        lambda: WaveformMixUp(num_classes=2)(X, Y[:2], out=torch.empty(2, 100)),
    )
    raises(
        ValueError,
        "LoudnessMixUp.mix: expected out like x (a torch.float32 tensor of shape (2, 1, 100) on "
        "cpu), got a torch.float64 tensor of shape (2, 1, 100) on cpu",
        lambda: LoudnessMixUp(num_classes=2).mix(
            X, Y[:2], mixkit.MixParams.identity(2), out=torch.empty(2, 1, 100, dtype=torch.float64)
        ),
    )
    raises(
        ValueError,
        "SpectrogramMixUp: expected a contiguous out, got out with strides (1, 2, 8)",
        lambda: SpectrogramMixUp(num_classes=2)(
            torch.randn(2, 4, 5), Y[:2], out=torch.empty(5, 4, 2).transpose(0, 2)
        ),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected out not to share memory with x, got out on the storage of x",
        lambda: WaveformMixUp(num_classes=2)(X, Y[:2], out=X),
    )
    needs_grad = X.clone().requires_grad_()
    raises(
        ValueError,
        "WaveformMixUp: expected out=None when x requires grad (writing into out is not "
        "differentiable), got an out tensor",
        lambda: WaveformMixUp(num_classes=2)(needs_grad, Y[:2], out=torch.empty_like(X)),
    )
    with torch.inference_mode():
        frozen = torch.empty_like(X)
    raises(
        ValueError,
        "WaveformMixUp: expected out made outside torch.inference_mode(), got an inference tensor",
        lambda: WaveformMixUp(num_classes=2)(X, Y[:2], out=frozen),
    )
    raises(
        ValueError,
        "mix_log_power: expected out like x (a torch.float32 tensor of shape (2, 1, 100) on cpu), "
        "got a torch.float32 tensor of shape (2, 100) on cpu",
        lambda: AF.mix_log_power(X, torch.tensor([1, 0]), 0.5, scale=1.0, out=torch.empty(2, 100)),
    )
