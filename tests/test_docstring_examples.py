"""Every ``>>>`` example in the docstrings of every distribution runs and prints what it says.

An example sees its module's globals plus ``torch``, ``mixkit`` and the public names of its
distribution's top-level package, as a reader who did ``from PACKAGE import *`` would.
Examples that need files, a network or a long run are written as plain code blocks
(``Example::``) instead, and are not collected here.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import torch

import mixkit

PACKAGES = (
    "mixkit",
    "mixkit_sklearn",
    "mixkit_audio",
    "mixkit_pyg",
    "mixkit_transformers",
    "mixkit_lightning",
    "mixkit_bench",
)


def modules_with_examples() -> list[str]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            spec = importlib.util.find_spec(info.name)
            if spec is not None and spec.origin and ">>>" in Path(spec.origin).read_text():
                found.append(info.name)
    return found


MODULES = modules_with_examples()


def test_the_examples_are_found() -> None:
    # the core and three integrations have runnable examples: a broken finder finds none
    assert {m.split(".")[0] for m in MODULES} >= {
        "mixkit",
        "mixkit_sklearn",
        "mixkit_audio",
        "mixkit_pyg",
    }
    assert len(MODULES) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    package = importlib.import_module(name.split(".")[0])
    scope: dict[str, Any] = {"torch": torch, "mixkit": mixkit, package.__name__: package}
    scope |= {n: getattr(package, n) for n in getattr(package, "__all__", ())}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, name, extraglobs=scope):
        runner.run(test, out=report.append)
    assert runner.tries > 0, f"{name}: no example was run"
    assert runner.failures == 0, "".join(report)
