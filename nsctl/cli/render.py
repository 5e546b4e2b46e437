"""Output: JSON for scripts, rich tables for people. Plain mqadmin text lives in `mqadmin_text`.

Everything nsctl prints on stdout goes through `write` (or `print_renderable`), so a reader that
goes away (`nsctl topicList | head -1`) is dealt with in one place: stdout is pointed at
/dev/null, the command finishes as it would have, and nothing about the closed pipe is printed,
neither now nor when the interpreter flushes stdout on its way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

#: Set once the reader of stdout has gone away; every later write is dropped.
_reader_gone = False


def write(text: str) -> None:
    """`text` on stdout, flushed at once (scripts and `watch` readers see it immediately)."""
    if _reader_gone:
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_went_away()


def reader_went_away() -> None:
    """The reader of stdout has gone: send what is still buffered and all later output to
    /dev/null, so that neither this write nor the flush at exit complains about it."""
    global _reader_gone
    _reader_gone = True
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # stdout is not a file (captured by a test runner): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def reader_gone() -> bool:
    """True when nobody reads stdout any more. Learnt from a failed write, or, for a pipe or
    socket with nothing written yet, by polling it: the write end of a pipe whose reader
    closed reports an error condition at once."""
    if _reader_gone:
        return True
    try:
        import select
        import stat

        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, ValueError, OSError):
        return False
    if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events):
        reader_went_away()
        return True
    return False


#: While `collect_json` is active, JSON documents are kept here instead of printed.
_collected: list[Any] | None = None


def emit_json(data: Any) -> None:
    """Standard JSON on stdout (integer map keys become strings), one document, flushed."""
    if _collected is not None:
        _collected.append(data)
        return
    write(dumps_indented(data) + "\n")


@contextlib.contextmanager
def collect_json() -> Iterator[list[Any]]:
    """Keep the documents `emit_json` is given in the yielded list (a command that runs other
    commands, such as `demo`, prints them as one document)."""
    global _collected
    previous, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = previous


def emit_json_line(data: Any) -> None:
    """One JSON object on one line (streams of events: watch, registerBroker)."""
    write(json.dumps(data, ensure_ascii=False) + "\n")


def dumps_indented(data: Any) -> str:
    """Exactly `json.dumps(data, indent=2, ensure_ascii=False)`, faster for big documents.

    With `indent`, the standard library encodes in Python, item by item (0.2 s for a list of
    100,000 topics); here lists of strings are joined around the C string encoder and dicts with
    string keys are walked, while anything else is left to `json.dumps` and re-indented.
    """
    out: list[str] = []
    _indented(data, 0, out)
    return "".join(out)


def _indented(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is list and value and all(type(v) is str for v in value):
        inner = "\n" + "  " * (level + 1)
        out.append("[" + inner + ("," + inner).join(map(_encode_string, value)))
        out.append("\n" + "  " * level + "]")
    elif (
        (kind is list or kind is dict)
        and value
        and (kind is list or all(type(k) is str for k in value))
    ):
        inner = "\n" + "  " * (level + 1)
        opening, closing = ("[", "]") if kind is list else ("{", "}")
        out.append(opening)
        items = ((None, v) for v in value) if kind is list else value.items()
        separator = inner
        for key, item in items:
            out.append(separator if key is None else separator + _encode_string(key) + ": ")
            _indented(item, level + 1, out)
            separator = "," + inner
        out.append("\n" + "  " * level + closing)
    else:
        # Scalars, empty containers, other key types: the standard encoder, shifted to this
        # level (JSON text has newlines only between tokens, never inside a string).
        text = json.dumps(value, indent=2, ensure_ascii=False)
        out.append(text.replace("\n", "\n" + "  " * level) if level else text)


_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def emit_lines(lines: Iterable[str]) -> None:
    write("".join(line + "\n" for line in lines))


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
    if _reader_gone:
        return
    from rich.table import Table

    # A title never wraps: the table is at least as wide as it (a one-column table of short
    # names would otherwise fold "Clusters of DemoTopic" over two lines, even on a pipe).
    table = Table(
        title=title,
        caption=caption,
        title_justify="left",
        header_style="bold",
        min_width=len(title) if title else None,
    )
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
        console = Console(highlight=False, width=max(terminal.width, width))
        # rich's own handling of a closed pipe exits with status 1; ours ends quietly.
        console.on_broken_pipe = _quiet_console(console)  # type: ignore[method-assign]
        try:
            console.print(renderable)
        except BrokenPipeError:
            reader_went_away()
        return
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, width=width, color_system=None).print(renderable)
    write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def _quiet_console(console: Any) -> Callable[[], None]:
    def on_broken_pipe() -> None:
        console.quiet = True
        reader_went_away()

    return on_broken_pipe


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
    write(text + "\n")
