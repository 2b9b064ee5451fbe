"""GenLabel: relabel mixed samples with class-conditional densities fitted on the training set.

Mixup labels a mixed point by the mix of its sources' labels, even when it lands in a third
class's region ("manifold intrusion"). GenLabel fits a density ``p_c`` per class once and labels
the mixed point by where it lies: ``softmax_c log p_c(x~)`` (uniform prior), optionally blended
with the mixup label. The densities are the standard estimators, written with torch so that the
core needs no scikit-learn: a full-covariance Gaussian per class (sklearn's
``GaussianMixture(n_components=1, covariance_type="full", reg_covar=tol)``) and a Gaussian KDE
(``scipy.stats.gaussian_kde``: kernel covariance = bandwidth factor² x data covariance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import Tensor

from mixkit._densities import Density, fit_densities, prepare_densities, score_densities
from mixkit._mixup import MixUp
from mixkit._relabel import Relabel
from mixkit.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    describe,
    fail,
    shape_str,
)

__all__ = ["GenLabel", "GenLabelMixUp"]

Bandwidth = Literal["scott", "silverman"] | float
_CHUNK = 1024  # rows per feature_fn call at fit time


def _as_tensor(owner: str, name: str, value: object) -> Tensor:
    """A tensor or numpy array (numbers, not bool) as a detached tensor."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            fail(owner, f"{name} with a numeric dtype", f"an array of dtype {value.dtype}")
        return torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, Tensor):
        fail(
            owner, f"{name} to be a torch.Tensor or a numpy array", describe(value), type_error=True
        )
    if value.dtype == torch.bool or value.is_complex():
        fail(owner, f"{name} with a real numeric dtype", describe(value))
    return value.detach()


