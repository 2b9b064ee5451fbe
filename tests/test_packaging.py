"""Packaging: every distribution builds a wheel; core installs and imports with only its deps.

The clean environment gets the wheel of ``mixkit`` (and nothing else is installed into it) plus,
read-only, exactly the installed distributions that core's declared requirements need (found by
walking their metadata here). ``pip check`` then confirms the wheel's requirements are met by
them, and ``import mixkit`` must work without any framework core does not depend on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTS = sorted(p.parent for p in ROOT.glob("*/*/pyproject.toml"))
# what `import mixkit` must never pull in
FRAMEWORKS = [
    "transformers",
    "sklearn",
    "torchaudio",
    "torch_geometric",
    "timm",
    "torchvision",
    "matplotlib",
    "datasets",
    "accelerate",
    "soundfile",
    "pandas",
]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    for dist in DISTS:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                str(out),
                str(dist),
            ],
            check=True,
        )
    return {w.name.split("-")[0].replace("_", "-"): w for w in out.glob("*.whl")}


def test_every_distribution_builds_a_typed_wheel(wheels: dict[str, Path]) -> None:
    names = {re.sub(r"[-_.]+", "-", d.name) for d in DISTS}
    assert len(wheels) == len(DISTS), (sorted(wheels), sorted(names))
    for name, wheel in wheels.items():
        files = zipfile.ZipFile(wheel).namelist()
        package = name.replace("-", "_")
        assert f"{package}/py.typed" in files, f"{wheel.name} lacks py.typed"
        assert f"{package}/__init__.py" in files


def _requirement_closure(dist: str) -> set[str]:
    """Installed distributions needed by ``dist``'s requirements (no extras), recursively."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [dist]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        lines = z.read(meta).decode().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")]


def test_core_declares_ranges_of_its_four_dependencies(wheels: dict[str, Path]) -> None:
    from packaging.requirements import Requirement

    reqs = [Requirement(r) for r in _wheel_requirements(wheels["mixkit"])]
    core = [r for r in reqs if r.marker is None]
    assert sorted(r.name.lower() for r in core) == ["numpy", "pot", "scipy", "torch"]
    for r in core:
        assert all(spec.operator in (">=", "<") for spec in r.specifier), f"{r} pins"


def test_core_installs_and_imports_with_only_its_dependencies(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    # A clean venv. pip writes only mixkit into it (--no-deps): the dependencies are made
    # visible read-only through a .pth file pointing at a folder of links to exactly the
    # distributions core's requirements need. Nothing ever installs through those links.
    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    view = tmp_path / "core-deps"
    view.mkdir()
    needed: set[str] = set()
    for req in ("torch", "numpy", "scipy", "pot"):
        needed |= _requirement_closure(req)
    for name in sorted(needed):
        dist = metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {".."}:
            src = Path(str(dist.locate_file(top)))
            if src.exists() and not (view / top).exists():
                os.symlink(src, view / top)
    (site / "core-deps.pth").write_text(str(view) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--no-warn-script-location",
            str(wheels["mixkit"]),
        ],
        check=True,
    )
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr  # core's requirements are met
    probe = (
        "import sys, mixkit, mixkit.functional, mixkit.testing\n"
        "m = mixkit.MixUp(num_classes=3)\n"
        "import torch\n"
        "out = m(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))\n"
        f"bad = [f for f in {FRAMEWORKS!r} if f in sys.modules]\n"
        "assert not bad, bad\n"
        "print(mixkit.__version__, mixkit.__file__)\n"
    )
    result = subprocess.run([str(py), "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version, location = result.stdout.split()
    assert version == "0.1.0"
    assert location.startswith(str(venv)), "mixkit must come from the wheel, not the checkout"
    for framework in FRAMEWORKS:
        absent = subprocess.run([str(py), "-c", f"import {framework}"], capture_output=True)
        assert absent.returncode != 0, f"{framework} leaked into the clean environment"
