"""Triage queues: the gallery page and its next pages (fetched by htmx as the user scrolls)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from safehold.services.dashboard import case_name
from safehold.services.queues import (
    QUEUES,
    SORTS,
    GalleryPage,
    QueueFilter,
    queue_counts,
    queue_options,
    queue_page,
)
from safehold.services.review import review_settings
from safehold.web.deps import Ctx, CurrentUser, Refresher, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])


def _yes_no(v: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(v or "")


def _day(d: date | None, end: bool) -> datetime | None:
    return datetime.combine(d, time.max if end else time.min, UTC) if d else None


def _filter(
    evidence: Annotated[int | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=20)] = None,
    min_size: Annotated[int | None, Query(ge=0)] = None,
    max_size: Annotated[int | None, Query(ge=0)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    make: Annotated[str | None, Query(max_length=100)] = None,
    model: Annotated[str | None, Query(max_length=100)] = None,
    serial: Annotated[str | None, Query(max_length=100)] = None,
    deleted: Annotated[str | None, Query(max_length=3)] = None,
    set_id: Annotated[int | None, Query(alias="set")] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    decided: Annotated[str | None, Query(max_length=3)] = None,
) -> QueueFilter:
    return QueueFilter(evidence, type or None, min_size, max_size, _day(date_from, False), _day(date_to, True),
                       make or None, model or None, serial or None, _yes_no(deleted), set_id, category or None,
                       _yes_no(decided))


Filter = Annotated[QueueFilter, Depends(_filter)]


def _next_url(request: Request, case_id: int, queue: str, page_: GalleryPage) -> str | None:
    """The next page: after the last tile's cursor where the sort has one, else by offset."""
    if page_.next_offset is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "after")}
    if page_.next_after is not None:
        params["after"] = page_.next_after
    else:
        params["offset"] = str(page_.next_offset)
    return f"/cases/{case_id}/queues/{queue}/page?{urlencode(params)}"


@router.get("/cases/{case_id}/queues/{queue}", response_class=HTMLResponse)
def queue(case_id: int, queue: str, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates, f: Filter,
          background: BackgroundTasks, refresher: Refresher, sort: Annotated[str, Query(max_length=10)] = "path",
          ) -> Response:
    result = queue_page(ctx, user.authz, case_id, queue, f, sort)
    background.add_task(refresher.refresh, ctx, case_id)  # after the response: listing and clusters
    return page(templates, request, user, "queue.html", case_id=case_id, case_name=case_name(ctx, user.authz, case_id),
                queue=queue, queues=QUEUES, sorts=SORTS, sort=sort, counts=queue_counts(ctx, user.authz, case_id),
                options=queue_options(ctx, user.authz, case_id), f=f, q=request.query_params,
                settings=review_settings(ctx, user.authz, case_id), page_=result,
                next_url=_next_url(request, case_id, queue, result))


@router.get("/cases/{case_id}/queues/{queue}/page", response_class=HTMLResponse)
def queue_more(case_id: int, queue: str, request: Request, ctx: Ctx, user: CurrentUser, templates: Templates,
               f: Filter, sort: Annotated[str, Query(max_length=10)] = "path",
               offset: Annotated[int, Query(ge=0)] = 0,
               after: Annotated[str | None, Query(max_length=4200)] = None) -> Response:
    result = queue_page(ctx, user.authz, case_id, queue, f, sort, offset, after=after)
    return page(templates, request, user, "_tiles.html", case_id=case_id, queue=queue, page_=result,
                next_url=_next_url(request, case_id, queue, result))
