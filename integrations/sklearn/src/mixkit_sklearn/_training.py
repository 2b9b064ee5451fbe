"""The torch side of the MLP estimators: the network, and a training loop that mixes per step.

Every step draws a batch, lets the mixer mix it (any mixkit method: pairing, weights,
relabelling, an extra loss term, schedules), and minimises ``mixed.loss(logits, model=module)``,
the core's one loss entry: the mixed loss plus the mixer's extra term when it has one (MixupE's
runs the network on the clean batch). All randomness comes from explicit generators: the initial
weights, the shuffling, and the mixer's own.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as TF
from torch import Tensor, nn

from mixkit_sklearn._augment import batches, pair_weights

__all__ = ["ACTIVATIONS", "History", "build_mlp", "clean_loss", "predict_raw", "train"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


def build_mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    *,
    activation: str,
    flat_output: bool,
    generator: torch.Generator,
    device: torch.device,
) -> nn.Sequential:
    """``Linear -> activation`` per hidden layer, then a linear head.

    Weights are initialised like ``nn.Linear`` (Kaiming-uniform, uniform bias) but from
    ``generator``, so ``random_state`` alone fixes them and torch's global RNG is untouched
    (the layers are built on the meta device: no default initialisation draws from it).
    ``flat_output`` makes a one-output head return ``(B,)`` (one regression target).
    """
    sizes = [n_in, *hidden, n_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(a, b, device="meta").to_empty(device=device)
        nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
        bound = 1.0 / math.sqrt(a) if a > 0 else 0.0
        nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if flat_output:
        layers.append(nn.Flatten(0))  # (B, 1) -> (B,)
    return nn.Sequential(*layers)


@torch.no_grad()
def predict_raw(module: nn.Module, x: Tensor, batch_size: int = 4096) -> Tensor:
    """Outputs of ``module`` in eval mode, by chunks (logits or regression values)."""
    module.eval()
    return torch.cat([module(chunk) for chunk in batches(x, batch_size)])


@torch.no_grad()
def clean_loss(module: nn.Module, x: Tensor, y: Tensor, task: str) -> float:
    """The unmixed loss: cross-entropy for classes, squared error for regression."""
    out = predict_raw(module, x)
    if task == "multiclass":
        return float(TF.cross_entropy(out.float(), y))
    err = (out.float() - y.float()) ** 2
    return float(err.reshape(err.shape[0], -1).mean())


@dataclass
class History:
    """What a training run did.

    Attributes:
        loss_curve: mean mixed training loss per epoch.
        validation_loss_curve: clean validation loss per epoch (empty without validation).
        n_iter: epochs run.
        best_loss: best training loss (no validation) or best validation loss.
        converged: stopped by the no-improvement rule before ``max_iter``.
    """

    loss_curve: list[float] = field(default_factory=list)
    validation_loss_curve: list[float] = field(default_factory=list)
    n_iter: int = 0
    best_loss: float = math.inf
    converged: bool = False


def train(
    module: nn.Module,
    mixer: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    task: str,
    sample_weight: Tensor | None,
    validation: tuple[Tensor, Tensor] | None,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    max_iter: int,
    tol: float,
    n_iter_no_change: int,
    generator: torch.Generator,
    verbose: bool,
) -> History:
    """Train ``module`` with AdamW on batches mixed by ``mixer``.

    Each epoch sets the mixer's epoch (epoch schedules), each call advances its step. With a
    validation set, its clean loss is reported to the mixer after every epoch
    (``mixer.report``: what :class:`mixkit.AutoSwitch` reads), drives early stopping, and the
    best epoch's weights are restored at the end. Without one, training stops when the training
    loss has not improved by ``tol`` for ``n_iter_no_change`` epochs (scikit-learn's rule).

    Args:
        module: the network (trained in place).
        mixer: a mixkit mixer; mixes every batch.
        x: ``(n, d)`` float features.
        y: ``(n,)`` class labels, or ``(n,)`` / ``(n, k)`` regression targets.
        task: the mixer's task: ``"multiclass"`` (cross-entropy) or ``"regression"`` (MSE).
        validation: a held-out ``(x, y)`` for early stopping and ``mixer.report``, or None.
        batch_size: rows per batch.
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's weight decay.
        max_iter: epochs at most.
        tol: the improvement that resets the patience.
        n_iter_no_change: epochs without improvement before stopping.
        generator: draws the batch order.
        verbose: print the loss per epoch.
        sample_weight: ``(n,)`` weights with mean 1, or None; a mixed row counts
            ``s_i * s_j`` (:func:`mixkit_sklearn._augment.pair_weights`), combined with the
            mixer's own weights through ``Mixed.weights``.
    """
    optimizer = torch.optim.AdamW(module.parameters(), lr=learning_rate, weight_decay=weight_decay)
    set_epoch: Any = getattr(mixer, "set_epoch", None)
    report: Any = getattr(mixer, "report", None)
    history = History()
    best_state: dict[str, Tensor] | None = None
    stale = 0
    for epoch in range(max_iter):
        if callable(set_epoch):
            set_epoch(epoch)
        module.train()
        total, seen = 0.0, 0
        order = torch.randperm(x.shape[0], generator=generator).to(x.device)
        for idx in batches(order, batch_size):
            mixed = mixer(x.index_select(0, idx), y.index_select(0, idx))
            if sample_weight is not None:
                w = pair_weights(sample_weight.index_select(0, idx), mixed.index, 1.0)
                mixed = dataclasses.replace(mixed, weights=mixed.weights * w.float())
            loss: Tensor = mixed.loss(module(mixed.inputs), model=module)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            optimizer.step()
            total += float(loss.detach()) * idx.shape[0]
            seen += idx.shape[0]
        history.loss_curve.append(total / seen)
        history.n_iter = epoch + 1
        current = history.loss_curve[-1]
        if validation is not None:
            current = clean_loss(module, validation[0], validation[1], task)
            history.validation_loss_curve.append(current)
            if callable(report):
                report(current)
        if verbose:
            val = "" if validation is None else f", validation loss {current:.6f}"
            print(f"epoch {epoch + 1}: training loss {history.loss_curve[-1]:.6f}{val}")
        if current < history.best_loss - tol:
            stale = 0
        else:
            stale += 1
        if current < history.best_loss:
            history.best_loss = current
            if validation is not None:
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if stale >= n_iter_no_change:
            history.converged = True
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history
