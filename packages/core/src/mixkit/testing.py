"""The conformance suite: invariants every mixkit mixer must satisfy.

Core runs it on its own mixers and every integration runs it on its own, the way
scikit-learn's ``parametrize_with_checks`` is run by every estimator package::

    from mixkit.testing import MixerCase, parametrize_with_checks, run_check

    CASES = [MixerCase("mixup", lambda g: MixUp(num_classes=10, generator=g), make_batch)]

    @parametrize_with_checks(CASES)
    def test_conformance(case, check):
        run_check(case, check)

A known deviation is declared in ``MixerCase.expected_failures`` with its reason; the check is
then run and must fail (a strict ``xfail``), so a deviation can neither hide nor go stale.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from mixkit._mixed import Mixed
from mixkit._params import MixParams

__all__ = [
    "CHECKS",
    "MixerCase",
    "MixerLike",
    "check_mixer",
    "parametrize_with_checks",
    "run_check",
]


class MixerLike(Protocol):
    """What the suite needs of a mixer (every :class:`mixkit.Mixer` and ``RandomChoice``)."""

    enabled: bool
    training: bool

    def __call__(self, x: Tensor, y: Tensor, **kwargs: Any) -> Mixed:
        """Draw and mix one batch."""

    def draw(self, x: Tensor, *, lam: float | None = None) -> MixParams:
        """Draw the parameters of one mix."""

    def mix(self, x: Tensor, y: Tensor, params: MixParams) -> Mixed:
        """Mix a batch with drawn parameters."""

    def train(self, mode: bool = True) -> Any:
        """Training mode (mixing) or not."""

    def eval(self) -> Any:
        """Evaluation mode: the identity."""

    def state_dict(self) -> dict[str, Any]:
        """The draw state (generators, schedule)."""

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> Any:
        """Restore a :meth:`state_dict`."""


@dataclass(frozen=True)
class MixerCase:
    """One mixer configuration to check.

    Attributes:
        name: used in test ids.
        make_mixer: builds the mixer from a CPU generator (all its randomness must come from it).
        make_batch: builds a CPU batch ``(x, y)`` of at least 3 samples from a generator.
        expected_failures: check name -> reason, for deviations that are part of the method.
        dtypes: floating dtypes the mixer must preserve.
    """

    name: str
    make_mixer: Callable[[torch.Generator], MixerLike]
    make_batch: Callable[[torch.Generator], tuple[Tensor, Tensor]]
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16)


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(case: MixerCase, device: torch.device | str) -> tuple[Tensor, Tensor]:
    x, y = case.make_batch(_seeded(1234))
    if x.shape[0] < 3:
        raise ValueError(f"MixerCase {case.name!r}: make_batch must give at least 3 samples")
    return x.to(device), y.to(device)


def _same(a: Mixed, b: Mixed, what: str) -> None:
    for name in ("inputs", "targets", "lam", "index", "weights"):
        ta, tb = getattr(a, name), getattr(b, name)
        if not torch.equal(ta, tb):
            raise AssertionError(f"{what}: Mixed.{name} differs")


def _dense_identity(mixer: MixerLike, x: Tensor, y: Tensor) -> Mixed:
    was = mixer.enabled
    mixer.enabled = False
    try:
        return mixer(x, y)
    finally:
        mixer.enabled = was


# -- the checks -----------------------------------------------------------------------------


def check_inputs_untouched(case: MixerCase, device: torch.device | str) -> None:
    """The caller's tensors are never modified."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    x0, y0 = x.clone(), y.clone()
    for _ in range(3):
        mixer(x, y)
    assert torch.equal(x, x0), "the mixer modified its input x"
    assert torch.equal(y, y0), "the mixer modified its labels y"


