"""Pictures and videos. Blurred pictures are the default everywhere; the clear picture and the
video's bytes are served only inside a reveal (a deliberate POST, logged and time-limited),
and the services refuse them otherwise."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from safehold.services.reveal import blurred_picture, clear_picture, clear_video, reveal
from safehold.services.thumbs import Size
from safehold.web.deps import Ctx, CurrentUser, Playback, Refs, Templates, current_user
from safehold.web.render import page

router = APIRouter(dependencies=[Depends(current_user)])

Sha = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]


def _jpeg(data: bytes) -> Response:
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_id}/media/{sha256}/{size}.jpg")
def blurred(case_id: int, sha256: Sha, size: Size, ctx: Ctx, user: CurrentUser, refs: Refs) -> Response:
    return _jpeg(blurred_picture(ctx, user.authz, refs, case_id, sha256, size, user.grayscale))


@router.get("/cases/{case_id}/media/{sha256}/{size}/clear.jpg")
def clear(case_id: int, sha256: Sha, size: Size, ctx: Ctx, user: CurrentUser, refs: Refs) -> Response:
    return _jpeg(clear_picture(ctx, user.authz, refs, case_id, sha256, size))


def _first_range(header: str | None) -> bool:
    """No range, or one from the first byte: the player starting, not continuing or seeking."""
    if header is None:
        return True
    return re.match(r"^\s*bytes\s*=\s*0\s*-", header) is not None


@router.get("/cases/{case_id}/media/{sha256}/video")
def video(case_id: int, sha256: Sha, request: Request, ctx: Ctx, user: CurrentUser, refs: Refs,
          playback: Playback) -> Response:
    """Ranged (the player seeks), from a verified file; never cached by the browser."""
    path, mime = clear_video(ctx, user.authz, refs, playback, case_id, sha256,
                             _first_range(request.headers.get("range")))
    return FileResponse(path, media_type=mime, headers={"Cache-Control": "no-store"})


@router.post("/cases/{case_id}/items/{sha256}/reveal", response_class=HTMLResponse)
def reveal_item(case_id: int, sha256: Sha, request: Request, ctx: Ctx, user: CurrentUser,
                templates: Templates) -> Response:
    grant = reveal(ctx, user.authz, case_id, sha256)
    return page(templates, request, user, "_revealed.html", case_id=case_id, sha256=sha256, grant=grant,
                media_type=request.query_params.get("type"))
