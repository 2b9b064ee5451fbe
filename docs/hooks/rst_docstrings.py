"""A Griffe extension: mixkit's docstrings, written for Sphinx, read as Markdown by mkdocstrings.

The docstrings are Google style (``Args:``, ``Returns:``, ``Example:``) with a few
reStructuredText constructs that Markdown does not know. Before mkdocstrings parses a docstring,
this extension rewrites them, so the sources stay as they are and the API reference renders
without warnings:

* roles (``:class:`~mixkit.MixUp```, ``:func:``, ``:meth:``, ``:math:`` ...) become inline code
  (``~`` keeps the last dotted component, as in Sphinx);
* ``.. math::`` blocks become ``text`` code blocks, ``.. code-block:: python`` blocks and literal
  blocks introduced by ``::`` become ``python`` code blocks;
* ``.. note::`` blocks become Material admonitions, and the singular ``Example:`` header the
  plural that Griffe reads as an examples section (``>>>`` lines become code, not quotes);
* an ``Args:`` entry naming several parameters (``eta, tau: see MixupETerm.``) becomes one entry
  per parameter, and a description continued at the entries' own indent is indented under its
  entry.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|math):`(~?)([^`]+)`")
SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Attributes|Other Parameters):\s*$")
GROUPED = re.compile(r"^(\s*)(\*{0,2}\w+(?:,\s*\*{0,2}\w+)+):(\s.*|)$")
ITEM = re.compile(r"^\s*\*{0,2}\w+(\s*\([^)]*\))?:(\s|$)")
EXAMPLE = re.compile(r"^\s*Example:\s*$")
DIRECTIVE = re.compile(r"^(\s*)\.\. (math|note|code-block)::\s*(\S.*)?$")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The lines after ``start`` indented deeper than ``indent`` (blank lines inside kept)."""
    while start < len(lines) and not lines[start].strip():  # leading blank lines: not code
        start += 1
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    while end > start and not lines[end - 1].strip():  # trailing blank lines stay outside
        end -= 1
    body = lines[start:end]
    depth = min((_indent(line) for line in body if line.strip()), default=indent)
    return [line[depth:] if line.strip() else "" for line in body], end


def convert(text: str) -> str:
    """The docstring ``text`` with its reStructuredText constructs turned into Markdown."""
    lines = ROLE.sub(_role, text).splitlines()
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        pad = " " * _indent(line)
        if line.strip() and section_indent is not None and _indent(line) <= section_indent:
            section_indent = None
        section = SECTION.match(line)
        if section:
            section_indent = len(section.group(1))
        directive = DIRECTIVE.match(line)
        grouped = GROUPED.match(line)
        if directive:
            kind, inline = directive.group(2), directive.group(3)
            body, i = _block(lines, i + 1, _indent(line))
            if kind == "note":
                out.append(f"{pad}!!! note")
                out += [f"{pad}    {b}" if b else "" for b in body]
            else:
                lang = "python" if kind == "code-block" else "text"
                code = [inline] if kind == "math" and inline else []
                out += [f"{pad}```{lang}", *[f"{pad}{b}" if b else "" for b in code + body]]
                out.append(f"{pad}```")
            continue
        if grouped and section_indent is not None and _indent(line) == section_indent + 4:
            names = [n.strip() for n in grouped.group(2).split(",")]
            out += [f"{pad}{name}:{grouped.group(3)}" for name in names]
            i += 1
            continue
        if (
            section_indent is not None
            and line.strip()
            and _indent(line) == section_indent + 4
            and not ITEM.match(line)
        ):  # a description continued at the entries' indent: indent it under its entry
            out.append("    " + line)
            i += 1
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):
            intro = line.rstrip()[:-2].rstrip()
            body, i = _block(lines, i + 1, _indent(line))
            if intro.strip() in ("Example", "Examples"):  # a section header: its body indents
                out.append(f"{pad}Examples:")
                pad += "    "
            else:
                if intro.strip():
                    out.append(intro + ":")
                if out and out[-1].strip():  # a code block starts a paragraph of its own
                    out.append("")
            out += [f"{pad}```python", *[f"{pad}{b}" if b else "" for b in body], f"{pad}```"]
            continue
        if EXAMPLE.match(line):  # the singular header: Griffe would make it an admonition
            line = line.replace("Example:", "Examples:")
        out.append(line)
        i += 1
    return "\n".join(out)


class RstToMarkdown(Extension):
    """Rewrite every loaded object's docstring with :func:`convert`."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
