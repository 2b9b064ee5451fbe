"""Fixtures of the mixkit-sklearn tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny MLPs on tiny data: intra-op threads only add synchronisation (10-30x slower when
    the cores are shared, e.g. under ``pytest -n 2``). Restored after each test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
