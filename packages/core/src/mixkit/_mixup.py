"""MixUp: the mixer with mixup's interpolation (the template's defaults)."""

from __future__ import annotations

from mixkit._mixer import Mixer

__all__ = ["MixUp"]


class MixUp(Mixer):
    r"""Mixup: train on convex combinations of pairs of samples and of their labels.

    Each sample is blended with a partner, ``lam * x_i + (1 - lam) * x_j``, and its target with
    the partner's by the same ``lam ~ Beta(alpha, alpha)`` (``lam`` weighs the original). This
    pushes the model to behave linearly between training samples. Every named method is a
    preset of this template with some slots filled. See the mixup page of the documentation
    (docs/methods/mixup.md) for the math, the defaults and why.

    Paper: Zhang, Cisse, Dauphin, Lopez-Paz, *mixup: Beyond Empirical Risk Minimization*,
    ICLR 2018 (arXiv 1710.09412).

    Args:
        alpha: Beta concentration, ``>= 0``; ``0`` means no mixing (``lam = 1``). Default 1.0.
        mode: ``"batch"`` one lam per batch, ``"elem"`` one per sample, ``"pair"`` one per
            random pair of samples, applied to both members.
        p: probability that a sample (a pair in ``"pair"`` mode) is mixed at all; skipped rows
            keep ``lam = 1`` and themselves as partner.
        num_classes: number of classes; needed for integer labels.
        label_smoothing: applied exactly once, to the dense targets (and, equivalently, in the
            pair-form loss). Do not smooth again in your criterion.
        task: ``"multiclass"`` (int labels or soft rows summing to 1), ``"multilabel"``
            (multi-hot ``(B, C)``, BCE loss) or ``"regression"`` (float targets mixed linearly).
        union: multi-label only: the mixed sample holds the labels of both sources
            (``max``) instead of their mix.
        op: the input operation (default :class:`mixkit.LerpOp`, the interpolation above).
        pairing: partner selection (default :class:`mixkit.RandomPairing`).
        weighting: per-sample loss weights (:class:`mixkit.LocalWeights`), or None.
        relabel: new targets for mixed samples (:class:`mixkit.GenLabel`), or None.
        term: an extra loss term (:class:`mixkit.MixupETerm`), or None.
        schedule: a :class:`mixkit.Schedule` scaling ``p`` or ``alpha`` by epoch / step.
        generator: a CPU ``torch.Generator``; default: a private one seeded from torch's global
            RNG when the mixer is built. All draws come from it.
        enabled: when False the mixer is the identity (so is ``mixer.eval()``).
        check_finite: refuse inputs with NaN / inf (one reduction per call; off by default).

    Call: ``mixer(x, y, *, features=None, out=None)`` returns a :class:`mixkit.Mixed`; ``out=``
    is a buffer you own for the mixed inputs (the Memory section of docs/guides/images.md).

    Raises:
        ValueError / TypeError: bad arguments at construction, bad batches at call, each with a
            message naming the argument, what was expected and what came.

    Example:
        >>> mixer = MixUp(alpha=0.2, num_classes=10, generator=torch.Generator().manual_seed(0))
        >>> x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed = mixer(x, y)
        >>> mixed.inputs.shape, mixed.targets.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
        >>> logits = torch.randn(8, 10)
        >>> loss = mixed.loss(logits)  # pair-form cross-entropy, mean over the batch
    """
