"""Mixing inside a model: the output of a chosen module is mixed, by forward hooks.

Manifold Mixup (Verma et al., ICML 2019) mixes the hidden batch after a layer drawn per step;
word-embedding mixup (Guo et al. 2019) and TMix (Chen et al., ACL 2020) mix token embeddings or an
encoder layer's hidden states; pooled-graph mixup mixes after the readout. They are one
mechanism: :class:`MixStep` holds one draw for a training step and mixes every tensor it is
given with it; :class:`ModuleMix` draws the module per step and hooks it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from mixkit._mixed import Mixed
from mixkit._mixer import iter_mixers
from mixkit._params import MixParams
from mixkit._state import Seeding, eager
from mixkit.validation import describe, fail

__all__ = ["MixStep", "ModuleMix"]

INPUT = "input"


class MixStep:
    """One training step's mixing: the first tensor given draws the parameters, every later one
    (the same module called again, a gradient-checkpointing recomputation, an aligned tensor) is
    mixed with the same partners and lam.

    Args:
        mixer: any mixkit mixer.
        y: the step's labels.
        params: parameters drawn beforehand (e.g. to build an attention mask before the model
            runs); default: drawn from the first tensor, so pairings that measure distances
            (k-mixup, Local Mixup) measure them on the tensor being mixed.
        features: what such pairings measure instead (``(B, ...)``), if given.
        **arguments: per-call arguments of the mixer's input operation.

    Attributes:
        mixed: the :class:`mixkit.Mixed` of the first tensor mixed (None before): its targets,
            weights and ``loss``.
    """

    def __init__(
        self,
        mixer: nn.Module,
        y: Tensor,
        *,
        params: MixParams | None = None,
        features: Tensor | None = None,
        **arguments: Any,
    ) -> None:
        self.mixer: Any = mixer  # any mixkit mixer (Mixer, RandomChoice, a wrapper)
        self.y, self.params = y, params
        self.features, self.arguments = features, arguments
        self.mixed: Mixed | None = None
        self.calls = 0

    def apply(self, h: Tensor) -> Tensor:
        """``h`` mixed with this step's draw (the first call draws it)."""
        self.calls += 1
        if self.params is None or not self.mixer.training:
            # eval mode is the identity even with parameters drawn beforehand
            out: Mixed = self.mixer(h, self.y, features=self.features, **self.arguments)
            if self.params is None:
                self.params = out.params
        else:
            out = self.mixer.mix(h, self.y, self.params, features=self.features, **self.arguments)
        if self.mixed is None:
            self.mixed = out
        result: Tensor = out.inputs
        return result

    def result(self, owner: str) -> Mixed:
        """:attr:`mixed`, or an error saying the mixing point never ran."""
        if self.mixed is None:
            fail(owner, "the model to run the module chosen for mixing in this step", "no call")
        return self.mixed


