"""GenLabel: densities against scipy / scikit-learn, the intrusion fix, blending, state, errors."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import torch
from scipy import stats
from torch import Tensor, nn

import mixkit
from mixkit import CutMix, GenLabel, GenLabelMixUp, MixUp
from mixkit.testing import MixerCase, parametrize_with_checks, run_check

ROOT = Path(__file__).resolve().parents[3]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blobs(n: int = 40, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Three anisotropic 3-D blobs: classes 0, 1, 2 (n each)."""
    g = gen(seed)
    scale = torch.tensor([1.0, 2.0, 0.5], dtype=dtype)
    y = torch.arange(3).repeat_interleave(n)
    x = torch.randn(3 * n, 3, generator=g, dtype=dtype) * scale + 2.0 * y[:, None].to(dtype)
    return x, y


def collinear(n: int = 40, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Classes A, B, C centred at -4, 0, +4 on the first axis (2-D, std 0.5)."""
    g = gen(seed)
    y = torch.arange(3).repeat_interleave(n)
    centres = torch.tensor([[-4.0, 0.0], [0.0, 0.0], [4.0, 0.0]])
    return centres[y] + 0.5 * torch.randn(3 * n, 2, generator=g), y


# -- densities against the references ---------------------------------------------------------


def test_gaussian_log_densities_match_scipy_multivariate_normal() -> None:
    x, y = blobs()
    relabel = GenLabel(tol=1e-4).fit(x, y, num_classes=4)
    query = torch.randn(9, 3, generator=gen(1), dtype=torch.float64) * 3
    log_p = relabel.log_densities(query)
    assert log_p.dtype == torch.float64 and log_p.shape == (9, 4)
    for c in range(3):
        xc = x[y == c].numpy()
        cov = np.cov(xc.T, bias=True) + 1e-4 * np.eye(3)  # maximum likelihood + tol*I
        ref = stats.multivariate_normal(xc.mean(axis=0), cov).logpdf(query.numpy())
        np.testing.assert_allclose(log_p[:, c].numpy(), ref, rtol=1e-10, atol=1e-10)
    assert torch.equal(log_p[:, 3], torch.full((9,), -torch.inf, dtype=torch.float64))
    # float32 inputs are scored in float32, close to the float64 result
    log_p32 = relabel.log_densities(query.float())
    assert log_p32.dtype == torch.float32
    torch.testing.assert_close(log_p32[:, :3].double(), log_p[:, :3], rtol=1e-4, atol=1e-3)


def test_gaussian_equals_sklearn_gaussian_mixture_with_one_component() -> None:
    mixture = pytest.importorskip("sklearn.mixture")
    x, y = blobs()
    relabel = GenLabel(tol=1e-3).fit(x.numpy(), y.numpy())  # numpy in, same fit
    query = torch.randn(6, 3, generator=gen(2), dtype=torch.float64)
    log_p = relabel.log_densities(query.numpy())
    for c in range(3):
        gm = mixture.GaussianMixture(1, covariance_type="full", reg_covar=1e-3)
        ref = gm.fit(x[y == c].numpy()).score_samples(query.numpy())
        np.testing.assert_allclose(log_p[:, c].numpy(), ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("bandwidth", ["scott", "silverman", 0.3])
def test_kde_log_densities_match_scipy_gaussian_kde(
    bandwidth: Literal["scott", "silverman"] | float,
) -> None:
    x, y = blobs(n=25)
    keep = (y != 1) | (torch.arange(75) % 3 == 0)  # classes of 25, 8 and 25 kernels
    x, y = x[keep], y[keep]
    relabel = GenLabel(density="kde", tol=0.0, bandwidth=bandwidth).fit(x, y)
    query = torch.randn(7, 3, generator=gen(3), dtype=torch.float64) * 2
    log_p = relabel.log_densities(query)
    for c in range(3):
        kde = stats.gaussian_kde(x[y == c].numpy().T, bw_method=bandwidth)
        np.testing.assert_allclose(
            log_p[:, c].numpy(), kde.logpdf(query.numpy().T), rtol=1e-10, atol=1e-10
        )


def test_kde_tol_regularises_the_data_covariance() -> None:
    x, y = blobs(n=25)
    relabel = GenLabel(density="kde", tol=0.5, bandwidth=0.4).fit(x, y)
    query = torch.randn(5, 3, generator=gen(4), dtype=torch.float64)
    xc = x[y == 1].numpy()
    kernel = 0.4**2 * (np.cov(xc.T) + 0.5 * np.eye(3))  # factor^2 (Cov + tol I)
    per_kernel = np.stack(
        [stats.multivariate_normal(p, kernel).logpdf(query.numpy()) for p in xc], axis=1
    )
    ref = np.logaddexp.reduce(per_kernel, axis=1) - np.log(len(xc))
    np.testing.assert_allclose(relabel.log_densities(query)[:, 1].numpy(), ref, rtol=1e-10)


def test_log_space_survives_where_the_pdfs_underflow() -> None:
    g = gen(5)
    y = torch.arange(2).repeat_interleave(300)
    x = torch.randn(600, 200, generator=g, dtype=torch.float64) + 0.3 * y[:, None]
    relabel = GenLabel().fit(x, y)
    query = x[:4] * 3  # far out: every pdf is far below the smallest double
    log_p = relabel.log_densities(query)
    assert bool((log_p < -800).all()) and bool(torch.isfinite(log_p).all())
    labels = relabel.soft_labels(query)
    assert bool(torch.isfinite(labels).all())
    torch.testing.assert_close(labels.sum(1), torch.ones(4, dtype=torch.float64))


# -- relabelling: the paper's effect and the formula -------------------------------------------


@pytest.mark.parametrize("density", ["gaussian", "kde"])
@pytest.mark.parametrize("top2", [False, True])
def test_an_a_c_mix_lands_on_b_and_genlabel_labels_it_b(
    density: Literal["gaussian", "kde"], top2: bool
) -> None:
    x_train, y_train = collinear()
    genlabel = GenLabelMixUp(num_classes=3, density=density, top2=top2, generator=gen())
    genlabel.fit(x_train, y_train)
    mixup = MixUp(num_classes=3, generator=gen())
    a, c = x_train[y_train == 0][:3], x_train[y_train == 2][:3]
    x, y = torch.cat([a, c]), torch.tensor([0, 0, 0, 2, 2, 2])
    partner = torch.tensor([3, 4, 5, 0, 1, 2])  # every A with a C
    for lam in (0.4, 0.5, 0.6):
        params = genlabel.draw(x, lam=lam).replace(index=partner)
        ours, plain = genlabel.mix(x, y, params), mixup.mix(x, y, params)
        assert torch.equal(ours.inputs, plain.inputs)
        # the mixed points lie in B's cluster ...
        assert bool((ours.inputs[:, 0].abs() < 1.5).all())
        # ... mixup calls them A/C, GenLabel calls them B
        assert bool((plain.targets[:, 1] == 0).all())
        torch.testing.assert_close(plain.targets[:, 0] + plain.targets[:, 2], torch.ones(6))
        assert bool((ours.targets.argmax(1) == 1).all()) and bool((ours.targets[:, 1] > 0.99).all())


def test_gamma_zero_is_plain_mixup_exactly() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    settings: list[dict[str, Any]] = [
        {},
        {"mode": "elem", "label_smoothing": 0.1},
        {"mode": "pair", "p": 0.7},
    ]
    for kwargs in settings:
        ours = GenLabelMixUp(gamma=0.0, num_classes=3, generator=gen(1), **kwargs)
        ours.fit(x_train, y_train)
        plain = MixUp(num_classes=3, generator=gen(1), **kwargs)
        for _ in range(3):
            a, b = ours(x_train[:16], y_train[:16]), plain(x_train[:16], y_train[:16])
            for name in ("inputs", "targets", "lam", "index", "weights"):
                assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_gamma_one_is_pure_genlabel_and_between_is_the_blend() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    x, y = x_train[::4], y_train[::4]  # 30 rows of every class
    pure = GenLabelMixUp(gamma=1.0, mode="elem", p=0.8, num_classes=3, generator=gen(2))
    pure.fit(x_train, y_train)
    out = pure(x, y)
    moved = (out.lam < 1) & (out.index != torch.arange(30))
    assert 0 < int(moved.sum()) < 30
    generated = pure.genlabel.soft_labels(out.inputs)
    assert torch.equal(out.targets[moved], generated[moved])
    assert torch.equal(out.targets[~moved], torch.eye(3)[y[~moved]])
    assert out.relabelled

    blend = GenLabelMixUp(gamma=0.3, mode="elem", p=0.8, num_classes=3, generator=gen(2))
    blend.fit(x_train, y_train)
    plain = MixUp(mode="elem", p=0.8, num_classes=3, generator=gen(2))
    mixed, reference = blend(x, y), plain(x, y)
    expected = 0.3 * generated + 0.7 * reference.targets
    torch.testing.assert_close(mixed.targets[moved], expected[moved])
    torch.testing.assert_close(mixed.targets.sum(1), torch.ones(30))


def test_classes_absent_from_the_fit_get_no_mass() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    labels = torch.tensor([0, 1, 3])[y_train]  # class 2 never seen; 5 target columns
    mixer = GenLabelMixUp(gamma=1.0, num_classes=5, mode="elem", generator=gen(3))
    mixer.fit(x_train, labels)
    assert mixer.genlabel.classes.tolist() == [0, 1, 3] and mixer.genlabel.num_classes == 5
    for _ in range(3):
        out = mixer(x_train[::3], labels[::3])
        assert bool((out.targets[:, [2, 4]] == 0).all())
        torch.testing.assert_close(out.targets.sum(1), torch.ones(40))
    log_p = mixer.genlabel.log_densities(x_train[:5])
    assert bool(torch.isinf(log_p[:, [2, 4]]).all()) and bool(
        torch.isfinite(log_p[:, [0, 1, 3]]).all()
    )


def test_top2_keeps_the_two_most_likely_classes() -> None:
    x_train, y_train = blobs()
    relabel = GenLabel(top2=True).fit(x_train, y_train)
    query = torch.randn(50, 3, generator=gen(4), dtype=torch.float64) * 3 + 2
    labels, log_p = relabel.soft_labels(query), relabel.log_densities(query)
    assert bool(((labels > 0).sum(1) <= 2).all())
    top, where = log_p.topk(2, dim=1)
    torch.testing.assert_close(
        labels.gather(1, where[:, :1]).squeeze(1), torch.sigmoid(top[:, 0] - top[:, 1])
    )
    torch.testing.assert_close(labels.sum(1), torch.ones(50, dtype=torch.float64))
    # with two classes in the fit, top-2 and all classes are the same relabelling
    two = y_train < 2
    a = GenLabel(top2=True).fit(x_train[two], y_train[two]).soft_labels(query)
    b = GenLabel(top2=False).fit(x_train[two], y_train[two]).soft_labels(query)
    torch.testing.assert_close(a, b)


def test_generated_targets_carry_no_gradient() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    mixer = GenLabelMixUp(gamma=0.5, num_classes=3, generator=gen(5)).fit(x_train, y_train)
    x = x_train[::6].clone().requires_grad_(True)
    out = mixer(x, y_train[::6])
    assert out.inputs.requires_grad and not out.targets.requires_grad
    out.loss(out.inputs @ torch.eye(3)).backward()  # gradient flows to x, not to the targets
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


def test_feature_fn_fits_and_relabels_in_feature_space() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(3, 4), nn.Tanh()).eval().requires_grad_(False)
    mixer = GenLabelMixUp(feature_fn=backbone, num_classes=3, generator=gen(6))
    mixer.fit(x_train, y_train)
    direct = GenLabel().fit(backbone(x_train), y_train)  # the same fit, done by hand
    torch.testing.assert_close(
        mixer.genlabel.log_densities(x_train[:7]), direct.log_densities(backbone(x_train[:7]))
    )
    out = mixer(x_train[::5], y_train[::5])
    moved = (out.lam < 1) & (out.index != torch.arange(24))
    torch.testing.assert_close(out.targets[moved], direct.soft_labels(backbone(out.inputs))[moved])


def test_on_features_relabels_the_mix_of_the_callers_features() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    feats_train = torch.cat([x_train, x_train.square()], dim=1)  # any representation
    relabel = GenLabel(on="features").fit(feats_train, y_train)
    mixer = MixUp(num_classes=3, relabel=relabel, generator=gen(7))
    x, y, f = x_train[::5], y_train[::5], feats_train[::5]
    out = mixer(x, y, features=f)
    expected = relabel.soft_labels(mixkit.functional.mix(f, out.index, float(out.lam[0])))
    moved = out.index != torch.arange(24)
    torch.testing.assert_close(out.targets[moved], expected[moved])
    message = (
        "GenLabel: expected the mixer to be called with features= (on='features'), got no features"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        mixer(x, y)


def test_composes_with_cutmix_and_relabels_only_mixed_rows() -> None:
    g = gen(8)
    y_train = torch.arange(3).repeat_interleave(30)
    x_train = torch.randn(90, 1, 4, 4, generator=g) + y_train.view(-1, 1, 1, 1).float()
    relabel = GenLabel(tol=1e-2).fit(x_train, y_train)
    mixer = CutMix(num_classes=3, relabel=relabel, generator=gen(9))
    out = mixer(x_train[::9], y_train[::9])
    moved = (out.lam < 1) & (out.index != torch.arange(10))
    torch.testing.assert_close(out.targets[moved], relabel.soft_labels(out.inputs)[moved])
    assert torch.equal(
        mixer.mix(x_train[:5], y_train[:5], mixer.draw(x_train[:5], lam=1.0)).targets,
        torch.eye(3)[y_train[:5]],
    )


def test_max_samples_subsamples_the_kernels_reproducibly() -> None:
    x, y = blobs(n=40)
    a = GenLabel(density="kde", max_samples=10).fit(x, y, generator=gen(1))
    b = GenLabel(density="kde", max_samples=10).fit(x, y, generator=gen(1))
    full = GenLabel(density="kde").fit(x, y)
    assert a.state_dict()["counts"].tolist() == [10, 10, 10]
    assert full.state_dict()["counts"].tolist() == [40, 40, 40]
    assert torch.equal(a.log_densities(x[:5]), b.log_densities(x[:5]))
    # each kept kernel is a training point of its class
    centres = a.state_dict()["locs"] + a.state_dict()["center"]
    for c, rows in enumerate(centres.split(10)):
        assert bool((torch.cdist(rows, x[y == c]).amin(1) < 1e-6).all())


def test_on_the_device_of_the_data(device: torch.device) -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    relabel = GenLabel(density="kde").fit(x_train, y_train)
    cpu = MixUp(num_classes=3, relabel=relabel, generator=gen(10))(x_train[::4], y_train[::4])
    on = MixUp(num_classes=3, relabel=relabel, generator=gen(10))(
        x_train[::4].to(device), y_train[::4].to(device)
    )
    assert on.targets.device.type == device.type
    torch.testing.assert_close(on.targets.cpu(), cpu.targets, rtol=1e-4, atol=1e-5)


# -- state --------------------------------------------------------------------------------------


def test_fitted_state_round_trips_through_the_mixer_into_a_fresh_mixer() -> None:
    x_train, y_train = blobs(dtype=torch.float32)
    for density in ("gaussian", "kde"):
        mixer = GenLabelMixUp(density=density, num_classes=3, generator=gen(11))
        mixer.fit(x_train, y_train)
        mixer(x_train[:9], y_train[:9])
        buffer = io.BytesIO()
        torch.save(mixer.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
        expected = mixer(x_train[::3], y_train[::3])
        fresh = GenLabelMixUp(density=density, num_classes=3, generator=gen(99))
        assert not fresh.genlabel.fitted
        fresh.load_state_dict(state)
        assert fresh.genlabel.fitted
        got = fresh(x_train[::3], y_train[::3])
        for name in ("inputs", "targets", "lam", "index"):
            assert torch.equal(getattr(got, name), getattr(expected, name)), name


def test_state_of_an_unfitted_genlabel_unfits() -> None:
    x_train, y_train = blobs()
    fitted = GenLabel().fit(x_train, y_train)
    fitted.load_state_dict(GenLabel().state_dict())
    assert not fitted.fitted
    assert GenLabel().state_dict() == {"density": "gaussian", "fitted": False}


# -- conformance ----------------------------------------------------------------------------------


def tabular(g: torch.Generator) -> tuple[Tensor, Tensor]:
    x, y = blobs(n=20, seed=21, dtype=torch.float32)
    pick = torch.randperm(60, generator=g)[:6]
    return x[pick], y[pick]


def images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    y = torch.randint(0, 4, (6,), generator=g)
    return torch.randn(6, 2, 3, 3, generator=g) + y.view(-1, 1, 1, 1), y


def fitted(
    make: Callable[[torch.Generator], mixkit.Mixer], data: str
) -> Callable[[torch.Generator], mixkit.Mixer]:
    def build(g: torch.Generator) -> mixkit.Mixer:
        mixer = make(g)
        assert mixer.relabel is not None
        if data == "tabular":
            x, y = blobs(n=20, seed=20, dtype=torch.float32)
        else:
            y = torch.arange(4).repeat_interleave(25)
            x = torch.randn(100, 2, 3, 3, generator=gen(20)) + y.view(-1, 1, 1, 1)
        mixer.relabel.fit(x, y)  # type: ignore[attr-defined]
        return mixer

    return build


class Frozen(nn.Module):
    """A picklable frozen feature map (DataLoader workers pickle the mixer)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 2)
        with torch.no_grad():
            self.proj.weight.copy_(torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, -1.0]]))
            self.proj.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        # the mixer hands over the batch in its dtype (fp16 / bf16 too), as a model would get it
        return torch.tanh(self.proj(x.to(self.proj.weight.dtype)))