class GenLabel(Relabel):
    r"""GenLabel: label each mixed sample by class-conditional densities, not by its sources.

    One density per class is fitted once by :meth:`fit` on the training set; a mixed sample's
    generated label is the posterior of the classes where it lies (uniform prior, no gradient),
    blended with mixup's label: ``gamma * y_gen + (1 - gamma) * y_mix``. A blend that lands in
    a third class's region is then labelled as that class, which mixup's label cannot do. See
    the GenLabel page of the documentation (docs/methods/genlabel.md) for the math, the two
    density models and the defaults.

    Paper: Sohn, Shang, Chen, Moon, Papailiopoulos, Lee, *GenLabel: Mixup Relabeling using
    Generative Models*, ICML 2022 (arXiv 2201.02354).

    Args:
        density: ``"gaussian"`` (default: a full-covariance Gaussian per class) or ``"kde"``
            (a Gaussian KDE per class, as the authors' moons / circles toys).
        gamma: weight of the generated label in ``[0, 1]``: 1 (default) pure GenLabel, 0 plain
            mixup.
        top2: relabel over the two most likely classes only (the authors' toy code) instead of
            over all classes (their tabular code, the default).
        tol: ridge added to every class covariance (``>= 0``, default ``1e-4``).
        bandwidth: KDE only: ``"scott"`` (default), ``"silverman"`` or a factor ``> 0``
            (scipy's ``bw_method`` convention).
        feature_fn: a frozen callable mapping inputs ``(B, ...)`` to features; densities are
            fitted and scored on them. Its mode is yours to set; prefer it picklable.
        on: ``"inputs"`` (default): evaluate on the mixed inputs (through ``feature_fn`` if
            given). ``"features"``: evaluate on the mix of the ``features=`` the caller passes
            to the mixer (fit on the same representation); needs ``feature_fn=None``.
        max_samples: KDE only: at most this many kernels per class, a random subset drawn at fit.

    Raises:
        ValueError / TypeError: a bad argument (each message names it); :meth:`relabel` before
            :meth:`fit`; inputs or targets that do not match the fit.

    Example:
        >>> x = torch.cat([torch.randn(50, 2) - 3, torch.randn(50, 2), torch.randn(50, 2) + 3])
        >>> y = torch.arange(3).repeat_interleave(50)
        >>> relabel = GenLabel(gamma=1.0).fit(x, y)
        >>> mixer = MixUp(num_classes=3, relabel=relabel)  # or GenLabelMixUp(...).fit(x, y)
        >>> mixer(x[:8], y[:8]).targets.shape
        torch.Size([8, 3])
    """

    def __init__(
        self,
        *,
        density: Density = "gaussian",
        gamma: float = 1.0,
        top2: bool = False,
        tol: float = 1e-4,
        bandwidth: Bandwidth = "scott",
        feature_fn: Callable[[Tensor], Tensor] | None = None,
        on: Literal["inputs", "features"] = "inputs",
        max_samples: int | None = None,
    ) -> None:
        owner = type(self).__name__
        self.density = check_choice(owner, "density", density, ("gaussian", "kde"))
        self.gamma = check_float(owner, "gamma", gamma, low=0.0, high=1.0)
        self.top2 = check_bool(owner, "top2", top2)
        self.tol = check_float(owner, "tol", tol, low=0.0)
        if isinstance(bandwidth, str):
            self.bandwidth: str | float = check_choice(
                owner, "bandwidth", bandwidth, ("scott", "silverman")
            )
        elif isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float):
            fail(
                owner,
                "bandwidth to be 'scott', 'silverman' or a positive float",
                describe(bandwidth),
                type_error=True,
            )
        else:
            self.bandwidth = check_float(owner, "bandwidth", bandwidth, low=0.0, low_open=True)
        if feature_fn is not None and not callable(feature_fn):
            fail(
                owner, "feature_fn to be a callable or None", describe(feature_fn), type_error=True
            )
        self.feature_fn = feature_fn
        self.on = check_choice(owner, "on", on, ("inputs", "features"))
        if self.on == "features" and feature_fn is not None:
            fail(
                owner,
                "feature_fn=None with on='features' (the caller gives the features)",
                "a feature_fn",
            )
        if max_samples is not None:
            max_samples = check_int(owner, "max_samples", max_samples, low=1)
            if self.density != "kde":
                fail(owner, "max_samples only with density='kde'", f"density={self.density!r}")
        self.max_samples = max_samples
        self._state: dict[str, Any] | None = None
        self._cache: dict[tuple[str, torch.dtype], tuple[Tensor, ...]] = {}

    # -- fit ------------------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` (or :meth:`load_state_dict` of a fitted state) has run."""
        return self._state is not None

    @property
    def num_classes(self) -> int:
        """Number of target columns the fit was made for (absent classes included)."""
        return int(self._fitted_state("num_classes")["num_classes"])

    @property
    def classes(self) -> Tensor:
        """``(K,)`` int64, the classes present in the fit (the others get no mass)."""
        return cast(Tensor, self._fitted_state("classes")["classes"]).clone()

    def fit(
        self,
        x: Tensor | np.ndarray,
        y: Tensor | np.ndarray,
        *,
        num_classes: int | None = None,
        generator: torch.Generator | None = None,
    ) -> GenLabel:
        """Fit the class-conditional densities once, on the training set.

        Args:
            x: ``(N, ...)`` training inputs (tensor or numpy array), flattened per sample; or
                the features when ``on="features"``. Passed through ``feature_fn`` if given.
            y: ``(N,)`` integer class labels.
            num_classes: number of target columns (default ``max(y) + 1``); classes in
                ``[0, num_classes)`` without samples get no mass.
            generator: draws the KDE subset when ``max_samples`` is set (default: seed 0).

        Returns:
            ``self``, fitted.

        Raises:
            ValueError / TypeError: bad shapes, labels or values; fewer than 2 classes; a class
                covariance that is not positive definite (increase ``tol``).
        """
        owner = "GenLabel.fit"
        xt = _as_tensor(owner, "x", x)
        yt = _as_tensor(owner, "y", y)
        if xt.ndim == 0 or xt.shape[0] < 2:
            fail(owner, "x of shape (N, ...) with N >= 2", describe(xt))
        n = xt.shape[0]
        if yt.is_floating_point() or yt.ndim != 1 or yt.shape[0] != n:
            fail(
                owner, f"y as integer class labels of shape ({n},) (the length of x)", describe(yt)
            )
        labels = yt.to(device="cpu", dtype=torch.int64)
        if num_classes is not None:
            num_classes = check_int(owner, "num_classes", num_classes, low=2)
        feats = self._features_at_fit(xt)  # (N, D) float64 on the CPU
        self._state = fit_densities(
            feats, labels, num_classes=num_classes, density=self.density, tol=self.tol,
            bandwidth=self.bandwidth, max_samples=self.max_samples, generator=generator,
            owner=owner,
        )  # fmt: skip
        self._cache.clear()
        return self

    def _features_at_fit(self, x: Tensor) -> Tensor:
        if self.feature_fn is None:
            return x.reshape(x.shape[0], -1).to(device="cpu", dtype=torch.float64)
        if not x.is_floating_point():
            x = x.float()
        with torch.no_grad():
            parts = [self._call_feature_fn(x[i : i + _CHUNK]) for i in range(0, x.shape[0], _CHUNK)]
        return torch.cat([p.to(device="cpu", dtype=torch.float64) for p in parts])

    def _call_feature_fn(self, x: Tensor) -> Tensor:
        out = cast(Callable[[Tensor], Tensor], self.feature_fn)(x)
        if not isinstance(out, Tensor) or out.ndim == 0 or out.shape[0] != x.shape[0]:
            fail(
                "GenLabel",
                f"feature_fn to return a (B, ...) tensor for a batch of {x.shape[0]}",
                describe(out),
            )
        return out.detach().reshape(out.shape[0], -1)

    # -- evaluation -----------------------------------------------------------------------

    def _fitted_state(self, what: str) -> dict[str, Any]:
        if self._state is None:
            fail(
                "GenLabel",
                f"a fitted GenLabel for {what} (call .fit(x_train, y_train) once first)",
                "an unfitted one",
            )
        return self._state

    def _score(self, z: Tensor) -> Tensor:
        """``(B, C)`` log-densities of flat ``(B, D)`` points (``-inf`` for absent classes)."""
        s = cast(dict[str, Any], self._state)
        if z.shape[1] != s["dim"]:
            fail(
                "GenLabel",
                f"{s['dim']} features per sample (as in the fit)",
                f"{z.shape[1]} (points of shape {shape_str(z.shape)})",
            )
        dtype = torch.float64 if z.dtype == torch.float64 else torch.float32
        key = (str(z.device), dtype)
        if key not in self._cache:  # scoring tensors, once per device and dtype
            self._cache[key] = prepare_densities(s, z.device, dtype)
        return score_densities(z.to(dtype), s, self._cache[key])

    def _represent(self, x: Tensor | np.ndarray) -> Tensor:
        xt = _as_tensor("GenLabel", "x", x)
        if xt.ndim == 0:
            fail("GenLabel", "x of shape (N, ...)", describe(xt))
        if self.feature_fn is not None:
            if not xt.is_floating_point():
                xt = xt.float()
            with torch.no_grad():
                return self._call_feature_fn(xt)
        flat = xt.reshape(xt.shape[0], -1)
        return flat if flat.is_floating_point() else flat.double()

    def log_densities(self, x: Tensor | np.ndarray) -> Tensor:
        """``(N, C)`` class log-densities ``log p_c(x)`` of inputs given as to :meth:`fit`.

        float64 for float64 inputs, else float32; ``-inf`` for classes absent from the fit.
        """
        self._fitted_state("log_densities")
        with torch.no_grad():
            return self._score(self._represent(x))

    def soft_labels(self, x: Tensor | np.ndarray) -> Tensor:
        """``(N, C)`` generated labels ``y_gen`` (all classes, or the top two), no blending."""
        self._fitted_state("soft_labels")
        with torch.no_grad():
            return self._generate(self._score(self._represent(x)))

    def _generate(self, log_p: Tensor) -> Tensor:
        if not self.top2:
            return torch.softmax(log_p, dim=1)
        top, where = log_p.topk(2, dim=1)  # (B, 2): the two most likely classes
        # softmax of two values is sigmoid(log p_c1 - log p_c2) for the first
        return torch.zeros_like(log_p).scatter_(1, where, torch.softmax(top, dim=1))

    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        """``gamma * y_gen + (1 - gamma) * targets`` for a mixed batch (called by the mixer)."""
        s = self._fitted_state("relabel")
        if targets.shape[1] != s["num_classes"]:
            fail(
                "GenLabel",
                f"targets with {s['num_classes']} classes (num_classes of the fit)",
                f"targets of shape {shape_str(targets.shape)}",
            )
        if self.gamma == 0.0:
            return targets
        if self.on == "features":
            if mixed_features is None:
                fail(
                    "GenLabel",
                    "the mixer to be called with features= (on='features')",
                    "no features",
                )
            z = mixed_features.reshape(mixed_features.shape[0], -1)
        elif self.feature_fn is not None:
            with torch.no_grad():
                z = self._call_feature_fn(mixed_inputs)
        else:
            z = mixed_inputs.reshape(mixed_inputs.shape[0], -1)
        with torch.no_grad():
            y_gen = self._generate(self._score(z.detach())).to(targets.dtype)
        if self.gamma == 1.0:
            return y_gen
        return torch.lerp(targets, y_gen, self.gamma)  # gamma * y_gen + (1 - gamma) * targets

    # -- state and repr -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The fitted densities (CPU float64 tensors); ``{"fitted": False}`` before :meth:`fit`."""
        if self._state is None:
            return {"density": self.density, "fitted": False}
        return {"fitted": True, **self._state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the densities, not the hyperparameters)."""
        if state.get("density") != self.density:
            fail(
                "GenLabel.load_state_dict",
                f"a state of density={self.density!r}",
                f"density={state.get('density')!r}",
            )
        self._cache.clear()
        if not state["fitted"]:
            self._state = None
            return
        self._state = {k: v for k, v in state.items() if k != "fitted"}

    def __repr__(self) -> str:
        args = [f"density={self.density!r}", f"gamma={self.gamma}", f"top2={self.top2}"]
        args.append(f"tol={self.tol}")
        if self.density == "kde":
            args.append(f"bandwidth={self.bandwidth!r}")
        if self.feature_fn is not None:
            args.append(f"feature_fn={self.feature_fn!r}")
        if self.on != "inputs":
            args.append(f"on={self.on!r}")
        if self.max_samples is not None:
            args.append(f"max_samples={self.max_samples}")
        return f"GenLabel({', '.join(args)})"


class GenLabelMixUp(MixUp):
    """MixUp whose mixed samples are relabelled by GenLabel: ``MixUp(relabel=GenLabel(...))``.

    A preset, so that one object is built, fitted and saved: ``fit`` uses the mixer's
    ``num_classes`` (classes absent from the training set still get their column) and the fitted
    densities travel in ``mixer.state_dict()``. For any other mixer (CutMix, k-mixup pairing,
    Local weights) pass ``relabel=GenLabel(...).fit(x, y)`` instead.

    Args:
        density, gamma, top2, tol, bandwidth, feature_fn, on, max_samples: see
            :class:`GenLabel`.
        **kwargs: every argument of :class:`mixkit.MixUp` but ``relabel``.

    Example:
        >>> x = torch.cat([torch.randn(40, 2) - 3, torch.randn(40, 2) + 3])
        >>> y = torch.arange(2).repeat_interleave(40)
        >>> mixer = GenLabelMixUp(density="kde", gamma=0.8, num_classes=2).fit(x, y)
        >>> mixer(x[:4], y[:4]).relabelled
        True
    """

    def __init__(
        self,
        *,
        density: Density = "gaussian",
        gamma: float = 1.0,
        top2: bool = False,
        tol: float = 1e-4,
        bandwidth: Bandwidth = "scott",
        feature_fn: Callable[[Tensor], Tensor] | None = None,
        on: Literal["inputs", "features"] = "inputs",
        max_samples: int | None = None,
        **kwargs: Any,
    ) -> None:
        if "relabel" in kwargs:
            fail(
                type(self).__name__,
                "no relabel argument (it builds its GenLabel; use MixUp(relabel=...) instead)",
                f"relabel={kwargs['relabel']!r}",
            )
        relabel = GenLabel(
            density=density,
            gamma=gamma,
            top2=top2,
            tol=tol,
            bandwidth=bandwidth,
            feature_fn=feature_fn,
            on=on,
            max_samples=max_samples,
        )
        super().__init__(relabel=relabel, **kwargs)

    @property
    def genlabel(self) -> GenLabel:
        """The :class:`GenLabel` relabelling of this mixer."""
        return cast(GenLabel, self.relabel)

    def fit(
        self,
        x: Tensor | np.ndarray,
        y: Tensor | np.ndarray,
        *,
        generator: torch.Generator | None = None,
    ) -> GenLabelMixUp:
        """Fit the densities on the training set (see :meth:`GenLabel.fit`); returns ``self``."""
        self.genlabel.fit(x, y, num_classes=self.num_classes, generator=generator)
        return self
