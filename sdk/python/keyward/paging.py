"""Cursor pages: a list call returns one Page; ``all`` iterates over every
item of every page, fetching pages as the loop asks for them."""

from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar

from .models import Page

T = TypeVar("T")


def page_from_json(doc: Any, item: Callable[[dict[str, Any]], T]) -> Page[T]:
    """Reads a page whose items item() reads."""
    if not isinstance(doc, dict):
        doc = {}
    return Page(
        data=[item(d) for d in doc.get("data") or [] if isinstance(d, dict)],
        next_cursor=doc.get("next_cursor") or None,
        prev_cursor=doc.get("prev_cursor") or None,
    )


def iterate(fetch: Callable[[str | None], Page[T]], cursor: str | None = None) -> Iterator[T]:
    """Every item from cursor on; an error is raised from the loop."""
    while True:
        page = fetch(cursor)
        yield from page.data
        if not page.next_cursor or page.next_cursor == cursor:
            return
        cursor = page.next_cursor


def list_query(limit: int | None, cursor: str | None, **filters: str | None) -> dict[str, str]:
    """The query of a list call: limit (1 to 200; the server's default is
    50), cursor (a previous page's next_cursor) and the filters given."""
    q: dict[str, str] = {}
    if limit:
        q["limit"] = str(limit)
    if cursor:
        q["cursor"] = cursor
    for name, value in filters.items():
        if value:
            q[name] = value
    return q
