"""Page-number pagination for the API: ``page`` and ``page_size``, a count, and a 404 past the last page.

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
from ninja.pagination import PaginationBase

from core.errors import NotFound

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class PageNumberPagination(PaginationBase):
    """``?page=2&page_size=50``; ``page_size`` is at most :data:`MAX_PAGE_SIZE` (larger is a 422).

    A page past the last one is a 404 with a message naming the last page, except page 1 of an empty
    result, which is an empty 200.
    """

    class Input(Schema):
        page: int = Field(1, ge=1, description="1-based page number")
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
