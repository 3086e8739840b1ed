"""Pagination for the API: by page number (``page``, ``page_size``, a 404 past the last page), or by
``limit``/``offset`` with both bounded (the work ledger's lists).

Every list endpoint makes exactly two queries for its rows whatever the page size: one ``COUNT(*)``
and one ``LIMIT/OFFSET`` page (plus a constant number of ``prefetch_related`` queries, if any).
The queryset handed to the paginator must already be ordered by something unique, so pages are stable.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
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


class PageNumberPagination(PaginationBase):
    """``?page=2&page_size=50``; ``page_size`` is at most :data:`MAX_PAGE_SIZE` (larger is a 422).

    A page past the last one is a 404 with a message naming the last page, except page 1 of an empty
    result, which is an empty 200.
    """

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description=f"1-based page number, at most {MAX_PAGE}")
        page_size: int = Field(
            DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}"
        )

    class Output(Schema):
        count: int = Field(description="Number of items on all pages")
        page: int
        page_size: int
        num_pages: int
        items: list[Any]

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any) -> Any:
        """Return the requested page of ``queryset`` with its count.

        :param queryset: an ordered queryset
        :param pagination: the validated ``page`` and ``page_size``
        :param request: the current request (unused)
        :raises NotFound: when ``page`` is past the last page
        """
        count = self._items_count(queryset)
        num_pages = max(1, math.ceil(count / pagination.page_size))
        if pagination.page > num_pages:
            raise NotFound(f"Page {pagination.page} is out of range: there are {num_pages} page(s) of {count} item(s)")
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "count": count,
            "page": pagination.page,
            "page_size": pagination.page_size,
            "num_pages": num_pages,
            "items": queryset[offset : offset + pagination.page_size],
        }


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=50&offset=100``; ``limit`` at most :data:`MAX_LIMIT` and ``offset`` at most :data:`MAX_OFFSET`.

    Larger values are a 422 naming the parameter, rather than a slow page or a bigint overflow in Postgres.
    The answer is ninja's ``{items, count}``.
    """

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"Items to skip, at most {MAX_OFFSET}")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)
