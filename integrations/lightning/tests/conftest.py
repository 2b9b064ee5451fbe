"""Fixtures of the mixkit-lightning tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import torch
from lightning_support import QUIET


@pytest.fixture(autouse=True)
def _one_thread_and_quiet() -> Iterator[None]:
    """Tiny models on a shared 2-core machine: one intra-op thread is faster (two spin against
    each other and against the neighbours). Lightning's advice for small CPU runs is silenced;
    every other warning still shows (and pytest.warns still sees it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    for message in QUIET:
        warnings.filterwarnings("ignore", message=message)
    yield
    torch.set_num_threads(before)