CASES = [
    MixerCase(
        "genlabel-gaussian",
        fitted(lambda g: GenLabelMixUp(num_classes=3, generator=g), "tabular"),
        tabular,
    ),
    MixerCase(
        "genlabel-kde-top2-blend-elem",
        fitted(
            lambda g: GenLabelMixUp(
                density="kde", top2=True, gamma=0.6, mode="elem", p=0.7, num_classes=3, generator=g
            ),
            "tabular",
        ),
        tabular,
    ),
    MixerCase(
        "genlabel-feature-fn-smoothing",
        fitted(
            lambda g: GenLabelMixUp(
                feature_fn=Frozen(), label_smoothing=0.1, mode="pair", num_classes=3, generator=g
            ),
            "tabular",
        ),
        tabular,
    ),
    MixerCase(
        "genlabel-cutmix-images",
        fitted(
            lambda g: CutMix(
                num_classes=4, relabel=GenLabel(density="kde", gamma=0.5, tol=1e-2), generator=g
            ),
            "images",
        ),
        images,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


# -- repr -----------------------------------------------------------------------------------------


def test_repr() -> None:
    assert repr(GenLabel()) == "GenLabel(density='gaussian', gamma=1.0, top2=False, tol=0.0001)"
    assert repr(
        GenLabel(density="kde", gamma=0.4, top2=True, bandwidth=0.2, on="features", max_samples=50)
    ) == (
        "GenLabel(density='kde', gamma=0.4, top2=True, tol=0.0001, bandwidth=0.2, "
        "on='features', max_samples=50)"
    )
    assert repr(GenLabel(feature_fn=nn.Identity())) == (
        "GenLabel(density='gaussian', gamma=1.0, top2=False, tol=0.0001, feature_fn=Identity())"
    )
    assert repr(GenLabelMixUp(gamma=0.5, num_classes=3)) == (
        "GenLabelMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=3, "
        "relabel=GenLabel(density='gaussian', gamma=0.5, top2=False, tol=0.0001))"
    )


# -- errors ---------------------------------------------------------------------------------------

X2, Y2 = blobs(n=10)
FIT = GenLabel().fit(X2, Y2)

ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "density",
        lambda: GenLabel(density="gmm"),  # type: ignore[arg-type]
        ValueError,
        "GenLabel: expected density to be one of 'gaussian' | 'kde', got 'gmm'",
    ),
    (
        "gamma",
        lambda: GenLabel(gamma=1.5),
        ValueError,
        "GenLabel: expected gamma in [0, 1], got 1.5",
    ),
    (
        "top2",
        lambda: GenLabel(top2=1),  # type: ignore[arg-type]
        TypeError,
        "GenLabel: expected top2 to be a bool, got 1 (int)",
    ),
    ("tol", lambda: GenLabel(tol=-1e-3), ValueError, "GenLabel: expected tol >= 0, got -0.001"),
    (
        "bandwidth_rule",
        lambda: GenLabel(bandwidth="auto"),  # type: ignore[arg-type]
        ValueError,
        "GenLabel: expected bandwidth to be one of 'scott' | 'silverman', got 'auto'",
    ),
    (
        "bandwidth_type",
        lambda: GenLabel(bandwidth=None),  # type: ignore[arg-type]
        TypeError,
        "GenLabel: expected bandwidth to be 'scott', 'silverman' or a positive float, "
        "got None (NoneType)",
    ),
    (
        "bandwidth_zero",
        lambda: GenLabel(bandwidth=0.0),
        ValueError,
        "GenLabel: expected bandwidth > 0, got 0.0",
    ),
    (
        "feature_fn",
        lambda: GenLabel(feature_fn=3),  # type: ignore[arg-type]
        TypeError,
        "GenLabel: expected feature_fn to be a callable or None, got 3 (int)",
    ),
    (
        "on",
        lambda: GenLabel(on="latent"),  # type: ignore[arg-type]
        ValueError,
        "GenLabel: expected on to be one of 'inputs' | 'features', got 'latent'",
    ),
    (
        "on_features_with_feature_fn",
        lambda: GenLabel(on="features", feature_fn=nn.Identity()),
        ValueError,
        "GenLabel: expected feature_fn=None with on='features' (the caller gives the "
        "features), got a feature_fn",
    ),
    (
        "max_samples_type",
        lambda: GenLabel(density="kde", max_samples=2.5),  # type: ignore[arg-type]
        TypeError,
        "GenLabel: expected max_samples to be an int, got 2.5 (float)",
    ),
    (
        "max_samples_gaussian",
        lambda: GenLabel(max_samples=10),
        ValueError,
        "GenLabel: expected max_samples only with density='kde', got density='gaussian'",
    ),
    (
        "preset_relabel",
        lambda: GenLabelMixUp(relabel=GenLabel()),
        ValueError,
        "GenLabelMixUp: expected no relabel argument (it builds its GenLabel; use "
        "MixUp(relabel=...) instead), got relabel=GenLabel(",
    ),
    (
        "preset_task",
        lambda: GenLabelMixUp(task="regression"),
        ValueError,
        "GenLabelMixUp: expected a relabel only with task='multiclass', got task='regression'",
    ),
    (
        "fit_x_type",
        lambda: GenLabel().fit([[0.0, 1.0]], Y2),  # type: ignore[arg-type]
        TypeError,
        "GenLabel.fit: expected x to be a torch.Tensor or a numpy array, got [[0.0, 1.0]] (list)",
    ),
    (
        "fit_x_dtype",
        lambda: GenLabel().fit(np.array([["a"], ["b"]]), Y2),
        ValueError,
        "GenLabel.fit: expected x with a numeric dtype, got an array of dtype <U1",
    ),
    (
        "fit_x_short",
        lambda: GenLabel().fit(torch.zeros(1, 3), torch.zeros(1, dtype=torch.int64)),
        ValueError,
        "GenLabel.fit: expected x of shape (N, ...) with N >= 2, got a torch.float32 tensor of "
        "shape (1, 3) on cpu",
    ),
    (
        "fit_y_float",
        lambda: GenLabel().fit(X2, Y2.double()),
        ValueError,
        "GenLabel.fit: expected y as integer class labels of shape (30,) (the length of x), got a "
        "torch.float64 tensor of shape (30,) on cpu",
    ),
    (
        "fit_y_length",
        lambda: GenLabel().fit(X2, Y2[:5]),
        ValueError,
        "GenLabel.fit: expected y as integer class labels of shape (30,) (the length of x), got a "
        "torch.int64 tensor of shape (5,) on cpu",
    ),
    (
        "fit_label_range",
        lambda: GenLabel().fit(X2, Y2, num_classes=2),
        ValueError,
        "GenLabel.fit: expected class labels in [0, 1], got 2",
    ),
    (
        "fit_negative_label",
        lambda: GenLabel().fit(X2, Y2 - 1),
        ValueError,
        "GenLabel.fit: expected class labels in [0, 1], got -1",
    ),
    (
        "fit_one_class",
        lambda: GenLabel().fit(X2, torch.zeros(30, dtype=torch.int64)),
        ValueError,
        "GenLabel.fit: expected labels of at least 2 classes, got only class 0",
    ),
    (
        "fit_nan",
        lambda: GenLabel().fit(X2 * float("nan"), Y2),
        ValueError,
        "GenLabel.fit: expected finite x (and features), got NaN or infinite values",
    ),
    (
        "fit_singular",
        lambda: GenLabel(tol=0.0).fit(torch.cat([X2, torch.zeros(30, 1)], 1), Y2),
        ValueError,
        "GenLabel.fit: expected a positive-definite covariance for class 0 after adding tol*I "
        "(tol=0; increase tol), got a singular one from 10 samples in 4 dimensions",
    ),
    (
        "fit_num_classes",
        lambda: GenLabel().fit(X2, Y2, num_classes=1),
        ValueError,
        "GenLabel.fit: expected num_classes >= 2, got 1",
    ),
    (
        "feature_fn_output",
        lambda: GenLabel(feature_fn=lambda x: x.sum()).fit(X2, Y2),
        ValueError,
        "GenLabel: expected feature_fn to return a (B, ...) tensor for a batch of 30, got a "
        "torch.float64 tensor of shape () on cpu",
    ),
    (
        "relabel_before_fit",
        lambda: MixUp(num_classes=3, relabel=GenLabel())(X2.float(), Y2),
        ValueError,
        "GenLabel: expected a fitted GenLabel for relabel (call .fit(x_train, y_train) once "
        "first), got an unfitted one",
    ),
    (
        "log_densities_before_fit",
        lambda: GenLabel().log_densities(X2),
        ValueError,
        "GenLabel: expected a fitted GenLabel for log_densities (call .fit(x_train, y_train) "
        "once first), got an unfitted one",
    ),
    (
        "relabel_dim",
        lambda: MixUp(num_classes=3, relabel=FIT)(torch.zeros(4, 5), Y2[:4]),
        ValueError,
        "GenLabel: expected 3 features per sample (as in the fit), got 5 (points of shape (4, 5))",
    ),
    (
        "relabel_classes",
        lambda: MixUp(num_classes=4, relabel=FIT)(X2[:4].float(), Y2[:4]),
        ValueError,
        "GenLabel: expected targets with 3 classes (num_classes of the fit), got targets of "
        "shape (4, 4)",
    ),
    (
        "load_density",
        lambda: GenLabel(density="kde").load_state_dict(FIT.state_dict()),
        ValueError,
        "GenLabel.load_state_dict: expected a state of density='kde', got density='gaussian'",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_bad_input_is_refused_with_a_clear_message(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


# -- the example ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_genlabel_toys_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "toys.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "genlabel_toys.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for dataset in ("moons", "collinear"):
        for method in ("ERM", "MixUp", "GenLabel"):
            assert re.search(rf"{dataset}\s+{method}\s+test accuracy [01]\.\d+", result.stdout), (
                result.stdout
            )
    assert re.search(r"A-C mixes labelled B: MixUp 0\.00, GenLabel 0\.\d+", result.stdout)
    assert out.stat().st_size > 10_000