def check_results_stay_valid(case: MixerCase, device: torch.device | str) -> None:
    """A result the caller still holds is never changed by later calls."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    held: list[tuple[str, Tensor, Tensor]] = []
    for call in range(4):
        out = mixer(x, y)
        for name in ("inputs", "targets", "lam", "index", "weights"):
            value = getattr(out, name)
            if isinstance(value, Tensor):
                held.append((f"call {call}: Mixed.{name}", value, value.clone()))
    for what, value, snapshot in held:
        assert torch.equal(value, snapshot), f"{what} changed by a later call"


def check_out_memory(case: MixerCase, device: torch.device | str) -> None:
    """``out=`` is used exactly when given: the result is written there and equals the result
    without it; mixers whose operation makes its own output refuse it with a message."""
    x, y = _batch(case, device)
    if not isinstance(x, Tensor):
        return
    reference = case.make_mixer(_seeded(7))(x, y)
    out = torch.empty_like(x)
    try:
        got = case.make_mixer(_seeded(7))(x, y, out=out)
    except (ValueError, TypeError) as error:
        if "out" not in str(error):
            raise AssertionError(f"a refusal of out= that does not name it: {error}") from error
        return
    assert got.inputs is out or not got.applied, "out= was given but the result lives elsewhere"
    assert torch.equal(got.inputs, reference.inputs), "out= changed the mixed values"
    fresh = case.make_mixer(_seeded(7))(x, y)
    if fresh.applied:
        ptr = fresh.inputs.untyped_storage().data_ptr()
        assert ptr not in (out.untyped_storage().data_ptr(), x.untyped_storage().data_ptr()), (
            "without out= the result shares memory with x or with an earlier out"
        )


def check_inference_mode(case: MixerCase, device: torch.device | str) -> None:
    """A first call under ``torch.inference_mode()`` or ``torch.no_grad()`` leaves the mixer
    fully usable outside it."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    with torch.inference_mode():
        first = mixer(x, y)
    with torch.no_grad():
        mixer(x, y)
    for _ in range(2):
        out = mixer(x, y)
        assert out.targets.shape == first.targets.shape
        if isinstance(out.inputs, Tensor):
            assert not torch.is_inference(out.inputs) or out.inputs is x, (
                "an inference tensor came out of a call outside inference mode"
            )


def check_shapes_dtype_device(case: MixerCase, device: torch.device | str) -> None:
    """Inputs keep shape, dtype and device; targets, lam, index and weights are well formed."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    out = mixer(x, y)
    batch = x.shape[0]
    assert isinstance(out, Mixed), f"expected a mixkit.Mixed, got {type(out).__name__}"
    assert out.inputs.shape == x.shape, f"inputs shape {out.inputs.shape} != {x.shape}"
    assert out.inputs.dtype == x.dtype, f"inputs dtype {out.inputs.dtype} != {x.dtype}"
    assert out.inputs.device == x.device, f"inputs on {out.inputs.device}, x on {x.device}"
    for name in ("targets", "lam", "index", "weights"):
        t = getattr(out, name)
        assert t.device == x.device, f"{name} on {t.device}, x on {x.device}"
        assert t.shape[0] == batch, f"{name} has batch size {t.shape[0]}, not {batch}"
    assert out.lam.shape == (batch,) and out.index.shape == (batch,)
    assert out.weights.shape == (batch,)
    assert out.index.dtype == torch.int64
    assert bool(((out.index >= 0) & (out.index < batch)).all()), "index out of range"
    assert bool(((out.lam >= 0) & (out.lam <= 1)).all()), "lam outside [0, 1]"
    assert bool((out.weights >= 0).all()), "negative weights"


def check_targets_valid(case: MixerCase, device: torch.device | str) -> None:
    """Multiclass targets are distributions; multi-label in [0, 1]; regression finite."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    for _ in range(3):
        out = mixer(x, y)
        t = out.targets.float()
        assert bool(torch.isfinite(t).all()), "non-finite targets"
        if out.task == "multiclass":
            assert bool((t >= 0).all()), "negative target mass"
            torch.testing.assert_close(
                t.sum(dim=1), torch.ones(t.shape[0], device=t.device), atol=1e-5, rtol=0
            )
        elif out.task == "multilabel":
            assert bool(((t >= 0) & (t <= 1)).all()), "multi-label targets outside [0, 1]"


