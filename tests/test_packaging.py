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
    "pytorch_lightning",
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


def _clean_venv_with(
    tmp_path: Path, name: str, requirements: list[str], wheel_files: list[Path]
) -> Path:
    """A venv holding only ``wheel_files`` (installed with --no-deps) plus, read-only through a
    .pth file, links to exactly the installed distributions ``requirements`` need. Nothing is
    ever installed through those links. Returns the venv's python."""
    venv = tmp_path / name
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
    view = tmp_path / f"{name}-deps"
    view.mkdir()
    needed: set[str] = set()
    for req in requirements:
        needed |= _requirement_closure(req)
    for dist_name in sorted(needed):
        dist = metadata.distribution(dist_name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {".."}:
            src = Path(str(dist.locate_file(top)))
            if src.exists() and not (view / top).exists():
                os.symlink(src, view / top)
    (site / f"{name}-deps.pth").write_text(str(view) + "\n")
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
            *map(str, wheel_files),
        ],
        check=True,
    )
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr  # the wheels' requirements are met
    return py


def _probe(py: Path, code: str, venv: Path, absent: list[str]) -> None:
    """Run ``code`` in the clean venv; the package must come from the wheel, and ``absent``
    frameworks must be neither imported nor importable."""
    code += f"\nbad = [f for f in {absent!r} if f in sys.modules]\nassert not bad, bad\n"
    result = subprocess.run([str(py), "-c", "import sys\n" + code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(venv)), result.stdout
    for framework in absent:
        gone = subprocess.run([str(py), "-c", f"import {framework}"], capture_output=True)
        assert gone.returncode != 0, f"{framework} leaked into the clean environment"


CORE_DEPS = ["torch", "numpy", "scipy", "pot"]


def test_core_installs_and_imports_with_only_its_dependencies(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    py = _clean_venv_with(tmp_path, "core", CORE_DEPS, [wheels["mixkit"]])
    code = (
        "import mixkit, mixkit.functional, mixkit.testing, torch\n"
        "m = mixkit.MixUp(num_classes=3)\n"
        "out = m(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))\n"
        "assert mixkit.__version__ == '0.2.0'\n"
        "print(mixkit.__file__)\n"
    )
    _probe(py, code, tmp_path / "core", FRAMEWORKS)


def test_sklearn_extra_installs_and_imports(wheels: dict[str, Path], tmp_path: Path) -> None:
    py = _clean_venv_with(
        tmp_path,
        "sklearn",
        [*CORE_DEPS, "scikit-learn"],
        [wheels["mixkit"], wheels["mixkit-sklearn"]],
    )
    code = (
        "import mixkit_sklearn\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True)\n"
        "clf = mixkit_sklearn.MixUpClassifier(LogisticRegression(max_iter=500), random_state=0)\n"
        "assert clf.fit(X, y).score(X, y) > 0.9\n"
        "print(mixkit_sklearn.__file__)\n"
    )
    _probe(py, code, tmp_path / "sklearn", [f for f in FRAMEWORKS if f != "sklearn"])


def test_graph_extra_installs_and_imports(wheels: dict[str, Path], tmp_path: Path) -> None:
    py = _clean_venv_with(
        tmp_path, "graph", [*CORE_DEPS, "torch-geometric"], [wheels["mixkit"], wheels["mixkit-pyg"]]
    )
    code = (
        "import torch, mixkit_pyg\n"
        "from torch_geometric.data import Batch\n"
        "g = mixkit_pyg.motif_graphs(4, generator=torch.Generator().manual_seed(0))\n"
        "out = mixkit_pyg.FGWMixUp(num_classes=2)(Batch.from_data_list(g))\n"
        "assert out.inputs.num_graphs == 4\n"
        "print(mixkit_pyg.__file__)\n"
    )
    absent = [f for f in FRAMEWORKS if f not in ("torch_geometric", "pandas")]
    _probe(py, code, tmp_path / "graph", absent)


def test_audio_extra_installs_and_imports(wheels: dict[str, Path], tmp_path: Path) -> None:
    py = _clean_venv_with(
        tmp_path,
        "audio",
        [*CORE_DEPS, "torchaudio", "soundfile"],
        [wheels["mixkit"], wheels["mixkit-audio"]],
    )
    code = (
        "import torch, mixkit_audio\n"
        "m = mixkit_audio.LoudnessMixUp(num_classes=2, policy='min')\n"
        "x = torch.randn(2, 1, 100)\n"
        "out = m(x, torch.tensor([0, 1]), lengths=torch.tensor([100, 60]))\n"
        "assert out.mask.shape == (2, 100) and out.inputs.shape == x.shape\n"
        "print(mixkit_audio.__file__)\n"
    )
    absent = [f for f in FRAMEWORKS if f not in ("torchaudio", "soundfile")]
    _probe(py, code, tmp_path / "audio", absent)


def test_hf_extra_installs_and_imports(wheels: dict[str, Path], tmp_path: Path) -> None:
    from packaging.requirements import Requirement

    reqs = [Requirement(r) for r in _wheel_requirements(wheels["mixkit-transformers"])]
    assert sorted(r.name.lower() for r in reqs) == [
        "accelerate", "datasets", "mixkit", "transformers"
    ]  # fmt: skip
    for r in reqs:
        assert all(spec.operator in (">=", "<") for spec in r.specifier), f"{r} pins"
    py = _clean_venv_with(
        tmp_path,
        "hf",
        [*CORE_DEPS, "transformers", "accelerate", "datasets"],
        [wheels["mixkit"], wheels["mixkit-transformers"]],
    )
    code = (
        "import mixkit, mixkit_transformers\n"
        "from mixkit_transformers import MixUpCallback, MixUpCollator, MixUpLoss\n"
        "MixUpCallback(mixkit.MixUp(num_classes=3))\n"
        "assert mixkit_transformers.__version__ == '0.2.0'\n"
        "print(mixkit_transformers.__file__)\n"
    )
    absent = ["sklearn", "torchaudio", "torch_geometric", "timm", "torchvision", "soundfile"]
    _probe(py, code, tmp_path / "hf", absent)


def test_lightning_extra_installs_and_imports(wheels: dict[str, Path], tmp_path: Path) -> None:
    from packaging.requirements import Requirement

    reqs = [Requirement(r) for r in _wheel_requirements(wheels["mixkit-lightning"])]
    assert sorted(r.name.lower() for r in reqs) == ["mixkit", "pytorch-lightning", "torch"]
    for r in reqs:
        assert all(spec.operator in (">=", "<") for spec in r.specifier), f"{r} pins"
    py = _clean_venv_with(
        tmp_path,
        "lightning",
        [*CORE_DEPS, "pytorch-lightning"],
        [wheels["mixkit"], wheels["mixkit-lightning"]],
    )
    code = (
        "import mixkit, mixkit_lightning, torch, pytorch_lightning as pl\n"
        "import torch.nn.functional as F\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "class M(pl.LightningModule):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = torch.nn.Linear(4, 3)\n"
        "    def training_step(self, batch, batch_idx):\n"
        "        x, y = batch\n"
        "        assert y.shape == (8, 3) and y.dtype == torch.float32  # mixed soft targets\n"
        "        return F.cross_entropy(self.net(x), y)\n"
        "    def configure_optimizers(self):\n"
        "        return torch.optim.SGD(self.parameters(), lr=0.1)\n"
        "data = DataLoader(TensorDataset(torch.randn(16, 4), torch.arange(16) % 3), batch_size=8)\n"
        "callback = mixkit_lightning.MixUpCallback(mixkit.MixUp(num_classes=3))\n"
        "pl.Trainer(max_epochs=1, accelerator='cpu', logger=False, enable_checkpointing=False,\n"
        "           enable_progress_bar=False, callbacks=[callback]).fit(M(), data)\n"
        "assert mixkit_lightning.__version__ == '0.2.0'\n"
        "print(mixkit_lightning.__file__)\n"
    )
    _probe(py, code, tmp_path / "lightning", [f for f in FRAMEWORKS if f != "pytorch_lightning"])


#: the extras named like the integration distributions
INTEGRATION_EXTRAS = ("sklearn", "pyg", "audio", "transformers", "lightning", "bench")


def test_extras_name_the_integrations(wheels: dict[str, Path]) -> None:
    from packaging.requirements import Requirement

    extras: dict[str, set[str]] = {}
    for text in _wheel_requirements(wheels["mixkit"]):
        req = Requirement(text)
        if req.marker is not None:
            for extra in (*INTEGRATION_EXTRAS, "graph", "hf", "all"):
                if req.marker.evaluate({"extra": extra}):
                    extras.setdefault(extra, set()).add(req.name)
    assert extras["sklearn"] == {"mixkit-sklearn"}
    assert extras["pyg"] == extras["graph"] == {"mixkit-pyg"}  # graph: the 0.1 name
    assert extras["audio"] == {"mixkit-audio"}
    assert extras["transformers"] == extras["hf"] == {"mixkit-transformers"}  # hf: the 0.1 name
    assert extras["lightning"] == {"mixkit-lightning"}
    assert extras["bench"] == {"mixkit-bench"}
    integrations = INTEGRATION_EXTRAS
    assert extras["all"] == set().union(*(extras[e] for e in integrations))


def test_integrations_declare_the_core_range_they_are_tested_with(
    wheels: dict[str, Path],
) -> None:
    from packaging.requirements import Requirement
    from packaging.version import Version

    core = Version(_wheel_version(wheels["mixkit"]))
    for name, wheel in wheels.items():
        if name == "mixkit":
            continue
        reqs = [Requirement(r) for r in _wheel_requirements(wheel)]
        on_core = [r for r in reqs if r.name == "mixkit" and r.marker is None]
        assert len(on_core) == 1, f"{name}: no requirement on mixkit"
        spec = on_core[0].specifier
        assert core in spec, f"{name}: {spec} excludes the core it is tested with ({core})"
        assert any(s.operator == "<" for s in spec), f"{name}: {spec} has no upper bound"


def _wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]
