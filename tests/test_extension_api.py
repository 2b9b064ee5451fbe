"""Everything outside the core uses only its public API, as a third party would.

Checked on the source of every integration, the evaluation app, the examples and the benchmarks
(code and tests): no ``mixkit._*`` module is imported, no private name of the core is read off a
core object (``mixer._clock``, ``super()._mix(...)``), and no class overrides a private method
of a core class. A private name that the package itself defines (its own ``self._seed``) is its
own business.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "packages" / "core" / "src" / "mixkit"
OUTSIDE = [
    *sorted(p for p in (ROOT / "integrations").iterdir() if p.is_dir()),
    *sorted(p for p in (ROOT / "packages").iterdir() if p.is_dir() and p.name != "core"),
    *sorted(p for p in (ROOT / "apps").iterdir() if p.is_dir()),
    ROOT / "examples",
    ROOT / "benchmarks",
]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _python_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        if not any(part.startswith(".") or part in ("build", "dist") for part in path.parts):
            yield path


def defined_private_names(tree: ast.AST) -> set[str]:
    """Private names a source defines: functions, classes, methods, module variables and
    attributes it assigns (``self._x = ...``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _is_private(n)}


def core_private_members() -> set[str]:
    """Private methods of the core's classes and private attributes they set on objects."""
    names: set[str] = set()
    for path in _python_files(CORE):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                names |= {
                    item.name
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                }
                names |= {
                    target.id
                    for item in node.body
                    if isinstance(item, ast.Assign | ast.AnnAssign)
                    for target in (item.targets if isinstance(item, ast.Assign) else [item.target])
                    if isinstance(target, ast.Name)
                }
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if _is_private(n)}


def violations(source: str, filename: str, core: set[str], own: set[str]) -> list[str]:
    """What ``source`` does that only the core may do. ``own``: the private names its package
    defines itself."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mixkit._"):
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("mixkit._"):
                found.append(f"{where}: from {node.module} import ...")
            elif node.module.split(".")[0] == "mixkit":
                found += [
                    f"{where}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if _is_private(alias.name)
                ]
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            if node.attr in core and node.attr not in own:
                found.append(f"{where}: private attribute .{node.attr} of the core")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef)
                    and _is_private(item.name)
                    and item.name in core
                    and _subclasses_core(node)
                ):
                    found.append(f"{where}: {node.name} overrides the core's {item.name}")
    return found


def _subclasses_core(node: ast.ClassDef) -> bool:
    for base in node.bases:
        text = ast.unparse(base)
        if text.startswith("mixkit.") or text in _CORE_CLASSES:
            return True
    return False


_CORE_CLASSES = {
    "Mixer", "MixUp", "CutMix", "KMixUp", "LocalMixUp", "GenLabelMixUp", "MixUpE", "Mixed",
    "MixParams", "RandomChoice", "MixerWrapper", "InputOp", "LerpOp", "CutMixOp", "LossTerm",
    "MixupETerm", "Pairing", "RandomPairing", "OTPairing", "LocalPairing", "Weighting",
    "LocalWeights", "Relabel", "GenLabel", "Schedule", "OffAfter", "LinearDecay", "AutoSwitch",
}  # fmt: skip


@pytest.fixture(scope="module")
def core() -> set[str]:
    return core_private_members()


@pytest.mark.parametrize("package", OUTSIDE, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_public_api_of_the_core_is_used(package: Path, core: set[str]) -> None:
    files = list(_python_files(package))
    assert files, f"no Python files under {package}"
    trees = {path: path.read_text() for path in files}
    own: set[str] = set()
    for path, source in trees.items():
        own |= defined_private_names(ast.parse(source, str(path)))
    found = []
    for path, source in trees.items():
        found += violations(source, str(path.relative_to(ROOT)), core, own)
    assert found == [], "\n".join(found)


def test_the_check_catches_each_kind_of_reach_into_the_core(core: set[str]) -> None:
    # the check is only worth something if it fails on the patterns it forbids
    assert {"_clock", "_seeding", "_mix_batch", "_identity", "_extra_state"} <= core
    assert "_repr_args" not in core  # a module function, not a member of a core object
    source = """
import mixkit._mixer
from mixkit._validation import fail
from mixkit.functional import _float32
from mixkit import MixUp, _kernels

class Mine(MixUp):
    def _identity(self, batch, y, classes):
        return super()._identity(batch, y, classes)

def tick(mixer):
    mixer._clock.step += 1
"""
    found = violations(source, "bad.py", core, own=set())
    assert sorted(f.split(": ", 1)[1] for f in found) == [
        "Mine overrides the core's _identity",
        "from mixkit import _kernels",
        "from mixkit._validation import ...",
        "from mixkit.functional import _float32",
        "import mixkit._mixer",
        "private attribute ._clock of the core",
        "private attribute ._identity of the core",
    ]
    own = {"_clock"}  # a package's own private attribute of the same name is fine
    assert "private attribute ._clock of the core" not in [
        f.split(": ", 1)[1] for f in violations(source, "ok.py", core, own)
    ]
