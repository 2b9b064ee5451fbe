"""Shared pytest fixtures for every package's tests."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """CPU always; CUDA too when the machine has it."""
    return torch.device(request.param)
