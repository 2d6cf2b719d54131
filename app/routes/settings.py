"""Workspace settings (SPEC §14, §9): the branding, business hours and away mode form at /admin/settings (the
workspace owner only), and what the branding sets, served to everyone: the logo (`/brand/logo`) and the accent
colour's stylesheet (`/brand.css`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.response import Template

from app.limits import BODY_LIMIT, UPLOAD
from app.services.away import HoursForm
from app.services.branding import BrandingForm
from app.services.settings_form import save_settings as save_all
from app.web import acting, owner_guard, page, see_other, services_of

# A versioned URL (`?v=`, changed with the content) is cached for a year; without it, briefly.
VERSIONED_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"


def settings_page(
    request: Request[Any, Any, Any], form: BrandingForm, hours: HoursForm, status_code: int = 200
) -> Template:
    services = services_of(request)
    brand = services.brand.current
    saved = status_code == 200 and request.query_params.get("saved") == "1"
    return page(
        request,
        "admin/settings.html",
        status_code=status_code,
        form=form,
        hours=hours,
        hours_open=services.away.in_hours(),
        logo_url=brand.logo_url,
        saved=saved,
    )


@get("/admin/settings", guards=[owner_guard], include_in_schema=False)
async def show_settings(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    return settings_page(request, BrandingForm.of(services.brand.current), HoursForm.of(services.away.current))


@post("/admin/settings", guards=[owner_guard], include_in_schema=False, status_code=303, opt={BODY_LIMIT: UPLOAD})
async def save_settings(request: Request[Any, Any, Any]) -> Response[Any] | Template:
    """Everything is saved, or nothing: a wrong field answers 422 with the form as typed and the reasons."""
    data = await request.form()
    form = BrandingForm(
        site_name=str(data.get("site_name") or ""),
        accent=str(data.get("accent") or ""),
        greeting=str(data.get("greeting") or ""),
        embed_origins=str(data.get("embed_origins") or ""),
        remove_logo=data.get("remove_logo") == "1",
    )
    upload = data.get("logo")
    logo = (await upload.read(), upload.filename) if isinstance(upload, UploadFile) and upload.filename else None
    services = services_of(request)
    hours = HoursForm.posted(data)
    saved = await save_all(
        services.brand.workspace, form, hours, logo, https_only=services.settings.is_production, **acting(request)
    )
    if saved:
        return see_other("/admin/settings?saved=1")
    return settings_page(request, form, hours, status_code=422)


def cached(request: Request[Any, Any, Any], body: bytes, media_type: str, version: str) -> Response[bytes]:
    fresh = request.query_params.get("v") == version
    return Response(
        content=body,
        media_type=media_type,
        headers={"cache-control": VERSIONED_CACHE if fresh else SHORT_CACHE, "etag": f'"{version}"'},
    )


@get("/brand/logo", include_in_schema=False, exclude_from_csrf=True)
async def logo(request: Request[Any, Any, Any]) -> Response[bytes]:
    current = services_of(request).brand.current.logo
    if current is None:
        raise NotFoundException("no logo")
    return cached(request, current.data, current.content_type, current.version)


@get("/brand.css", include_in_schema=False, exclude_from_csrf=True)
async def brand_css(request: Request[Any, Any, Any]) -> Response[bytes]:
    brand = services_of(request).brand.current
    url = brand.css_url or ""
    return cached(request, brand.css.encode(), "text/css; charset=utf-8", url.partition("v=")[2] or "default")


ROUTES = [show_settings, save_settings, logo, brand_css]
