"""mixkit for PyTorch Lightning: every mixkit mixer in ``Trainer`` by adding one callback.

* :class:`MixUpCallback`: ``Trainer(callbacks=[MixUpCallback(mixer)])`` mixes every training
  batch of a module whose ``training_step`` computes ``F.cross_entropy(self(x), y)`` (the
  batch then carries the mixed input and soft targets), or, with ``mix_batch=False``, drives
  a mixer the module calls itself (``mixed = self.mixer(x, y)``; ``mixed.loss(logits)``):
  per-step seeds, the schedule's clock, checkpoint state, logs.
"""

from mixkit_lightning._callback import MixUpCallback

__version__ = "0.2.0"

__all__ = ["MixUpCallback", "__version__"]
