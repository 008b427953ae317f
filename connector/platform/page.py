"""One self-contained HTML page: inline CSS and script, a policy that forbids every fetch.

The report and the diff share it. Opened from a file:// URL it needs nothing else, and the
Content-Security-Policy makes sure of it (no image, font, frame or request can load).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, an optional sort key, and an optional CSS class."""

    text: str
    sort: str | None = None
    css: str = ""
    markup: bool = False  # `text` is already HTML (built by this module's callers with esc)


CellLike = Cell | str | int


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _asset(name: str) -> str:
    return resources.files("connector.platform").joinpath(name).read_text(encoding="utf-8")


def page(title: str, header: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<title>{esc(title)}</title><style>\n{_asset('page.css')}</style></head>\n"
        f"<body><header>{header}</header>\n<main>{body}</main>\n"
        f"<script>\n{_asset('page.js')}</script></body></html>\n"
    )


def table(
    table_id: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[CellLike]],
    *,
    limit: int,
    total: int | None = None,
    full_copy: str = "",
    filter_box: bool = False,
    numeric: Sequence[str] = (),
) -> str:
    """A sortable table of at most `limit` rows; the note names `full_copy` (a CSV) when cut.

    `total` is the number of rows there are when the caller built only the first `limit`."""
    total = len(rows) if total is None else total
    parts = []
    if filter_box:
        parts.append(
            f'<p class="filter"><input type="search" data-filter="{esc(table_id)}" '
            f'placeholder="Filter these rows" aria-label="Filter {esc(table_id)}">'
            f'<output id="{esc(table_id)}-count">{min(total, limit)} of '
            f"{min(total, limit)} rows</output></p>"
        )
    head = "".join(
        f'<th scope="col"{" class=num" if name in numeric else ""}>{esc(name)}</th>'
        for name in columns
    )
    body = "\n".join(
        "<tr>" + "".join(_cell(cell, columns[i] in numeric) for i, cell in enumerate(row)) + "</tr>"
        for row in rows[:limit]
    )
    parts.append(
        f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table>"
    )
    if total > limit:
        where = f"; every row is in {esc(full_copy)}" if full_copy else ""
        parts.append(f'<p class="note">Showing the first {limit:,} of {total:,} rows{where}.</p>')
    return "".join(parts)


def _cell(cell: CellLike, numeric: bool) -> str:
    if not isinstance(cell, Cell):
        cell = Cell(str(cell), str(cell) if isinstance(cell, int) else None)
    classes = " ".join(name for name in (cell.css, "num" if numeric else "") if name)
    attributes = f' class="{classes}"' if classes else ""
    if cell.sort is not None:
        attributes += f' data-sort="{esc(cell.sort)}"'
    text = cell.text if cell.markup else esc(cell.text)
    return f"<td{attributes}>{text}</td>"
