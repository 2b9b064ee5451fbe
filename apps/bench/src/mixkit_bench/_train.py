"""One training loop for every torch domain: ERM, or any mixkit mixer.

The loop mixes what ``encode`` returns (the inputs for images and speech; pooled graph
embeddings for graphs) and classifies what comes out with ``decode``; this is the whole
difference between input mixup and embedding mixup. A recipe may instead mix inside the model
(``Recipe.inside``: ``mixkit.ModuleMix`` at a module's output, the text domain's word embeddings
and encoder layers), and then the training step is its own. The loss is always
``mixed.loss(logits, model=decode, ...)``, the core's one loss entry: it adds the mixer's extra
term when it has one (MixupE's runs ``decode`` on the clean batch ``mixed.source``), so the loop
never asks what kind of mixer it holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mixkit_bench._metrics import classification_metrics

if TYPE_CHECKING:
    from mixkit import Mixed

__all__ = ["Recipe", "Reduction", "fit"]

#: the reductions of ``mixkit.functional.REDUCTIONS``, as a type
Reduction = Literal["mean", "weighted_mean", "sum", "none"]


@dataclass
class Recipe:
    """What a method adds to plain training.

    Attributes:
        mixer: a mixkit mixer (``MixUp``, ``CutMix``, a composed mixer, a mixer with MixupE's
            term, a wrapper such as ``mixkit_pyg.PooledMix``...), or None for ERM.
        report_validation: feed the clean validation loss to ``mixer.report`` after each epoch
            (drives ``AutoSwitch``).
        reduction: how the mixed loss is reduced, one of ``mixkit.functional.REDUCTIONS``
            (``"mean"`` is the papers' expectation).
        inside: mixing inside the model: the training step ``(batch, labels) -> (logits,
            mixed)`` that runs the model with ``mixer`` mixing at a module's output (built on
            ``mixkit.ModuleMix``), or None to mix what ``encode`` returns. ``mixer`` is then the
            mixer it mixes with (the loop sets its epoch and reports to it).
    """

    mixer: Any = None
    report_validation: bool = False
    reduction: Reduction = "mean"
    extra: dict[str, Any] = field(default_factory=dict)
    inside: Callable[[Any, Tensor], tuple[Tensor, Mixed]] | None = None


def _identity(x: Any) -> Any:
    return x


def fit(
    model: nn.Module,
    batches: Callable[[int], Iterable[tuple[Any, Tensor]]],
    evaluate: Callable[[nn.Module], tuple[Tensor, Tensor]],
    recipe: Recipe,
    *,
    epochs: int,
    lr: float = 2e-3,
    weight_decay: float = 5e-4,
    encode: Callable[[Any], Tensor] | None = None,
    decode: Callable[[Tensor], Tensor] | None = None,
    validate: Callable[[nn.Module], float] | None = None,
    optimizer: str = "adamw",
    milestones: tuple[float, ...] = (),
) -> dict[str, Any]:
    """Train ``model``; returns the final test metrics and the per-epoch clean test curves.

    The result holds the metrics of :func:`mixkit_bench._metrics.classification_metrics` after
    the last epoch (``accuracy``, ``nll``, ``ece``, ``brier``, ``bins``) and, per epoch, the
    clean test loss ``test_loss`` (the NLL), ``test_accuracy`` and ``test_ece``.

    Args:
        model: the network (its parameters are optimised with AdamW).
        batches: ``epoch -> iterable of (batch, labels)``.
        evaluate: ``model -> (log-probabilities (N, C), labels (N,))`` on the clean test set,
            unmixed (called in eval mode after every epoch).
        recipe: the method.
        encode: batch -> tensor to mix (default: the batch itself).
        decode: mixed tensor -> logits (default: ``model``).
        validate: ``model -> clean validation loss`` (for ``recipe.report_validation``).
        optimizer: ``"adamw"`` or ``"sgd"`` (momentum 0.9, the mixup paper's CIFAR recipe).
        milestones: fractions of ``epochs`` after which the learning rate is divided by 10
            (the mixup paper: ``(0.5, 0.75)`` of 200 epochs); none by default.
    """
    encode = encode or _identity
    decode = decode or model
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f"expected optimizer 'adamw' or 'sgd', got {optimizer!r}")
    decay = torch.optim.lr_scheduler.MultiStepLR(
        opt, sorted({max(1, round(f * epochs)) for f in milestones}), gamma=0.1
    )
    mixer = recipe.mixer
    if recipe.inside is not None and mixer is None:
        raise ValueError("fit: expected Recipe.mixer, the mixer of Recipe.inside, got None")
    test_loss, test_acc, test_ece, mixing = [], [], [], []
    scores: dict[str, Any] = {}
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        if mixer is not None:
            mixer.train()
            mixer.set_epoch(epoch)
        mixed_any = False
        for batch, labels in batches(epoch):
            if mixer is not None and recipe.inside is not None:
                logits, mixed = recipe.inside(batch, labels)
                mixed_any = mixed_any or bool(mixed.applied)
                loss = mixed.loss(logits, reduction=recipe.reduction)
            elif mixer is None:
                loss = F.cross_entropy(decode(encode(batch)), labels)
            else:
                z = encode(batch)
                mixed = mixer(z, labels)
                mixed_any = mixed_any or bool(mixed.applied)
                logits = decode(mixed.inputs)
                loss = mixed.loss(logits, model=decode, reduction=recipe.reduction)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
        decay.step()
        model.eval()
        scores = classification_metrics(*evaluate(model))
        test_acc.append(scores["accuracy"])
        test_loss.append(scores["nll"])
        test_ece.append(scores["ece"])
        mixing.append(mixed_any)
        if mixer is not None and recipe.report_validation and validate is not None:
            mixer.report(validate(model))
    # the first epoch trained without mixing after epochs with it (a schedule switched it off)
    switched_at = next((e for e in range(1, epochs) if mixing[e - 1] and not any(mixing[e:])), None)
    return scores | {
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "test_ece": test_ece,
        "switched_at": switched_at,
        "mixed_epochs": mixing,
        "train_seconds": time.perf_counter() - start,
    }
