"""Output memory that a mixer reuses once nothing references it any more (CPU only).

A mixer returns a new batch on every call and the caller's tensor is never written. On the CPU
that new batch can cost more than the mixing itself: glibc maps every block over 32 MiB afresh
(and often trims smaller freed blocks back to the operating system), so every call page-faults a
fresh output in again (9409 faults for a 64x3x224x224 float batch). CUDA's caching allocator
already keeps such blocks; this pool does the same for a mixer's CPU outputs.

A batch is handed out again only when the pool holds the sole reference to its memory: no tensor,
view, NumPy array, DLPack capsule, storage handle or autograd graph that could still read it, and
not moved to shared memory (a DataLoader worker sends its batches that way). What the caller can
observe is therefore exactly what a fresh allocation gives; the price is at most ``capacity``
batches kept alive between calls (two by default: the result a training loop still holds while it
asks for the next one, and the one before, which it has released). Mixers keep only outputs of a
few MiB and more (``mixkit._mixer._KEEP_MIN_BYTES``): below that the allocator's heap serves them
without page faults.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import torch
from torch import Tensor

__all__ = ["BufferPool"]


def _references(tensor: Tensor) -> tuple[int, int, bool]:
    """Who can reach ``tensor``'s memory: (Python references to its storage object, references
    to the storage itself, moved to shared memory)."""
    # Each view, alias or saved tensor holds the storage; a Python handle on it (torch keeps one
    # storage object per storage) shows in that object's reference count.
    storage = tensor.untyped_storage()
    uses = torch._C._storage_Use_Count(storage._cdata)
    return sys.getrefcount(storage), uses, storage.is_shared()


def _unreferenced() -> tuple[int, int, bool] | None:
    """:func:`_references` of a tensor nothing else references, measured (it depends on the
    interpreter) and checked to be stable and to see a storage handle; None (never reuse) if not."""
    tensor = torch.empty(1)
    first, again = _references(tensor), _references(tensor)
    handle = tensor.untyped_storage()
    held = _references(tensor)
    del handle
    return first if first == again == _references(tensor) != held else None


_UNREFERENCED = _unreferenced()


class BufferPool:
    """At most ``capacity`` CPU batches, reused for outputs of the same shape and dtype.

    Each kept batch is a private tensor that is never handed out; callers get ``detach()``-ed
    aliases of it, fresh tensors with no autograd history, hooks or attributes. A batch is free
    again when nothing but the private tensor references its memory. Not part of a mixer's state:
    copies, pickles and ``state_dict`` carry an empty pool.
    """

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self._kept: list[Tensor] = []
        self._lock = threading.Lock()

    def empty(self, shape: torch.Size, dtype: torch.dtype) -> Tensor:
        """An uninitialised contiguous CPU tensor, on reused memory when some is free."""
        with self._lock:
            for owner in self._kept:
                if (
                    _UNREFERENCED is not None
                    and owner.shape == shape
                    and owner.dtype == dtype
                    and _references(owner) == _UNREFERENCED
                ):
                    return owner.detach()
            owner = torch.empty(shape, dtype=dtype)
            # batches of another shape (an epoch's short last batch) are not coming back soon
            kept = [k for k in self._kept if k.shape == shape and k.dtype == dtype]
            self._kept = [*kept, owner][-self.capacity :]
            return owner.detach()

    def clear(self) -> None:
        """Forget every kept batch (tensors handed out stay valid)."""
        with self._lock:
            self._kept = []

    def __len__(self) -> int:
        return len(self._kept)

    def __deepcopy__(self, memo: dict[int, Any]) -> BufferPool:
        return BufferPool(self.capacity)

    def __getstate__(self) -> dict[str, Any]:
        return {"capacity": self.capacity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["capacity"])  # type: ignore[misc]
