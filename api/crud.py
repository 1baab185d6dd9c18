"""The small pieces every domain router repeats: pages, query parameters, public conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from api.schemas.common import INT32_MAX, ListResponse, Pagination
from flexprice_pipelines.catalog import Page

P = TypeVar("P", bound=BaseModel)


class PageParams:
    """``limit`` (1–1000, default 50) and ``offset`` query parameters."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 50,
        offset: Annotated[int, Query(ge=0, le=INT32_MAX, description="Rows to skip.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]


def filters(**values: Any) -> dict[str, Any]:
    """Equality filters for ``Repository.list``, without the parameters the client left out."""
    return {name: value for name, value in values.items() if value is not None}


def page_of(public: type[P], page: Page[Any]) -> ListResponse[P]:
    """A catalog ``Page`` as the API's list response."""
    return ListResponse[public](  # type: ignore[valid-type]
        items=[public.model_validate(row) for row in page.items],
        pagination=Pagination(total=page.total, limit=page.limit, offset=page.offset),
    )


def many(public: type[P], rows: Sequence[Any]) -> list[P]:
    """Rows as public schemas."""
    return [public.model_validate(row) for row in rows]


def whole_list(public: type[P], rows: Sequence[Any]) -> ListResponse[P]:
    """Every row as one unpaged list response (``limit`` = ``total``), for Flexprice's nested lists
    such as a plan's entitlements."""
    return ListResponse[public](  # type: ignore[valid-type]
        items=[public.model_validate(row) for row in rows],
        pagination=Pagination(total=len(rows), limit=len(rows), offset=0),
    )
