"""The documentation stays true: the site builds without a warning, and its code runs.

* The site (``mkdocs build --strict``, what ``make docs`` runs) builds into a temporary folder.
* Every ```` ```python ```` block of the pages under ``docs/`` and of ``README.md`` runs. The
  blocks of one file run in order in one fresh namespace, like the cells of a notebook (a page
  defines its data and model once, later blocks use them); each block is its own test, so a
  failure names its file and line. A block whose run fails leaves what it defined before the
  error, and the blocks after it still run. A block preceded by ``<!-- no-run -->`` is shown but
  not run; keep that for fragments that cannot run by nature (a method body shown out of its
  class) and say why beside it.
* Every ``mixkit...`` name the pages mention exists, and every public name of the core has an
  entry in the API reference.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NO_RUN = "<!-- no-run -->"
FENCE = re.compile(r"^(\s*)```(\S*)(.*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    run: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    """The fenced ``python`` blocks of a Markdown file, indentation removed."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, lang = opening.group(1), opening.group(2)
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if lang == "python":
            previous = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
            body = [line[len(indent) :] for line in lines[i + 1 : end]]
            blocks.append(Block(path, i + 1, "\n".join(body) + "\n", previous != NO_RUN))
        i = end + 1
    return blocks


def documentation_files() -> list[Path]:
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


BLOCKS = [block for path in documentation_files() for block in python_blocks(path)]


@dataclass
class FileRun:
    """The shared namespace of one file's blocks, and how far they have run."""

    workdir: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    done: int = 0


_RUNS: dict[Path, FileRun] = {}


def _execute(block: Block, run: FileRun) -> None:
    # blank lines up to the fence: a traceback names the block's real line in the file
    code = compile("\n" * block.line + block.code, str(block.path), "exec")
    cwd, threads = Path.cwd(), torch.get_num_threads()
    os.chdir(run.workdir)  # files a block writes (a Trainer's output_dir) land in a tmp folder
    torch.set_num_threads(1)  # tiny models: faster on one thread, and fair to parallel tests
    try:
        exec(code, run.namespace)
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(block, id=block.name, marks=pytest.mark.xdist_group(str(block.path)))
        for block in BLOCKS
        if block.run
    ],
)
def test_code_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = _RUNS.get(block.path)
    if run is None:
        run = _RUNS[block.path] = FileRun(tmp_path_factory.mktemp(block.path.stem))
    runnable = [b for b in BLOCKS if b.path == block.path and b.run]
    position = runnable.index(block)
    if run.done > position:  # run out of order: start the file again
        run = _RUNS[block.path] = FileRun(run.workdir)
    for earlier in runnable[run.done : position]:  # what a worker has not run yet
        with contextlib.suppress(Exception):  # its own test reports it
            _execute(earlier, run)
    run.done = position + 1
    _execute(block, run)  # the check: the block raises nothing (its own asserts included)


def test_every_file_has_blocks_and_markers_are_rare() -> None:
    guides = sorted((DOCS / "guides").glob("*.md"))
    assert guides, "docs/guides/ is empty"
    for path in guides:
        assert any(b.path == path and b.run for b in BLOCKS), f"{path.name}: no runnable block"
    skipped = [b.name for b in BLOCKS if not b.run]
    assert len(skipped) <= 3, f"too many <!-- no-run --> blocks: {skipped}"


# a public dotted name of the project's packages, outside file names and paths: mixkit.MixUp,
# mixkit_audio.WaveformMixUp, mixkit.functional.mix (not mixkit._private, not mixkit.md)
NAME = re.compile(r"(?<![\w/.-])(mixkit(?:_[a-z]+)?(?:\.[A-Za-z]\w*)+)(?![\w/-]|\.(?:md|py)\b)")


def _resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def test_every_mixkit_name_in_the_docs_exists() -> None:
    missing = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for dotted in sorted(set(NAME.findall(text))):
            if not _resolve(dotted):
                missing.append(f"{path.relative_to(ROOT)}: {dotted}")
    assert not missing, "names the docs mention that do not exist:\n" + "\n".join(missing)


def test_every_public_name_of_the_core_is_in_the_api_reference() -> None:
    import mixkit

    reference = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md"))
    documented = set(re.findall(r"^::: mixkit\.(\w+)", reference, flags=re.MULTILINE))
    public = {n for n in mixkit.__all__ if not n.startswith("_")}
    missing = sorted(public - documented - {"functional", "validation"})
    assert not missing, f"add to docs/api/*.md: {', '.join(f'::: mixkit.{n}' for n in missing)}"
    for module in ("functional", "validation", "testing"):
        assert f"::: mixkit.{module}\n" in reference, module


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    reference = (site / "api" / "mixers.html").read_text(encoding="utf-8")
    assert 'id="mixkit.MixUp"' in reference  # the API reference came from the docstrings
    for page in ("index.html", "guides/images.html", "methods/k-mixup.html", "examples.html"):
        assert (site / page).is_file(), page