def check_lam_one_identity(case: MixerCase, device: torch.device | str) -> None:
    """With lam = 1 a mixer changes nothing, whoever the partner is."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    out = mixer.mix(x, y, mixer.draw(x, lam=1.0))
    assert torch.equal(out.inputs, x), "lam = 1 changed the inputs"
    ref = _dense_identity(mixer, x, y)
    torch.testing.assert_close(out.targets, ref.targets, rtol=0, atol=0)


def check_same_generator_same_result(case: MixerCase, device: torch.device | str) -> None:
    """Two mixers built from equally seeded generators draw the same batches."""
    a, b = case.make_mixer(_seeded(7)), case.make_mixer(_seeded(7))
    x, y = _batch(case, device)
    for _ in range(3):
        _same(a(x, y), b(x, y), "same seed")


def check_disabled_identity(case: MixerCase, device: torch.device | str) -> None:
    """``enabled=False`` is exactly the identity."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    mixer.enabled = False
    out = mixer(x, y)
    _check_identity(out, x)


def check_eval_identity(case: MixerCase, device: torch.device | str) -> None:
    """In eval mode a mixer is exactly the identity (no mixing, no smoothing)."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    mixer.eval()
    out = mixer(x, y)
    _check_identity(out, x)
    assert out.label_smoothing == 0.0, "label smoothing applied in eval mode"


def _check_identity(out: Mixed, x: Tensor) -> None:
    batch = x.shape[0]
    assert out.inputs is x, "identity result must return the input object itself"
    assert not out.applied
    assert torch.equal(out.lam, torch.ones(batch, device=x.device))
    assert torch.equal(out.index, torch.arange(batch, device=x.device))
    assert torch.equal(out.weights, torch.ones(batch, device=x.device))


def check_state_dict_round_trip(case: MixerCase, device: torch.device | str) -> None:
    """``state_dict`` captures everything the next draw depends on."""
    mixer = case.make_mixer(_seeded(3))
    x, y = _batch(case, device)
    mixer(x, y)
    state = copy.deepcopy(mixer.state_dict())
    first = mixer(x, y)
    mixer.load_state_dict(state)
    _same(first, mixer(x, y), "after load_state_dict")
    other = case.make_mixer(_seeded(99))
    other.load_state_dict(state)
    _same(first, other(x, y), "a fresh mixer loaded with the state")


def check_copy_independent(case: MixerCase, device: torch.device | str) -> None:
    """A deepcopy or pickle (what DataLoader workers do) copies the state, not shares it."""
    mixer = case.make_mixer(_seeded(5))
    x, y = _batch(case, device)
    twin = copy.deepcopy(mixer)
    pickled = pickle.loads(pickle.dumps(mixer))
    first = mixer(x, y)
    _same(first, twin(x, y), "deepcopy")
    _same(first, pickled(x, y), "pickle")


def check_dtypes(case: MixerCase, device: torch.device | str) -> None:
    """Every floating dtype is preserved (fp32, fp16, bf16)."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    for dtype in case.dtypes:
        xd = x.to(dtype)
        out = mixer(xd, y)
        assert out.inputs.dtype == dtype, f"{dtype} became {out.inputs.dtype}"
        assert bool(torch.isfinite(out.inputs.float()).all()), f"non-finite output in {dtype}"


def check_batch_sizes(case: MixerCase, device: torch.device | str) -> None:
    """B = 1 and odd B just work."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    for size in (1, 3):
        out = mixer(x[:size], y[:size])
        assert out.inputs.shape == x[:size].shape
        assert out.targets.shape[0] == size


def check_loss_backward(case: MixerCase, device: torch.device | str) -> None:
    """The loss of a mixed batch is finite and gives finite gradients (a model is passed to
    mixers whose extra loss term needs one: a linear map of the flattened inputs)."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    out = mixer(x, y)
    shape = tuple(out.targets.shape)
    if out.term is not None and out.term.needs_model and isinstance(x, Tensor):
        classes = shape[1] if len(shape) > 1 else 1
        weight = torch.randn(x[0].numel(), classes, generator=_seeded(1)).to(device)
        weight.requires_grad_(True)

        def model(inputs: Tensor) -> Tensor:
            return (inputs.reshape(inputs.shape[0], -1).float() @ weight).reshape(
                inputs.shape[0], *shape[1:]
            )

        loss = out.loss(model(out.inputs), model=model)
        leaf = weight
    else:
        leaf = torch.zeros(shape, device=x.device, requires_grad=True)
        with torch.no_grad():
            leaf.add_(torch.randn(shape, generator=_seeded(1)).to(x.device))
        loss = out.loss(leaf)
    assert loss.ndim == 0 and bool(torch.isfinite(loss)), f"bad loss {loss}"
    (grad,) = torch.autograd.grad(loss, leaf)
    assert bool(torch.isfinite(grad).all()), "non-finite gradient"