class ModuleMix:
    """Mix the output of a module of ``model``, one drawn per step from ``at``.

    A forward hook on each site mixes its output with the mixer while a ``with
    mixing.step(y)`` block is open; ``step.mixed`` carries the targets and the loss. This is
    Manifold Mixup, word-embedding mixup and TMix on any network, unchanged. Nothing is mixed
    while ``model`` is in eval mode; ``state_dict()`` carries the site generator and the
    mixer's state. See the Manifold Mixup page of the documentation
    (docs/methods/manifold-mixup.md) for the method, tuple outputs and gradient checkpointing.

    Args:
        mixer: a mixkit mixer whose input operation takes tensors (``MixUp``, ``CutMix`` on
            feature maps, ...) and without an extra loss term (its clean pass would need the
            network from the mixed tensor to the logits).
        model: the network.
        at: sites: ``"input"``, submodule names (``"layer1"``, ``"encoder.layer.3"``) or modules.
        p: probabilities of the sites (non-negative, normalised), default uniform.
        input_key: the keyword argument that is the input, for ``"input"`` (default: the first
            positional argument).
        generator: CPU generator for the choice of the site (default: seeded from torch's).

    Example::

        mixing = mixkit.ModuleMix(mixkit.MixUp(alpha=2.0, num_classes=10), model,
                                  at=["input", "layer1", "layer2"])  # Manifold Mixup
        with mixing.step(y) as step:
            loss = step.mixed.loss(model(x))
    """

    def __init__(
        self,
        mixer: nn.Module,
        model: nn.Module,
        *,
        at: Sequence[str | nn.Module] | str | nn.Module,
        p: Sequence[float] | None = None,
        input_key: str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(model, nn.Module):
            fail(owner, "model to be a torch.nn.Module", describe(model), type_error=True)
        mixers = iter_mixers(mixer) if isinstance(mixer, nn.Module) else []
        if not mixers:
            expected = "mixer to be a mixkit mixer (MixUp, CutMix, ...)"
            fail(owner, expected, describe(mixer), type_error=True)
        with_terms = [m for m in mixers if m.term is not None]
        if with_terms:
            fail(
                owner,
                "a mixer without an extra loss term (MixupE's clean pass needs the network from "
                "the mixed tensor to the logits; mix the input, or pooled features with "
                "mixkit_pyg.PooledMix and the head as model)",
                repr(with_terms[0].term),
            )
        self.mixer, self.model = mixer, model
        sites = [at] if isinstance(at, str | nn.Module) else list(at)
        if not sites:
            fail(owner, "at least one site in at", "none")
        self.sites: list[str | nn.Module] = sites
        self.p = _probabilities(owner, p, len(sites))
        if input_key is not None and not (isinstance(input_key, str) and input_key):
            expected = "input_key to be a non-empty str or None"
            fail(owner, expected, describe(input_key), type_error=True)
        self.input_key = input_key
        self._seeding = Seeding(owner, generator)
        self._step: MixStep | None = None
        self._site = -1
        self._handles: list[RemovableHandle] = []
        for k, site in enumerate(sites):
            self._handles.append(self._hook(owner, k, site))

    def _hook(self, owner: str, k: int, site: str | nn.Module) -> RemovableHandle:
        if isinstance(site, str) and site == INPUT:
            return self.model.register_forward_pre_hook(self._input_hook, with_kwargs=True)
        if isinstance(site, str):
            try:
                module = self.model.get_submodule(site)
            except AttributeError:
                names = ", ".join(n for n, _ in self.model.named_modules() if n)
                fail(owner, f"at to name submodules of the model ({names})", repr(site))
        elif isinstance(site, nn.Module):
            if not any(module is site for module in self.model.modules()):
                fail(owner, "at to hold submodules of the model", describe(site))
            module = site
        else:
            fail(owner, "at to hold 'input', submodule names or modules", describe(site), True)
        return module.register_forward_hook(functools.partial(_site_hook, self, k))

    @property
    def generator(self) -> torch.Generator:
        """The generator the site is drawn from."""
        return self._seeding.generator

    @eager
    def step(
        self,
        y: Tensor,
        *,
        params: MixParams | None = None,
        features: Tensor | None = None,
        **arguments: Any,
    ) -> _StepContext:
        """Begin a training step with labels ``y``: draws the site; the forward pass inside the
        ``with`` block is mixed there. See :class:`MixStep` for the arguments."""
        owner = f"{type(self).__name__}.step"
        if not self._handles:
            fail(owner, "hooks in place (this ModuleMix was removed)", "removed hooks")
        if self._step is not None:
            fail(owner, "one step at a time (leave the previous with block first)", "a step open")
        self.mixer.train(self.model.training)
        gen = self._seeding.current()
        weights = torch.tensor(self.p, dtype=torch.float64)
        self._site = int(torch.multinomial(weights, 1, generator=gen)) if len(self.p) > 1 else 0
        step = MixStep(self.mixer, y, params=params, features=features, **arguments)
        return _StepContext(self, step)

    @property
    def site(self) -> str | nn.Module:
        """The site drawn for the current (or last) step."""
        return self.sites[self._site]

    def remove(self) -> None:
        """Take the hooks off the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._step = None

    def __enter__(self) -> ModuleMix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def state_dict(self) -> dict[str, Any]:
        return {"seeding": self._seeding.state(), "mixer": self.mixer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._seeding.load(dict(state["seeding"]))
        self.mixer.load_state_dict(state["mixer"])

    def _input_hook(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        step = self._step
        if step is None or self.sites[self._site] != INPUT:
            return None
        owner = type(self).__name__
        if self.input_key is not None:
            if not isinstance(kwargs.get(self.input_key), Tensor):
                fail(owner, f"the model called with the tensor {self.input_key}=", sorted(kwargs))
            return args, {**kwargs, self.input_key: step.apply(kwargs[self.input_key])}
        if not args or not isinstance(args[0], Tensor):
            fail(owner, "the model called with its input tensor first (or input_key=)", "none")
        return (step.apply(args[0]), *args[1:]), kwargs

    def __repr__(self) -> str:
        sites = [s if isinstance(s, str) else type(s).__name__ for s in self.sites]
        return f"ModuleMix({' '.join(repr(self.mixer).split())}, at={sites}, p={self.p})"


def _site_hook(owner: ModuleMix, k: int, module: nn.Module, args: Any, output: Any) -> Any:
    step = owner._step
    if step is None or owner._site != k:
        return None
    if isinstance(output, Tensor):
        return step.apply(output)
    if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
        return type(output)([step.apply(output[0]), *output[1:]])
    fail(
        type(owner).__name__,
        f"the module at {owner.sites[k]!r} to return a tensor or a tuple starting with one",
        describe(output),
    )


class _StepContext:
    """``with mixing.step(y) as step:`` — arms the hooks for the block."""

    def __init__(self, owner: ModuleMix, step: MixStep) -> None:
        self.owner, self.step = owner, step

    def __enter__(self) -> MixStep:
        self.owner._step = self.step
        return self.step

    def __exit__(self, *exc: object) -> None:
        self.owner._step = None


def _probabilities(owner: str, p: Sequence[float] | None, count: int) -> list[float]:
    if p is None:
        return [1.0 / count] * count
    values = [float(v) for v in p]
    if len(values) != count:
        fail(owner, f"p with one probability per site ({count})", f"{len(values)} values")
    if not all(v >= 0 and v < float("inf") for v in values) or not sum(values) > 0:
        fail(owner, "p of finite non-negative values with a positive sum", values)
    return [v / sum(values) for v in values]
