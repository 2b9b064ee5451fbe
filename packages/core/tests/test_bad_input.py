"""Every bad input gets a clear error naming the argument, what was expected and what came."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import torch

import mixkit
from mixkit import CutMix, MixUp

X = torch.randn(4, 3, 8, 8)
Y = torch.tensor([0, 1, 2, 3])
IDX = torch.tensor([1, 0, 3, 2])
BOX = torch.tensor([[[2, 5], [1, 4]]])


def nan_batch() -> torch.Tensor:
    x = X.clone()
    x[1, 0, 0, 0] = float("nan")
    return x


def cuda_generator() -> Any:
    return mock.Mock(spec=torch.Generator, device=torch.device("cuda", 0))


# (id, call, exception type, the exact message)
CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "alpha_negative",
        lambda: MixUp(alpha=-1.0),
        ValueError,
        "MixUp: expected alpha >= 0, got -1.0",
    ),
    (
        "alpha_nan",
        lambda: MixUp(alpha=float("nan")),
        ValueError,
        "MixUp: expected a finite alpha >= 0, got nan",
    ),
    (
        "alpha_string",
        lambda: MixUp(alpha="1"),
        TypeError,
        "MixUp: expected alpha to be a real number, got '1' (str)",
    ),
    ("p_above_one", lambda: MixUp(p=1.5), ValueError, "MixUp: expected p in [0, 1], got 1.5"),
    ("p_negative", lambda: CutMix(p=-0.1), ValueError, "CutMix: expected p in [0, 1], got -0.1"),
    (
        "unknown_mode",
        lambda: MixUp(mode="batched"),
        ValueError,
        "MixUp: expected mode to be one of 'batch' | 'elem' | 'pair', got 'batched'",
    ),
    (
        "num_classes_zero",
        lambda: MixUp(num_classes=0),
        ValueError,
        "MixUp: expected num_classes >= 1, got 0",
    ),
    (
        "label_smoothing_one",
        lambda: MixUp(label_smoothing=1.0),
        ValueError,
        "MixUp: expected label_smoothing in [0, 1), got 1.0",
    ),
    (
        "unknown_task",
        lambda: MixUp(task="binary"),
        ValueError,
        "MixUp: expected task to be one of 'multiclass' | 'multilabel' | 'regression', "
        "got 'binary'",
    ),
    (
        "union_without_multilabel",
        lambda: MixUp(union=True),
        ValueError,
        "MixUp: expected union=True only with task='multilabel', got task='multiclass'",
    ),
    (
        "smoothing_regression",
        lambda: MixUp(task="regression", label_smoothing=0.1),
        ValueError,
        "MixUp: expected label_smoothing=0 for task='regression', got 0.1",
    ),
    (
        "generator_is_a_seed",
        lambda: MixUp(generator=0),
        TypeError,
        "MixUp: expected generator to be a torch.Generator or None (for a seed, pass "
        "torch.Generator().manual_seed(seed)), got 0 (int)",
    ),
    (
        "generator_on_another_device",
        lambda: MixUp(generator=cuda_generator()),
        ValueError,
        "MixUp: expected a CPU torch.Generator (parameters are drawn on the CPU so that one "
        "seed gives the same draw on every device), got a generator on cuda:0",
    ),
    (
        "schedule_not_a_schedule",
        lambda: MixUp(schedule=print),
        TypeError,
        "MixUp: expected schedule to be a mixkit Schedule or None, got <built-in function print> "
        "(builtin_function_or_method)",
    ),
    (
        "batch_size_mismatch",
        lambda: MixUp(num_classes=4)(X, Y[:3]),
        ValueError,
        "MixUp: expected y with batch size 4 (the first dimension of x, shape (4, 3, 8, 8)), "
        "got y of shape (3,)",
    ),
    (
        "label_too_large",
        lambda: MixUp(num_classes=3)(X, Y),
        ValueError,
        "MixUp: expected class labels in [0, 2] (num_classes=3), got 3",
    ),
    (
        "label_negative",
        lambda: MixUp(num_classes=4)(X, torch.tensor([0, -1, 2, 3])),
        ValueError,
        "MixUp: expected class labels in [0, 3] (num_classes=4), got -1",
    ),
    (
        "int_labels_without_num_classes",
        lambda: MixUp()(X, Y),
        ValueError,
        "MixUp: expected num_classes (an int) when y holds integer class labels, got None",
    ),
    (
        "soft_rows_do_not_sum_to_one",
        lambda: MixUp()(X, torch.full((4, 3), 0.5)),
        ValueError,
        "MixUp: expected soft targets whose rows sum to 1 (for multi-hot targets pass "
        "task='multilabel'), got a row sum off by 0.5",
    ),
    (
        "soft_negative",
        lambda: MixUp()(X, torch.tensor([[1.5, -0.5]] * 4)),
        ValueError,
        "MixUp: expected soft targets with values >= 0, got a minimum of -0.5",
    ),
    (
        "soft_columns_mismatch",
        lambda: MixUp(num_classes=5)(X, torch.full((4, 3), 1 / 3)),
        ValueError,
        "MixUp: expected soft targets with num_classes=5 columns, got 3 columns",
    ),
    (
        "integer_images",
        lambda: MixUp(num_classes=4)(X.to(torch.uint8), Y),
        ValueError,
        "MixUp: expected x to be a floating-point tensor (convert integer images first, e.g. "
        "x.float() / 255 or torchvision's ToDtype(torch.float32, scale=True)), got a torch.uint8 "
        "tensor of shape (4, 3, 8, 8) on cpu",
    ),
    (
        "x_not_a_tensor",
        lambda: MixUp(num_classes=4)([1, 2], Y),
        TypeError,
        "MixUp: expected x to be a torch.Tensor, got [1, 2] (list)",
    ),
    (
        "y_not_a_tensor",
        lambda: MixUp(num_classes=4)(X, [0, 1, 2, 3]),
        TypeError,
        "MixUp: expected y to be a torch.Tensor, got [0, 1, 2, 3] (list)",
    ),
    (
        "nan_inputs_checked",
        lambda: MixUp(num_classes=4, check_finite=True)(nan_batch(), Y),
        ValueError,
        "MixUp: expected finite inputs (check_finite=True), got NaN or infinite values in x",
    ),
    (
        "empty_batch",
        lambda: MixUp(num_classes=4)(torch.zeros(0, 3), torch.zeros(0).long()),
        ValueError,
        "MixUp: expected a non-empty batch, got x of shape (0, 3)",
    ),
    (
        "cutmix_without_spatial_dims",
        lambda: CutMix(num_classes=4)(torch.randn(4, 10), Y),
        ValueError,
        "CutMix: expected x of shape (B, C, *spatial) with at least one spatial "
        "dimension (e.g. images (B, C, H, W)), got shape (4, 10)",
    ),
    (
        "float_labels_1d",
        lambda: MixUp(num_classes=4)(X, Y.float()),
        ValueError,
        "MixUp: expected y as int64 class labels of shape (B,) or float targets of shape (B, C) "
        "(for regression targets pass task='regression'), got a torch.float32 tensor of shape "
        "(4,) on cpu",
    ),
    (
        "multilabel_out_of_range",
        lambda: MixUp(task="multilabel")(X, torch.full((4, 3), 2.0)),
        ValueError,
        "MixUp: expected multi-label targets with values in [0, 1], got values in [2.0, 2.0]",
    ),
    (
        "regression_integer_targets",
        lambda: MixUp(task="regression")(X, Y),
        ValueError,
        "MixUp: expected regression targets as a float tensor (B,) or (B, K), got a torch.int64 "
        "tensor of shape (4,) on cpu",
    ),
    (
        "scalar_inputs",
        lambda: MixUp(num_classes=4)(torch.tensor(1.0), Y),
        ValueError,
        "MixUp: expected x with a batch dimension (B, ...), got a scalar tensor",
    ),
    (
        "labels_on_another_device",
        lambda: MixUp(num_classes=4)(X.to("meta"), Y),
        ValueError,
        "MixUp: expected y on the device of x (meta), got y on cpu",
    ),
    (
        "draw_lam_out_of_range",
        lambda: MixUp().draw(X, lam=1.5),
        ValueError,
        "MixUp.draw: expected lam in [0, 1], got 1.5",
    ),
    (
        "loss_logits_shape",
        lambda: MixUp(num_classes=4)(X, Y).loss(torch.randn(4, 5)),
        ValueError,
        "mixed_loss: expected logits of shape (4, 4), got (4, 5)",
    ),
    (
        "loss_unknown_reduction",
        lambda: MixUp(num_classes=4)(X, Y).loss(torch.randn(4, 4), reduction="avg"),
        ValueError,
        "mixed_loss: expected reduction to be one of 'mean' | 'weighted_mean' | 'sum' | 'none', "
        "got 'avg'",
    ),
    (
        "random_choice_empty",
        lambda: mixkit.RandomChoice([]),
        ValueError,
        "RandomChoice: expected a non-empty sequence of mixkit mixers, got [] (list)",
    ),
    (
        "random_choice_p_length",
        lambda: mixkit.RandomChoice([MixUp()], p=[0.5, 0.5]),
        ValueError,
        "RandomChoice: expected p with one probability per mixer (1), got 2 values",
    ),
    (
        "off_after_nothing",
        lambda: mixkit.OffAfter(),
        ValueError,
        "OffAfter: expected exactly one of epoch, step or fraction, got none",
    ),
    (
        "off_after_fraction_without_total",
        lambda: mixkit.OffAfter(fraction=0.5),
        ValueError,
        "OffAfter: expected exactly one of total_epochs or total_steps with fraction, got none",
    ),
    (
        "linear_decay_empty_range",
        lambda: mixkit.LinearDecay(start=5, end=5),
        ValueError,
        "LinearDecay: expected end > start (5), got 5",
    ),
    (
        "auto_switch_nan_metric",
        lambda: mixkit.AutoSwitch().report(float("nan"), epoch=0, step=0),
        ValueError,
        "AutoSwitch.report: expected value to be finite, got nan",
    ),
    (
        "negative_epoch",
        lambda: MixUp().set_epoch(-1),
        ValueError,
        "MixUp.set_epoch: expected epoch >= 0, got -1",
    ),
    (
        "out_wrong_shape",
        lambda: mixkit.functional.mix(X, IDX, 0.5, out=torch.empty(3, 3, 8, 8)),
        ValueError,
        "mix: expected out like x (a torch.float32 tensor of shape (4, 3, 8, 8) on cpu), "
        "got a torch.float32 tensor of shape (3, 3, 8, 8) on cpu",
    ),
    (
        "out_wrong_dtype",
        lambda: mixkit.functional.cutmix(X, IDX, BOX, out=torch.empty(4, 3, 8, 8).double()),
        ValueError,
        "cutmix: expected out like x (a torch.float32 tensor of shape (4, 3, 8, 8) on cpu), "
        "got a torch.float64 tensor of shape (4, 3, 8, 8) on cpu",
    ),
    (
        "out_not_contiguous",
        lambda: mixkit.functional.mix(X, IDX, 0.5, out=torch.empty(4, 3, 8, 8).transpose(2, 3)),
        ValueError,
        "mix: expected a contiguous out, got out with strides (192, 64, 1, 8)",
    ),
    (
        "out_is_x",
        lambda: mixkit.functional.mix(X, IDX, 0.5, out=X),
        ValueError,
        "mix: expected out not to share memory with x, got out on the storage of x",
    ),
    (
        "out_with_grad",
        lambda: mixkit.functional.mix(
            X.clone().requires_grad_(), IDX, 0.5, out=torch.empty(4, 3, 8, 8)
        ),
        ValueError,
        "mix: expected out=None when x requires grad (writing into out is not "
        "differentiable), got an out tensor",
    ),
    (
        "out_not_a_tensor",
        lambda: mixkit.functional.mix(X, IDX, 0.5, out=[0.0]),  # type: ignore[arg-type]
        TypeError,
        "mix: expected out to be a torch.Tensor or None, got [0.0] (list)",
    ),
    # -- parameters a caller hands to mix() ------------------------------------------------
    (
        "params_lam_above_one",
        lambda: MixUp(num_classes=4).mix(X, Y, params(lam=torch.full((4,), 1.5))),
        ValueError,
        "MixUp.mix: expected params.lam in [0, 1], got values in [1.5, 1.5]",
    ),
    (
        "params_lam_negative",
        lambda: MixUp(num_classes=4).mix(X, Y, params(lam=torch.tensor([1.0, -0.5, 0.5, 1.0]))),
        ValueError,
        "MixUp.mix: expected params.lam in [0, 1], got values in [-0.5, 1]",
    ),
    (
        "params_lam_nan",
        lambda: MixUp(num_classes=4).mix(X, Y, params(lam=torch.full((4,), float("nan")))),
        ValueError,
        "MixUp.mix: expected params.lam in [0, 1], got values in [nan, nan]",
    ),
    (
        "params_lam_length",
        lambda: MixUp(num_classes=4).mix(X, Y, params(lam=torch.full((3,), 0.5))),
        ValueError,
        "MixUp.mix: expected one lam per sample (params.lam of shape (4,)), got params.lam of "
        "shape (3,)",
    ),
    (
        "params_index_out_of_range",
        lambda: MixUp(num_classes=4).mix(X, Y, params(index=torch.tensor([1, 0, 9, 2]))),
        ValueError,
        "MixUp.mix: expected params.index in [0, 3], got 9",
    ),
    (
        "params_index_negative",
        lambda: MixUp(num_classes=4).mix(X, Y, params(index=torch.tensor([1, 0, -1, 2]))),
        ValueError,
        "MixUp.mix: expected params.index in [0, 3], got -1",
    ),
    (
        "params_index_length",
        lambda: MixUp(num_classes=4).mix(X, Y, params(index=torch.tensor([1, 0]))),
        ValueError,
        "MixUp.mix: expected params for a batch of 4 (params.index of shape (4,)), got "
        "params.index of shape (2,)",
    ),
    (
        "params_index_float",
        lambda: MixUp(num_classes=4).mix(X, Y, params(index=torch.tensor([1.0, 0.0, 3.0, 2.0]))),
        ValueError,
        "MixUp.mix: expected params.index as an int64 tensor of shape (B,), got a torch.float32 "
        "tensor of shape (4,) on cpu",
    ),
    (
        "params_not_params",
        lambda: MixUp(num_classes=4).mix(X, Y, (1, 0.5)),  # type: ignore[arg-type]
        ValueError,
        "MixUp.mix: expected MixParams for a batch of 4 (from draw()), got (1, 0.5) (tuple)",
    ),
    (
        "params_box_shape",
        lambda: CutMix(num_classes=4).mix(X, Y, params(box=torch.zeros(2, 2, 2).long())),
        ValueError,
        "CutMix.mix: expected params.box as None or an int64 tensor of shape (1 or 4, n_spatial, "
        "2), got a torch.int64 tensor of shape (2, 2, 2) on cpu",
    ),
    # -- the rest of the sweep -------------------------------------------------------------
    (
        "random_choice_p_infinite",
        lambda: mixkit.RandomChoice([MixUp(), CutMix()], p=[float("inf"), 1.0]),
        ValueError,
        "RandomChoice: expected p of finite non-negative values with a positive sum, got "
        "[inf, 1.0]",
    ),
    (
        "random_choice_p_nan",
        lambda: mixkit.RandomChoice([MixUp(), CutMix()], p=[float("nan"), 1.0]),
        ValueError,
        "RandomChoice: expected p of finite non-negative values with a positive sum, got "
        "[nan, 1.0]",
    ),
    (
        "one_hot_label_too_large",
        lambda: mixkit.functional.one_hot(torch.tensor([0, 3]), 3),
        ValueError,
        "one_hot: expected labels in [0, 2] (num_classes=3), got 3",
    ),
    (
        "one_hot_label_negative",
        lambda: mixkit.functional.one_hot(torch.tensor([-1, 0]), 3),
        ValueError,
        "one_hot: expected labels in [0, 2] (num_classes=3), got -1",
    ),
    (
        "mix_index_length",
        lambda: mixkit.functional.mix(X, torch.tensor([1, 0]), 0.5),
        ValueError,
        "mix: expected index as an int64 tensor of shape (4,) (one partner per sample), got a "
        "torch.int64 tensor of shape (2,) on cpu",
    ),
    (
        "mix_lam_length",
        lambda: mixkit.functional.mix(X, IDX, torch.full((3,), 0.5)),
        ValueError,
        "mix: expected lam as a float or a tensor of shape (4,), got a torch.float32 tensor of "
        "shape (3,) on cpu",
    ),
    (
        "cutmix_index_not_a_tensor",
        lambda: mixkit.functional.cutmix(X, [1, 0, 3, 2], BOX),  # type: ignore[arg-type]
        TypeError,
        "cutmix: expected index to be a torch.Tensor, got [1, 0, 3, 2] (list)",
    ),
    (
        "schedule_state_into_a_mixer_without_one",
        lambda: MixUp().load_state_dict(switched_state()),
        ValueError,
        "MixUp.load_state_dict: expected a mixer with a schedule to load its saved state into, "
        "got schedule=None",
    ),
    (
        "state_of_another_kind_of_mixer",
        lambda: MixUp().load_state_dict(
            {"_extra_state": mixkit.RandomChoice([MixUp()]).get_extra_state()}
        ),
        ValueError,
        "MixUp.load_state_dict: expected the state of a MixUp like this one (keys ['epoch', "
        "'generator', 'seed', 'step', 'strategies']), got keys ['generator', 'seed']",
    ),
    (
        "unknown_call_keyword",
        lambda: MixUp(num_classes=4)(X, Y, lengths=torch.ones(4)),
        TypeError,
        "MixUp: expected keyword arguments of the input operation (none), got lengths=",
    ),
    (
        "no_labels",
        lambda: MixUp(num_classes=4)(X),
        TypeError,
        "MixUp: expected y to be a torch.Tensor of labels, got None",
    ),
    (
        "slot_of_the_wrong_kind",
        lambda: MixUp(op=mixkit.OTPairing()),  # type: ignore[arg-type]
        TypeError,
        "MixUp: expected op to be a mixkit InputOp or None, got OTPairing(k=16, cost='euclidean', "
        "solver='exact') (OTPairing)",
    ),
    (
        "cutmix_with_an_op",
        lambda: CutMix(op=mixkit.LerpOp()),
        ValueError,
        "CutMix: expected no op argument (CutMix's operation is CutMixOp; use Mixer(op=...) for "
        "another), got op=LerpOp()",
    ),
]


def params(**changes: torch.Tensor) -> mixkit.MixParams:
    base = mixkit.MixParams(index=IDX.clone(), lam=torch.full((4,), 0.5))
    return base.replace(**changes)


def switched_state() -> dict[str, Any]:
    switch = mixkit.AutoSwitch(patience=1)
    mixer = MixUp(schedule=switch)
    mixer.report(1.0)
    mixer.report(2.0)
    assert switch.switched
    return mixer.state_dict()


def test_there_are_at_least_fifteen_distinct_cases() -> None:
    assert len({message for *_, message in CASES}) >= 15


@pytest.mark.parametrize(
    ("call", "kind", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_message(call: Callable[[], object], kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        call()


def test_pair_mode_refuses_a_non_random_pairing() -> None:
    class Nearest(mixkit.Pairing):
        needs_features = True

        def pair(self, batch_size: int, features: Any, generator: Any) -> torch.Tensor:
            return torch.arange(batch_size)

        def __repr__(self) -> str:
            return "Nearest()"

    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUp: expected random pairing with mode='pair' (it pairs samples two by two), "
            "got pairing=Nearest()"
        ),
    ):
        MixUp(mode="pair", pairing=Nearest())


def test_errors_leave_the_mixer_usable() -> None:
    mixer = MixUp(num_classes=4)
    with pytest.raises(ValueError, match="class labels"):
        mixer(X, torch.tensor([0, 1, 2, 9]))
    assert mixer.step == 0
    assert mixer(X, Y).inputs.shape == X.shape
