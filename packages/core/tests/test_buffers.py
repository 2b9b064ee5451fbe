"""Kept output memory: reused only when nothing can still read it, invisible otherwise."""

from __future__ import annotations

import copy
import pickle
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.dlpack

import mixkit
from mixkit import _mixer
from mixkit._buffers import BufferPool

SHAPE = torch.Size((4, 3, 8, 8))


def test_a_released_batch_is_reused() -> None:
    pool = BufferPool()
    first = pool.empty(SHAPE, torch.float32)
    address = first.data_ptr()
    del first
    again = pool.empty(SHAPE, torch.float32)
    assert again.data_ptr() == address
    assert again.shape == SHAPE and again.is_contiguous() and not again.requires_grad


HOLDERS: dict[str, Callable[[torch.Tensor], Any]] = {
    "the tensor": lambda t: t,
    "a view": lambda t: t[1:, 0],
    "a detached alias": lambda t: t.detach(),
    "a NumPy array": lambda t: t.numpy(),
    "a DLPack capsule": lambda t: torch.utils.dlpack.to_dlpack(t),
    "its storage": lambda t: t.untyped_storage(),
    "an autograd graph": lambda t: torch.nn.Linear(8, 2)(t).sum(),
}


@pytest.mark.parametrize("holder", list(HOLDERS.values()), ids=list(HOLDERS))
def test_a_batch_something_still_reads_is_not_reused(holder: Callable[[torch.Tensor], Any]) -> None:
    pool = BufferPool(capacity=1)
    batch = pool.empty(SHAPE, torch.float32)
    address = batch.data_ptr()
    kept = holder(batch)  # the reference under test
    del batch
    assert pool.empty(SHAPE, torch.float32).data_ptr() != address
    del kept
    # released by the holder: free again (capacity 1 kept the newest batch only)
    newest = pool.empty(SHAPE, torch.float32)
    address = newest.data_ptr()
    del newest
    assert pool.empty(SHAPE, torch.float32).data_ptr() == address


def test_a_batch_moved_to_shared_memory_is_dropped() -> None:
    # what a DataLoader worker does to the batches it sends to the main process
    pool = BufferPool()
    batch = pool.empty(SHAPE, torch.float32)
    batch.share_memory_()
    address = batch.data_ptr()
    del batch
    assert pool.empty(SHAPE, torch.float32).data_ptr() != address


def test_capacity_bounds_the_kept_batches_and_other_shapes_are_forgotten() -> None:
    pool = BufferPool(capacity=2)
    held = [pool.empty(SHAPE, torch.float32) for _ in range(5)]
    assert len(pool) == 2
    pool.empty(torch.Size((2, 3, 8, 8)), torch.float32)  # a short last batch
    assert len(pool) == 1
    pool.empty(SHAPE, torch.float16)
    assert len(pool) == 1
    pool.clear()
    assert len(pool) == 0
    assert all(t.shape == SHAPE for t in held)


def test_copies_and_pickles_carry_an_empty_pool() -> None:
    pool = BufferPool(capacity=3)
    batch = pool.empty(SHAPE, torch.float32)
    for other in (copy.deepcopy(pool), pickle.loads(pickle.dumps(pool))):
        assert len(other) == 0 and other.capacity == 3
    assert len(pool) == 1 and batch.shape == SHAPE


def test_threads_never_share_a_batch() -> None:
    pool = BufferPool(capacity=4)
    seen: list[int] = []
    errors: list[str] = []
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        barrier.wait()
        for _ in range(200):
            t = pool.empty(SHAPE, torch.float32)
            t.fill_(k)
            seen.append(t.data_ptr())
            if not bool((t == k).all()):
                errors.append(f"thread {k} saw another thread's writes")
            del t

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -- through the mixers -----------------------------------------------------------------


@pytest.fixture
def keep_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_mixer, "_KEEP_MIN_BYTES", 0)


MIXERS: dict[str, Callable[[], mixkit.Mixer]] = {
    "MixUp": lambda: mixkit.MixUp(num_classes=4, generator=torch.Generator().manual_seed(0)),
    "MixUp elem": lambda: mixkit.MixUp(
        mode="elem", num_classes=4, generator=torch.Generator().manual_seed(0)
    ),
    "CutMix": lambda: mixkit.CutMix(num_classes=4, generator=torch.Generator().manual_seed(0)),
    "CutMix elem": lambda: mixkit.CutMix(
        mode="elem", num_classes=4, generator=torch.Generator().manual_seed(0)
    ),
}


