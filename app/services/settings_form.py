"""The one action of /admin/settings (owner only): the branding (app/services/branding.py) and the business hours
and away mode (app/services/away.py) are checked together and saved together in one transaction — or, when any
field is wrong, nothing is saved and every form keeps what was typed, with the reasons by field."""

from __future__ import annotations

from app.services.away import HoursForm
from app.services.branding import BrandingForm, check_branding, one_line
from app.services.workspace import Workspace


async def save_settings(
    workspace: Workspace,
    branding: BrandingForm,
    hours: HoursForm,
    logo: tuple[bytes, str | None] | None,
    *,
    https_only: bool,
    actor: str = "system",
    ip: str = "",
) -> bool:
    """True when saved; else `branding.errors` and `hours.errors` say why."""
    values, files = await check_branding(branding, logo, https_only=https_only)
    values |= hours.checked(one_line)
    if branding.errors or hours.errors:
        return False
    await workspace.save(values, files, actor=actor, ip=ip)
    return True
