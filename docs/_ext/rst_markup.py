"""Read the reStructuredText inside the numpydoc docstrings as Markdown for the API pages.

The docstrings follow numpydoc, whose prose is reStructuredText: cross-reference roles such as
``:func:`build_journeys``` and simple tables ruled with ``=``. mkdocstrings renders Markdown,
so this griffe extension rewrites both in the docstrings it loads (the source files are not
touched): a role becomes inline code (``~`` keeps the last name, as Sphinx does), a simple
table becomes a Markdown table, and the ``::`` that opens a literal block becomes ``:`` (the
indented block is code in Markdown too). It is loaded from ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|term):`(?P<tilde>~?)(?P<target>[^`]+)`"
)
_RULE = re.compile(r"^(?P<indent>\s*)=+(?: +=+)+\s*$")
#: A paragraph that ends in ``::`` introduces a literal block (Markdown: the indented code).
_LITERAL = re.compile(r"(?P<alone>^[ \t]*::$)|(?<=\S)::$", re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    target = match.group("target")
    if match.group("tilde"):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _columns(rule: str) -> list[tuple[int, int | None]]:
    """Start and end of each column of a rule line (the last column runs to the line end)."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
    return [(start, end if i < len(spans) - 1 else None) for i, (start, end) in enumerate(spans)]


def _cells(line: str, columns: list[tuple[int, int | None]]) -> list[str]:
    cells = []
    for i, (start, _) in enumerate(columns):
        stop = columns[i + 1][0] if i + 1 < len(columns) else None
        cells.append(line[start:stop].strip())
    return cells


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _table(block: list[str], indent: str) -> list[str]:
    """One simple table (rule lines included) as Markdown lines."""
    columns = _columns(block[0])
    rules = [i for i, line in enumerate(block) if _RULE.match(line)]
    header: list[str] | None = None
    body_lines = block[1:-1]
    if len(rules) >= 3:  # a header between the first two rules
        header = _cells(" ".join(block[1 : rules[1]]), columns)
        body_lines = block[rules[1] + 1 : -1]
    rows: list[list[str]] = []
    for line in body_lines:
        if not line.strip() or _RULE.match(line):
            continue
        cells = _cells(line, columns)
        if rows and not cells[0]:  # a continuation line: first column blank
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    if header is None:
        header = [""] * len(columns)
    lines = [_markdown_row(header), "|" + "---|" * len(columns)]
    lines += [_markdown_row(r) for r in rows]
    return ["", *(indent + line for line in lines), ""]


def rst_to_markdown(text: str) -> str:
    """Rewrite roles and simple tables of a docstring as Markdown.

    Examples
    --------
    >>> rst_to_markdown("See :func:`~attribution.read_events` and :class:`Period`.")
    'See `read_events` and `Period`.'
    >>> rst_to_markdown("The public surface::")
    'The public surface:'
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        head = _RULE.match(lines[i])
        if head:
            rules = [i]
            j = i + 1
            while j < len(lines) and len(rules) < 3:
                if _RULE.match(lines[j]):
                    rules.append(j)
                elif not lines[j].strip() and len(rules) == 1:
                    break
                j += 1
            # header table: three rules; headerless: two rules and no third before a blank line
            if len(rules) == 3 or (len(rules) == 2 and (j >= len(lines) or not lines[j].strip())):
                end = rules[-1]
                out.extend(_table(lines[i : end + 1], head.group("indent")))
                i = end + 1
                continue
        out.append(lines[i])
        i += 1
    text = _LITERAL.sub(lambda m: "" if m.group("alone") else ":", "\n".join(out))
    return _ROLE.sub(_role, text)


class RstMarkup(griffe.Extension):
    """Rewrite every loaded docstring with :func:`rst_to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each object griffe loads."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