def check_convex_combination(case: MixerCase, device: torch.device | str) -> None:
    """Each mixed value lies between the two source values (lerp, CutMix, their variants)."""
    mixer = case.make_mixer(_seeded(0))
    x, y = _batch(case, device)
    out = mixer(x, y)
    partner = x.index_select(0, out.index)
    low, high = torch.minimum(x, partner), torch.maximum(x, partner)
    tol = 1e-6 * (1 + x.abs())
    assert bool(((out.inputs >= low - tol) & (out.inputs <= high + tol)).all()), (
        "a mixed value lies outside its two sources"
    )


def check_repr(case: MixerCase, device: torch.device | str) -> None:
    """``repr`` names the class."""
    mixer = case.make_mixer(_seeded(0))
    text = repr(mixer)
    assert text.startswith(type(mixer).__name__ + "("), text


CHECKS: dict[str, Callable[[MixerCase, torch.device | str], None]] = {
    "inputs_untouched": check_inputs_untouched,
    "results_stay_valid": check_results_stay_valid,
    "out_memory": check_out_memory,
    "inference_mode": check_inference_mode,
    "shapes_dtype_device": check_shapes_dtype_device,
    "targets_valid": check_targets_valid,
    "lam_one_identity": check_lam_one_identity,
    "same_generator_same_result": check_same_generator_same_result,
    "disabled_identity": check_disabled_identity,
    "eval_identity": check_eval_identity,
    "state_dict_round_trip": check_state_dict_round_trip,
    "copy_independent": check_copy_independent,
    "dtypes": check_dtypes,
    "batch_sizes": check_batch_sizes,
    "loss_backward": check_loss_backward,
    "convex_combination": check_convex_combination,
    "repr": check_repr,
}


def run_check(case: MixerCase, check: str, device: torch.device | str = "cpu") -> None:
    """Run one named check of :data:`CHECKS` on ``case``."""
    if check not in CHECKS:
        raise ValueError(f"run_check: expected one of {sorted(CHECKS)}, got {check!r}")
    CHECKS[check](case, device)


def _iter_cases(cases: Sequence[MixerCase]) -> Iterator[tuple[MixerCase, str]]:
    for case in cases:
        for unknown in set(case.expected_failures) - set(CHECKS):
            raise ValueError(f"MixerCase {case.name!r}: unknown expected failure {unknown!r}")
        for name in CHECKS:
            yield case, name


def check_mixer(case: MixerCase, device: torch.device | str = "cpu") -> None:
    """Run every check; expected failures must fail, everything else must pass."""
    for _, name in _iter_cases([case]):
        if name in case.expected_failures:
            try:
                run_check(case, name, device)
            except AssertionError:
                continue
            raise AssertionError(
                f"{case.name}: {name} was declared a deviation "
                f"({case.expected_failures[name]}) but passes; remove it from expected_failures"
            )
        run_check(case, name, device)


def parametrize_with_checks(cases: Sequence[MixerCase]) -> Any:
    """A ``pytest.mark.parametrize("case, check", ...)`` over every case and check.

    Expected failures become strict ``xfail`` marks carrying their reason.
    """
    import pytest  # test-time dependency only

    params = []
    for case, name in _iter_cases(cases):
        marks = []
        if name in case.expected_failures:
            marks.append(
                pytest.mark.xfail(
                    reason=case.expected_failures[name], raises=AssertionError, strict=True
                )
            )
        params.append(pytest.param(case, name, id=f"{case.name}-{name}", marks=marks))
    return pytest.mark.parametrize(("case", "check"), params)