@pytest.mark.usefixtures("keep_everything")
@pytest.mark.parametrize("make", list(MIXERS.values()), ids=list(MIXERS))
def test_a_training_loop_reuses_memory_and_results_it_holds_stay_intact(
    make: Callable[[], mixkit.Mixer],
) -> None:
    mixer, fresh = make(), make()
    x, y = torch.randn(SHAPE), torch.tensor([0, 1, 2, 3])
    held: list[torch.Tensor] = []
    addresses = set()
    for step in range(8):
        mixed = mixer(x, y)
        expected = fresh(x, y).inputs
        addresses.add(mixed.inputs.data_ptr())
        if step % 3 == 0:
            held.append(mixed.inputs[1:])  # a view, kept for good
        assert torch.equal(mixed.inputs, expected)
    # every result still held equals what a mixer without kept memory returned
    replay = make()
    for step in range(8):
        expected = replay(x, y).inputs
        if step % 3 == 0:
            assert torch.equal(held[step // 3], expected[1:])
    assert len(addresses) < 8


@pytest.mark.usefixtures("keep_everything")
def test_eval_releases_the_kept_memory_and_identity_allocates_nothing() -> None:
    mixer = MIXERS["MixUp"]()
    x, y = torch.randn(SHAPE), torch.tensor([0, 1, 2, 3])
    mixer(x, y)
    assert len(mixer._pool) == 1
    mixer.eval()
    assert len(mixer._pool) == 0
    assert mixer(x, y).inputs is x
    assert len(mixer._pool) == 0


def test_small_batches_and_gradients_use_fresh_memory() -> None:
    mixer = MIXERS["MixUp"]()
    y = torch.tensor([0, 1, 2, 3])
    mixer(torch.randn(SHAPE), y)  # below _KEEP_MIN_BYTES
    big = torch.randn(4, 3, 300, 300)  # 4.3 MB
    assert big.nbytes >= _mixer._KEEP_MIN_BYTES
    mixer(big.requires_grad_(), y).inputs.sum().backward()
    assert len(mixer._pool) == 0
    first = mixer(big.detach(), y).inputs
    address = first.data_ptr()
    del first
    assert mixer(big.detach(), y).inputs.data_ptr() == address
    assert len(mixer._pool) == 1


def _mix_in_worker(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.stack([b[0] for b in batch])
    y = torch.tensor([b[1] for b in batch])
    inputs = WORKER_MIXER(x, y).inputs
    return inputs, inputs.sum(dim=(1, 2, 3))  # the checksum is taken before the batch is sent


WORKER_MIXER = mixkit.MixUp(num_classes=4, generator=torch.Generator().manual_seed(0))


def test_batches_sent_by_dataloader_workers_are_never_overwritten() -> None:
    # The worker moves each batch to shared memory to send it; the main process holds them all
    # while the worker keeps mixing. Any reuse of a sent batch would change a held checksum.
    data = [(torch.randn(3, 300, 300), k % 4) for k in range(24)]
    assert 4 * data[0][0].nbytes >= _mixer._KEEP_MIN_BYTES
    loader = torch.utils.data.DataLoader(
        data, batch_size=4, num_workers=1, collate_fn=_mix_in_worker, prefetch_factor=4
    )
    received = list(loader)
    assert len(received) == 6
    for inputs, checksum in received:
        torch.testing.assert_close(inputs.sum(dim=(1, 2, 3)), checksum)
    assert len({inputs.data_ptr() for inputs, _ in received}) == 6


def test_numpy_holders_keep_their_values() -> None:
    mixer = MIXERS["MixUp"]()
    big, y = torch.randn(4, 3, 300, 300), torch.tensor([0, 1, 2, 3])
    arrays = [mixer(big, y).inputs.numpy() for _ in range(3)]
    copies = [a.copy() for a in arrays]
    for _ in range(3):
        mixer(big, y)
    assert all(np.array_equal(a, c) for a, c in zip(arrays, copies, strict=True))
