"""Where the input and the target are in a Lightning batch, and how mixed ones take their place.

Lightning hands ``on_train_batch_start`` the very batch object it then passes to
``training_step``: its own device copy of what the DataLoader yielded (``batch_to_device``
rebuilds lists and dicts). A callback cannot return another batch, but it can change the entries
of a mutable container: the callback puts the mixed input and the mixed target in place of the
input and the target. The tensors themselves are never written; a tuple (immutable) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any, TypeAlias

from torch import Tensor

from mixkit.validation import describe, fail

__all__ = ["INPUT_KEYS", "TARGET_KEYS", "Key", "check_key", "read", "resolve_keys", "write"]

#: a position in a list batch, or a key of a dict batch
Key: TypeAlias = int | str

#: the dict keys tried, in order, when ``input_key`` / ``target_key`` are not given
INPUT_KEYS = ("x", "input", "inputs", "image", "images", "pixel_values", "features")
TARGET_KEYS = ("y", "target", "targets", "label", "labels")

_EXPLICIT = "or mix explicitly in training_step (MixUpCallback(mixer, mix_batch=False))"


def check_key(owner: str, name: str, key: object) -> Key | None:
    """``key`` as given: an int position, a non-empty str, or None."""
    if key is None or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    if isinstance(key, str) and key:
        return key
    fail(owner, f"{name} to be an int position, a str key or None", describe(key), type_error=True)


def _kind(batch: object) -> str:
    if isinstance(batch, tuple):
        return f"a tuple of {len(batch)}"
    if isinstance(batch, Tensor):
        return describe(batch)
    return f"a {type(batch).__name__}"


def resolve_keys(
    owner: str, batch: object, input_key: Key | None, target_key: Key | None
) -> tuple[Key, Key]:
    """The input's and the target's place in ``batch``: the keys given, else positions 0 and 1
    of a list, or the first of :data:`INPUT_KEYS` / :data:`TARGET_KEYS` a dict holds."""
    if isinstance(batch, MutableMapping):
        keys = list(batch)
        if input_key is None:
            input_key = next((k for k in INPUT_KEYS if k in batch), None)
        if target_key is None:
            target_key = next((k for k in TARGET_KEYS if k in batch), None)
        if input_key is None or target_key is None:
            fail(
                owner,
                "input_key= and target_key= naming the input and the target of a dict batch "
                f"(tried {list(INPUT_KEYS)} and {list(TARGET_KEYS)})",
                f"keys {keys}",
            )
        for name, key in (("input_key", input_key), ("target_key", target_key)):
            if key not in batch:
                fail(owner, f"the training batch to hold {name}={key!r}", f"keys {keys}")
    elif isinstance(batch, MutableSequence):
        input_key = 0 if input_key is None else input_key
        target_key = 1 if target_key is None else target_key
        for name, key in (("input_key", input_key), ("target_key", target_key)):
            if not isinstance(key, int) or not -len(batch) <= key < len(batch):
                fail(
                    owner,
                    f"{name} to be a position in the training batch (a list of {len(batch)})",
                    repr(key),
                )
    else:
        hint = (
            " (a tuple cannot be changed: return a list from your collate_fn)"
            if isinstance(batch, tuple)
            else ""
        )
        fail(
            owner,
            "a training batch Lightning hands over as a list (DataLoader's default collate "
            "makes one of a dataset's tuples) or a dict: the callback puts the mixed input and "
            f"target in place of the batch's own{hint}; {_EXPLICIT}",
            _kind(batch),
        )
    if input_key == target_key or (
        isinstance(batch, Sequence)
        and isinstance(input_key, int)
        and isinstance(target_key, int)
        and input_key % len(batch) == target_key % len(batch)
    ):
        fail(owner, "input_key and target_key at two places", f"both at {input_key!r}")
    return input_key, target_key


def read(batch: Any, key: Key) -> object:
    """The entry at ``key`` (``resolve_keys`` checked that it is there)."""
    return batch[key] if isinstance(batch, Mapping) else batch[int(key)]


def write(batch: Any, key: Key, value: Tensor) -> None:
    """Put ``value`` at ``key``: the container changes, the tensor it held does not."""
    batch[key] = value
