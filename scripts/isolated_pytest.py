"""Run one distribution's tests in a venv that holds only what that distribution declares.

    python scripts/isolated_pytest.py integrations/audio [pytest args...]

The development venv holds every package of the repository, so a test there can import a
framework its distribution never declared and still pass (a user installing only that
distribution would then hit ``ModuleNotFoundError``). This script builds, under
``.venv-isolated/<name>``, a venv that sees exactly:

- the sources of the mixkit distributions the package needs (itself and the ``mixkit*``
  distributions in its requirements, recursively), through a ``.pth`` file;
- read-only links to the installed third-party distributions its declared requirements need
  (walking their metadata), plus those of its ``test`` dependency group
  (``[dependency-groups] test = [...]`` in its ``pyproject.toml``, PEP 735);

and runs ``python -m pytest <dist>/tests`` there. Nothing is installed or downloaded: the
third-party code is the development venv's own, linked. Run it with the development venv's
python (``make pytest`` does).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: distribution name -> its directory, for every distribution of the repository
LOCAL = {
    re.sub(r"[-_.]+", "-", tomllib.loads(p.read_text())["project"]["name"]).lower(): p.parent
    for p in sorted(ROOT.glob("*/*/pyproject.toml"))
}
#: what every test run needs, whatever the package (the root conftest imports torch)
TOOLING = ["pytest", "pytest-xdist", "hypothesis", "torch"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(req: Requirement, extras: frozenset[str]) -> bool:
    """Whether ``req`` (a requirement of a distribution asked for with ``extras``) applies."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in extras | {""})


def _pyproject(path: Path) -> dict[str, Any]:
    return tomllib.loads((path / "pyproject.toml").read_text())


def closure(project: Path) -> tuple[list[Path], set[str]]:
    """The mixkit source trees and the installed third-party distributions ``project`` needs:
    its dependencies, its ``test`` dependency group and the test tooling, followed through
    extras and the requirements of what they name."""
    data = _pyproject(project)
    todo = [
        *data["project"].get("dependencies", []),
        *data.get("dependency-groups", {}).get("test", []),
        *TOOLING,
    ]
    sources = [project / "src"]
    third: set[str] = set()
    done: set[tuple[str, frozenset[str]]] = {(_norm(data["project"]["name"]), frozenset())}
    while todo:
        req = Requirement(todo.pop())
        name, extras = _norm(req.name), frozenset(req.extras)
        if (name, extras) in done:
            continue
        if name in LOCAL:
            local = _pyproject(LOCAL[name])["project"]
            if not any(seen == name for seen, _ in done):
                sources.append(LOCAL[name] / "src")
                todo += local.get("dependencies", [])
            for extra in extras:
                todo += local.get("optional-dependencies", {}).get(extra, [])
        else:
            third.add(name)
            todo += [r for r in metadata.requires(name) or [] if _applies(Requirement(r), extras)]
        done.add((name, extras))
    return sources, third


def build(project: Path) -> Path:
    """(Re)build the isolated venv of ``project``; returns its python."""
    venv = ROOT / ".venv-isolated" / project.name
    if venv.exists():
        shutil.rmtree(venv)
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
    sources, third = closure(project)
    view = venv / "deps"
    view.mkdir()
    for name in sorted(third):
        dist = metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {".."}:
            src = Path(str(dist.locate_file(top)))
            if src.exists() and not (view / top).exists() and top != "__pycache__":
                os.symlink(src, view / top)
    lines = [str(s) for s in sources] + [str(view)]
    (site / "mixkit-isolated.pth").write_text("\n".join(lines) + "\n")
    return py


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    project = (ROOT / argv[0]).resolve()
    if not (project / "pyproject.toml").exists():
        print(f"expected a distribution directory holding pyproject.toml, got {argv[0]!r}")
        return 2
    py = build(project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [str(py), "-m", "pytest", str(project / "tests"), *argv[1:]]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
