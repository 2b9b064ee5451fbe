"""mixkit for Hugging Face ``Trainer``: every mixkit method by adding one callback.

::

    from mixkit_transformers import MixUpCallback

    trainer = Trainer(model=model, args=args, train_dataset=ds,
                      callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.2, num_classes=10))])

:class:`MixUpCallback` is the whole integration. For those who wire Trainer themselves, the two
lower-level pieces: :class:`MixUpCollator` (wraps your collator, mixes training batches) and
:class:`MixUpLoss` (a ready ``compute_loss_func``).
"""

from mixkit_transformers._callback import MixUpCallback
from mixkit_transformers._collator import MixUpCollator
from mixkit_transformers._loss import MixUpLoss

__version__ = "0.2.0"

__all__ = ["MixUpCallback", "MixUpCollator", "MixUpLoss", "__version__"]
