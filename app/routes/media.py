"""Attachments served after an access check (the visitor of that conversation or an admin): local files from
disk, Cloudinary files by a redirect to a signed URL that works for `DOWNLOAD_SECONDS` (app/services/storage.py).
The redirect may be cached by that browser for a little less than that."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect

from app.routes._common import visitor_token
from app.web import ADMIN_COOKIE, services_of


@get("/media/{public_id:str}", include_in_schema=False)
async def media(request: Request[Any, Any, Any], public_id: FromPath[str]) -> File | Redirect:
    found = await services_of(request).downloads.find(
        public_id, admin_session=request.cookies.get(ADMIN_COOKIE), visitor_token=visitor_token(request)
    )
    if found is None:
        raise NotFoundException("no such file")  # a wrong id, someone else's file: the same answer
    view = found.view
    if found.path is None:
        return Redirect(path=str(found.url), status_code=302, headers={"Cache-Control": "private, max-age=240"})
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", view.file_name)
    return File(
        path=found.path,
        media_type=view.content_type,
        filename=view.file_name,
        content_disposition_type="inline",
        headers={
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; media-src 'self'",
            "Content-Disposition": f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(view.file_name)}",
            "Cache-Control": "private, max-age=86400, immutable",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


ROUTES = [media]
