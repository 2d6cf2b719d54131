"""Reports (SPEC §10), for owners and agents: GET /admin/reports?from=&to= (YYYY-MM-DD, UTC, both days included;
by default the last 30 days) as tables with server-drawn SVG charts beside them, or `&format=csv` as a download of
the same tables. A bad range is a 422 that shows the form again with what was typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from app.clock import now
from app.i18n import translator
from app.routes._common import COMMON_ERRORS, errors
from app.services.reports import DayRange, ReportRefused, charts, parse_range, to_csv
from app.web import ApiError, admin_guard, language, page, services_of, wants_json

Day = Annotated[str | None, QueryParameter(name="from")]


def today() -> date:
    return datetime.fromtimestamp(now(), UTC).date()


@dataclass
class ReportTableOut:
    name: str  # summary | per_day | per_agent | ratings
    columns: list[str]  # e.g. conversations, frt_median (times as h:mm:ss)
    rows: list[list[str]]


@dataclass
class ReportResponse:
    success: bool
    start: str  # the first day (UTC), YYYY-MM-DD
    end: str  # the last day, included
    tables: list[ReportTableOut]


@get("/admin/reports", guards=[admin_guard], include_in_schema=False)
async def reports(
    request: Request[Any, Any, Any],
    start: Day = None,
    to: FromQuery[str | None] = None,
    format: FromQuery[str | None] = None,
) -> Response[Any] | Template:
    t = translator(language(request))
    try:
        span = parse_range(start, to, today())
        if format not in (None, "", "html", "csv"):
            raise ReportRefused("reports.format")
    except ReportRefused as refused:
        if wants_json(request):
            raise ApiError(detail=t(f"error.{refused.code}"), status_code=422) from None
        message = t(f"error.{refused.code}")
        typed = {"from_value": (start or "")[:20], "to_value": (to or "")[:20]}
        return page(request, "admin/reports.html", status_code=422, report_error=message, **typed)
    report = await services_of(request).reports.build(span)
    tables = report.tables()
    if format == "csv":
        name = f"sohbet-report-{span.start.isoformat()}-{span.end.isoformat()}.csv"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
        return Response(to_csv(tables, t), media_type="text/csv; charset=utf-8", headers=disposition)
    return page(
        request,
        "admin/reports.html",
        report=report,
        tables=tables,
        charts=charts(report, t),
        from_value=span.start.isoformat(),
        to_value=span.end.isoformat(),
    )


@get("/api/reports", guards=[admin_guard], tags=["reports"], responses=errors(*COMMON_ERRORS, 422))
async def api_reports(
    request: Request[Any, Any, Any], start: Day = None, to: FromQuery[str | None] = None
) -> ReportResponse:
    """(Owners and agents) the report of /admin/reports as JSON: `from`/`to` as YYYY-MM-DD (UTC days, both
    included; default the last 30 days; at most 366). 422: a malformed date, `from` after `to`, a longer range."""
    try:
        span: DayRange = parse_range(start, to, today())
    except ReportRefused as refused:
        raise ApiError(detail=translator(language(request))(f"error.{refused.code}"), status_code=422) from None
    report = await services_of(request).reports.build(span)
    tables = [
        ReportTableOut(t.name, [h.removeprefix("reports.") for h in t.headers], [list(row) for row in t.rows])
        for t in report.tables()
    ]
    return ReportResponse(True, span.start.isoformat(), span.end.isoformat(), tables)


ROUTES = [reports]
API_ROUTES = [api_reports]
