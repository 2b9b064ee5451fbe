r"""The one thing the callback must trust about a ``training_step``, checked on the first batch.

The callback puts the mixed input and the mixed soft target in the batch; the user's own
``training_step`` computes the loss. That loss is the mixed loss exactly when it reads both and
is **linear in the target**, as ``F.cross_entropy(logits, y)`` is for float ``(B, C)`` targets:

.. math::
    \mathrm{CE}(f, \lambda e_a + (1-\lambda) e_b)
    = \lambda\,\mathrm{CE}(f, e_a) + (1-\lambda)\,\mathrm{CE}(f, e_b).

A loss :math:`L(t)` is linear in :math:`t` when :math:`L = \langle t, \partial L/\partial t
\rangle`. On the first mixed batch the callback adds zeros that require gradients to the input
and to the target (same values; ``x + 0``), and when Lightning hands it the loss
(``on_before_backward``) it takes ``autograd.grad`` of the loss with respect to both, once:

* no gradient path to the target: the loss does not read it (another key, labels read from
  elsewhere, ``y.argmax(1)``);
* none to the input: the model did not see the mixed input (another key);
* multiclass only: :math:`L - \langle t, \partial L/\partial t\rangle \neq 0`: a part of the
  loss does not scale with the target. Criterion label smoothing
  (``F.cross_entropy(..., label_smoothing=s)`` mixes ``s / C`` into every target) or terms
  added to the loss (an auxiliary loss, a regulariser) do that. Mixup stays right with them
  (the mix of the targets is still a convex combination), so they are refused only where they
  are wrong: when the mixer smooths too (smoothing twice), or gives per-sample weights (they
  reach the loss through the targets, so they miss that part).

This costs one backward pass through the network, once. The gradient never reaches the
parameters (``autograd.grad`` computes only what the two zeros need).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mixkit.validation import fail

__all__ = ["EXPLICIT", "Probe", "check_loss", "probe"]

#: how to mix in a training_step the implicit mode cannot serve
EXPLICIT = (
    "or mix explicitly in training_step (mixed = self.mixer(x, y); loss = "
    "mixed.loss(self(mixed.inputs), model=self)) with MixUpCallback(mixer, mix_batch=False); "
    "check=False skips this check"
)


@dataclass
class Probe:
    """The zeros added to the first mixed batch, and the target's values."""

    inputs: Tensor
    target: Tensor
    values: Tensor
    input_key: object
    target_key: object


def probe(
    inputs: Tensor, target: Tensor, input_key: object, target_key: object
) -> tuple[Tensor, Tensor, Probe]:
    """``(inputs + 0, target + 0, probe)``: the same values, with a gradient path to the zeros.

    Non-leaf results, so a ``training_step`` may still change them in place."""
    zero_x = torch.zeros((), dtype=inputs.dtype, device=inputs.device, requires_grad=True)
    zero_t = torch.zeros_like(target, requires_grad=True)
    return (
        inputs + zero_x,
        target + zero_t,
        Probe(zero_x, zero_t, target.detach(), input_key, target_key),
    )


def check_loss(owner: str, p: Probe, loss: Tensor, *, multiclass: bool, strict: str | None) -> None:
    """Raise when ``loss`` is not what the implicit mode needs (see the module notes).

    ``strict``: why a part of the loss that does not scale with the target is wrong for this
    mixer (label smoothing, weights), or None when it is tolerated.
    """
    where_t, where_x = f"batch[{p.target_key!r}]", f"batch[{p.input_key!r}]"
    grad_x, grad_t = torch.autograd.grad(
        loss, [p.inputs, p.target], retain_graph=True, allow_unused=True
    )
    if grad_t is None:
        fail(
            owner,
            f"training_step's loss to read the mixed target it finds at {where_t} (float "
            "(B, C) soft targets during training: F.cross_entropy(logits, y) takes them); "
            f"pass target_key= if the target is elsewhere, {EXPLICIT}",
            f"a loss that does not depend on {where_t}",
        )
    if grad_x is None:
        fail(
            owner,
            f"training_step's loss to come from the mixed input it finds at {where_x}; pass "
            f"input_key= if the input is elsewhere, {EXPLICIT}",
            f"a loss that does not depend on {where_x}",
        )
    if not multiclass or strict is None:
        return
    value = loss.detach().double()
    linear = (p.values.double() * grad_t.double()).sum()
    rest = float(value - linear)
    # rounding: a few units of the coarser of the loss's and the target's precision
    eps = max(torch.finfo(loss.dtype).eps, torch.finfo(grad_t.dtype).eps)
    if abs(rest) > max(1e-3, 8 * eps) * abs(float(value)) + 1e-5:
        fail(
            owner,
            "training_step's loss to be linear in the target, as F.cross_entropy(logits, y) "
            f"without label_smoothing and with nothing added is ({strict}), {EXPLICIT}",
            f"a loss of {float(value):.6g} of which {rest:.6g} does not scale with the target "
            "(label smoothing in the criterion, or terms added to the loss)",
        )
