"""Pagination for the API: by page number (``page``, ``page_size``) or by cursor (``cursor``), and by
``limit``/``offset`` with both bounded (the work ledger's lists).

Lists at MGnify's size (half a million analyses, a million runs) must not count the world on every page:

* **Counts** are exact up to :data:`EXACT_COUNT_LIMIT` items (a ``COUNT`` over at most that many rows) and
  Postgres' planner estimate above it (remembered for a minute); the response says which (``count_exact``).
* **Cursors** (keyset pagination): every page carries ``next_cursor``, the position after its last item;
  passing it back as ``cursor`` reads the next page with ``WHERE id < …``, so a page costs the same however
  deep it is.
* **Page numbers** stay for the pages people click, down to :data:`MAX_NUMBERED_DEPTH` items (``max_page``
  says which is the last): a numbered page walks the rows before it (``OFFSET``), so its cost grows with its
  depth. A page starting deeper is a 422 naming ``page``, answered before any query: deeper, page by cursor.

Every list endpoint makes the same number of queries whatever the page size: one bounded count (plus one
``EXPLAIN`` when the count passes the bound and no estimate is remembered), one page, and a constant number
of ``prefetch_related`` queries. The queryset handed to the paginator must already be ordered by something
unique, so pages are stable; cursors need the order to be by primary key (the default of every list; a search
ordered by relevance pages by number only). A search hands over :class:`core.ranked_search.RankedMatches`
instead of a queryset: it ranks every match to cut any page, so it counts them exactly in that same query.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import ValidationError
from ninja.pagination import LimitOffsetPagination, PaginationBase

from core.errors import NotFound

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
#: Far past any real last page, and small enough that ``(page - 1) * page_size`` fits Postgres' bigint OFFSET.
MAX_PAGE = 10_000_000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: An OFFSET past this is refused (a 422), not handed to Postgres, whose bigint it could overflow.
MAX_OFFSET = 1_000_000_000
#: Counts up to this are exact; above it, Postgres' estimate. Counting all 500,000 analyses took 250 ms a page;
#: counting 10,000 behind the visibility filters still took 3-6 ms, more than the rest of a page.
EXACT_COUNT_LIMIT = 1_000
#: How long a planner estimate is reused (seconds), and how many are kept (per process).
ESTIMATE_TTL_SECONDS = 60.0
MAX_REMEMBERED_ESTIMATES = 1024
_estimates: dict[tuple[str, str, str], tuple[float, int]] = {}
#: From this many rows deep, a numbered page skips rows as bare ids (see ``PageNumberPagination._page_at``).
DEFERRED_JOIN_OFFSET = 1_000
#: Numbered pages reach this many items deep; a page starting deeper is a 422 (page it by cursor). A numbered
#: page walks every row before it, about 0.25 ms per 1,000 rows of /analyses at MGnify's size (page 15,000 took
#: 85 ms, by cursor 9 ms). The bound keeps the deepest numbered page's SQL within about 1.5x of the first
#: page's (1.5-2 ms against 1-1.2 ms): at 10,000 items it took 3.3 ms, at 5,000 1.8-3.4 ms. That is 100 pages
#: at the default page size; GitHub's search API stops at 1,000 results, Elasticsearch at 10,000.
MAX_NUMBERED_DEPTH = 2_500
#: Cursors are short; anything longer was not issued by this API.
MAX_CURSOR_LENGTH = 64
#: The JSON key of a cursor's position: the last id of the page it follows.
CURSOR_AFTER_KEY = "after"


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """How many rows ``queryset`` has, exactly when there are at most ``limit``, else Postgres' estimate.

    One query counts at most ``limit + 1`` rows; only when it reaches that is the planner asked (an
    ``EXPLAIN`` of the same query, remembered for :data:`ESTIMATE_TTL_SECONDS`).

    :param queryset: any queryset (its ordering and prefetches are ignored)
    :param limit: count at most this many rows exactly; default :data:`EXACT_COUNT_LIMIT`
    :return: the count, and whether it is exact (an estimate is never below ``limit + 1``)
    """
    limit = EXACT_COUNT_LIMIT if limit is None else limit
    sql, params = queryset.order_by().values("pk")[: limit + 1].query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS bounded", params)
        counted = cursor.fetchone()[0]
        if counted <= limit:
            return counted, True
        return max(planner_estimate(cursor, sql, params), limit + 1), False


def planner_estimate(cursor: Any, sql: str, params: Sequence[Any]) -> int:
    """The number of rows Postgres' planner expects the query ``sql`` to return without its ``LIMIT``.

    Estimates move only when ``ANALYZE`` runs, so each is remembered for :data:`ESTIMATE_TTL_SECONDS`
    (per process): a list's second page costs no ``EXPLAIN``.
    """
    key = (cursor.db.alias, sql, repr(params))
    now = time.monotonic()
    remembered = _estimates.get(key)
    if remembered is not None and now - remembered[0] < ESTIMATE_TTL_SECONDS:
        return remembered[1]
    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
    plan = cursor.fetchone()[0]
    node = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    while node["Node Type"] == "Limit" and node.get("Plans"):  # the estimate of all rows is below the LIMIT
        node = node["Plans"][0]
    if len(_estimates) >= MAX_REMEMBERED_ESTIMATES:
        _estimates.clear()
    _estimates[key] = (now, int(node["Plan Rows"]))
    return _estimates[key][1]


def forget_estimates() -> None:
    """Drop every remembered planner estimate (after ``ANALYZE``, in tests)."""
    _estimates.clear()


def encode_cursor(after_id: int) -> str:
    """The opaque cursor of the position after the row with id ``after_id`` (in the list's order)."""
    return base64.urlsafe_b64encode(json.dumps({CURSOR_AFTER_KEY: after_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor from :func:`encode_cursor` points after.

    :raises ValidationError: (a 422 naming ``cursor``) when it is not one this API issued
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))[CURSOR_AFTER_KEY]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
        after = None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
        raise invalid_parameter("cursor", "not a cursor this API issued: pass a next_cursor from a previous page")
    return after


def invalid_parameter(name: str, message: str) -> ValidationError:
    """A 422 naming the query parameter ``name``, shaped like ninja's own validation errors."""
    return ValidationError([{"type": "value_error", "loc": ["query", name], "msg": message}])


def keyset_order(queryset: QuerySet) -> str | None:
    """``"-id"`` or ``"id"`` when ``queryset`` is ordered by its primary key alone (cursors need that), else None."""
    order = tuple(queryset.query.order_by)
    if order in (("-id",), ("-pk",)):
        return "-id"
    if order in (("id",), ("pk",)):
        return "id"
    return None


class PageNumberPagination(PaginationBase):
    """``?page=2&page_size=50``, or ``?cursor=…&page_size=50``; ``page_size`` at most :data:`MAX_PAGE_SIZE`.

    Numbered pages reach :data:`MAX_NUMBERED_DEPTH` items deep: a page starting deeper is a 422 naming ``page``
    (deeper, page by cursor). A page past the last one is a 404 with a message naming the last page, except
    page 1 of an empty result, which is an empty 200. A malformed cursor, or one with ``page``, is a 422 naming
    ``cursor``.
    """

    class Input(Schema):
        page: int = Field(
            1,
            ge=1,
            le=MAX_PAGE,
            description=f"1-based page number. Numbered pages reach {MAX_NUMBERED_DEPTH:,} items deep (the last is "
            "``max_page``); page deeper by ``cursor``",
        )
        page_size: int = Field(
            DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}"
        )
        cursor: str | None = Field(
            None,
            min_length=1,
            max_length=MAX_CURSOR_LENGTH,
            description="The ``next_cursor`` of a previous page: the page after it, as fast however deep "
            "(use instead of ``page``)",
        )

    class Output(Schema):
        count: int = Field(
            description=f"Number of items on all pages: exact up to {EXACT_COUNT_LIMIT:,}, "
            "Postgres' estimate above (then ``count_exact`` is false); a search's count is always exact"
        )
        count_exact: bool = Field(description="Whether ``count`` (and so ``num_pages``) is exact")
        page: int | None = Field(description="This page's number; null when paging by cursor")
        page_size: int
        num_pages: int = Field(description="Pages of ``page_size`` items, from ``count``")
        max_page: int = Field(
            description=f"The last page reachable by number: numbered pages reach {MAX_NUMBERED_DEPTH:,} items "
            "deep. At most ``num_pages`` (so an estimate too while ``count_exact`` is false); page past it by "
            "``next_cursor``"
        )
        next_cursor: str | None = Field(
            description="Pass as ``cursor`` for the next page; null on the last page (or a list ordered by relevance)"
        )
        items: list[Any]

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any) -> Any:
        """Return the requested page of ``queryset`` with its (bounded) count and the cursor of the next page.

        :param queryset: an ordered queryset; or a list, or anything sliceable with ``count()``, counted exactly
        :param pagination: the validated ``page``, ``page_size`` and ``cursor``
        :param request: the current request (unused)
        :raises NotFound: when ``page`` is past the last page
        :raises ValidationError: for a page starting :data:`MAX_NUMBERED_DEPTH` items deep or deeper (before
            any query), a malformed cursor, a cursor with ``page``, or a cursor on a list ordered by relevance
        """
        size = pagination.page_size
        if pagination.cursor is None:
            self._check_depth(pagination.page, size)
        is_queryset = isinstance(queryset, QuerySet)  # else a list, or an array paged by Postgres (JsonArrayPage)
        order = keyset_order(queryset) if is_queryset else None
        if pagination.cursor is not None:
            page_number = None
            rows = self._after_cursor(queryset, pagination, order)
        else:
            page_number = pagination.page
            rows = self._page_at(queryset, (page_number - 1) * size, size + 1, is_queryset)
        count, exact = bounded_count(queryset) if is_queryset else (self._items_count(queryset), True)
        items, has_next = rows[:size], len(rows) > size
        if page_number is not None:
            count, exact = self._count_consistent_with_page(count, exact, page_number, size, len(items), has_next)
        num_pages = max(1, math.ceil(count / size))
        if page_number is not None and not items and page_number > 1:
            about = "" if exact else "about "
            raise NotFound(
                f"Page {page_number} is out of range: there are {about}{num_pages} page(s) of {about}{count} item(s)"
            )
        return {
            "count": count,
            "count_exact": exact,
            "page": page_number,
            "page_size": size,
            "num_pages": num_pages,
            "max_page": min(num_pages, self._last_numbered_page(size)),
            "next_cursor": encode_cursor(items[-1].pk) if has_next and order is not None else None,
            "items": items,
        }

    @staticmethod
    def _last_numbered_page(size: int) -> int:
        """The last page of ``size`` items that starts less than :data:`MAX_NUMBERED_DEPTH` items deep."""
        return math.ceil(MAX_NUMBERED_DEPTH / size)

    @classmethod
    def _check_depth(cls, page: int, size: int) -> None:
        """Refuse a numbered page starting :data:`MAX_NUMBERED_DEPTH` items deep or deeper (a 422 naming ``page``):
        whatever the list, before it is read."""
        depth = (page - 1) * size
        if depth >= MAX_NUMBERED_DEPTH:
            raise invalid_parameter(
                "page",
                f"page {page} starts {depth:,} items deep; numbered pages reach {MAX_NUMBERED_DEPTH:,} items "
                f"(page {cls._last_numbered_page(size)} at page_size {size}): go deeper by cursor, "
                "passing each page's next_cursor",
            )

    @staticmethod
    def _page_at(queryset: Any, offset: int, size: int, is_queryset: bool) -> list:
        """``size`` rows from ``offset``. Deep in a queryset, the rows skipped are walked as bare ids (an
        index-only scan), then the page's rows are read by id: ``OFFSET`` over whole rows would also compute
        what a list shows of every row it skips."""
        if not is_queryset or offset < DEFERRED_JOIN_OFFSET:
            return list(queryset[offset : offset + size])
        ids = list(queryset.values_list("pk", flat=True)[offset : offset + size])
        return list(queryset.filter(pk__in=ids)) if ids else []

    @staticmethod
    def _after_cursor(queryset: QuerySet, pagination: Input, order: str | None) -> list:
        if pagination.page != 1:
            raise invalid_parameter("cursor", "give either cursor or page, not both")
        if order is None:
            raise invalid_parameter("cursor", "this list is not ordered by id (a search, a table): page it by number")
        after = decode_cursor(pagination.cursor)
        position = {"pk__lt": after} if order == "-id" else {"pk__gt": after}
        return list(queryset.filter(**position)[: pagination.page_size + 1])

    @staticmethod
    def _count_consistent_with_page(
        count: int, exact: bool, page: int, size: int, on_page: int, has_next: bool
    ) -> tuple[int, bool]:
        """An estimated count never contradicts the page just read: a page with a next one is never the last
        (clients walking to ``num_pages`` see everything), and the last page knows the exact count."""
        if exact:
            return count, True
        if not has_next and on_page:
            return (page - 1) * size + on_page, True
        return max(count, (page - 1) * size + on_page + int(has_next)), False


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=50&offset=100``; ``limit`` at most :data:`MAX_LIMIT` and ``offset`` at most :data:`MAX_OFFSET`.

    Larger values are a 422 naming the parameter, rather than a slow page or a bigint overflow in Postgres.
    The answer is ninja's ``{items, count}`` plus ``count_exact``: the count is bounded as the page-number
    lists' is (:func:`bounded_count`), so a ledger of half a million items is not counted on every page, and
    an estimate never contradicts the page just read.
    """

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"Items to skip, at most {MAX_OFFSET}")

    class Output(Schema):
        items: list[Any]
        count: int = Field(
            description=f"Number of items in all: exact up to {EXACT_COUNT_LIMIT:,}, Postgres' estimate above "
            "(then ``count_exact`` is false)"
        )
        count_exact: bool = Field(description="Whether ``count`` is exact")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any) -> Any:
        """The ``limit`` items from ``offset``, with their bounded count.

        :param queryset: an ordered queryset, or a list (counted exactly)
        :param pagination: the validated ``limit`` and ``offset``
        :param request: the current request (unused)
        """
        offset, limit = pagination.offset, pagination.limit
        rows = list(queryset[offset : offset + limit + 1])
        items, has_next = rows[:limit], len(rows) > limit
        if not isinstance(queryset, QuerySet):
            return {"items": items, "count": self._items_count(queryset), "count_exact": True}
        if not has_next and (items or offset == 0):
            return {"items": items, "count": offset + len(items), "count_exact": True}  # this page is the end
        count, exact = bounded_count(queryset)
        if not exact:
            count = max(count, offset + len(items) + int(has_next))
        return {"items": items, "count": count, "count_exact": exact}
