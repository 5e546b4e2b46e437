"""Output: JSON for scripts, rich tables for people. Plain mqadmin text lives in `mqadmin_text`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def emit_json(data: Any) -> None:
    """Standard JSON on stdout (integer map keys become strings), one document, flushed."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_lines(lines: Iterable[str]) -> None:
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


#: Columns whose cells are free text (KV and config values): they may fold mid-token on a
#: narrow terminal. Every other column holds names, addresses or numbers, kept whole.
FREE_TEXT_COLUMNS = frozenset({"Value"})
#: A free-text column gets at least this many characters before it folds.
FREE_TEXT_MIN_WIDTH = 16


def emit_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
) -> None:
    """A rich table on stdout; rich is imported only here because it is slow to import.

    On a terminal the table fits its width when it can, wrapping cells between words, and grows
    past it rather than split a name or an address. Piped, it never wraps (grep finds whole
    values) and its lines carry no trailing spaces."""
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    print_renderable(table)


def print_renderable(renderable: Any) -> None:
    """Print tables (alone or in a Group) as `emit_table` describes."""
    import io

    from rich.console import Console

    terminal = Console(highlight=False)
    tty = sys.stdout.isatty()
    width = fit_tables(renderable, terminal.width if tty else None)
    if tty:
        Console(highlight=False, width=max(terminal.width, width)).print(renderable)
        return
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, width=width, color_system=None).print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))
    sys.stdout.flush()


def fit_tables(renderable: Any, width: int | None) -> int:
    """Fix the column widths of every table in `renderable` (a Table or a Group of them) so it
    fits `width` (None: as wide as its content) without splitting a token, except in free-text
    columns; the width it then needs, which may exceed `width`."""
    from rich.console import Group
    from rich.table import Table

    if isinstance(renderable, Table):
        return _fit_table(renderable, width)
    if isinstance(renderable, Group):
        return max((fit_tables(r, width) for r in renderable.renderables), default=1)
    return width or 1


def _fit_table(table: Any, width: int | None) -> int:
    from rich.cells import cell_len

    def text(cell: Any) -> str:
        return getattr(cell, "plain", None) or (cell if isinstance(cell, str) else str(cell))

    longest, widest = [], []
    for column in table.columns:
        cells = [text(column.header), *(text(cell) for cell in column._cells)]
        tokens = [cell_len(word) for cell in cells for word in cell.split()] or [1]
        lines = [cell_len(line) for cell in cells for line in cell.splitlines()] or [1]
        floor = max(tokens)
        if column.header in FREE_TEXT_COLUMNS:
            floor = min(floor, FREE_TEXT_MIN_WIDTH)
        longest.append(floor)
        widest.append(max(max(lines), floor))
    chrome = table._extra_width + sum(table._get_padding_width(i) for i in range(len(widest)))
    widths = list(widest)
    if width is not None:
        budget = max(width - chrome, sum(longest))
        while sum(widths) > budget:
            # narrow the widest column that can still wrap between words
            index = max(
                (i for i in range(len(widths)) if widths[i] > longest[i]),
                key=lambda i: widths[i],
            )
            widths[index] -= 1
    for column, column_width in zip(table.columns, widths, strict=True):
        column.width = column_width
    titles = [cell_len(t) for t in (table.title, table.caption) if isinstance(t, str)]
    return max([sum(widths) + chrome, *titles]) if width is None else sum(widths) + chrome


def emit_message(text: str) -> None:
    """A short confirmation for people (table mode)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
