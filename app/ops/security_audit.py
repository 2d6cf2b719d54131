"""`sohbet security-check`: a configuration audit for production. It reads the facts from the functions the
app itself uses, not from a copy of its rules: cookies from `app.web.cookie()` and `embed_cookie_header()`, the
CSRF cookie from `app.csrf.csrf_config()`, headers from `app.web.security_headers()`, the debug flag from
`LITESTAR_DEBUG` and the login-code channel from `login_code_channel()` (both in app.settings, as create_app
uses them). Nothing is contacted."""

from __future__ import annotations

import re

from app.csrf import csrf_config
from app.ops.findings import FAIL, PASS, WARN, Finding
from app.ops.settings_report import secret_findings
from app.settings import ENV_NAMES, LITESTAR_DEBUG, RATE_UNITS, RateLimit, Settings, login_code_channel
from app.web import (
    ADMIN_COOKIE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    VISITOR_COOKIE,
    cookie,
    embed_cookie_header,
    security_headers,
)

ABSURD_PER_MINUTE = 10_000  # a rate limit above this many requests a minute limits nothing
HSTS_MIN_SECONDS = 180 * 86400
COOKIES = (VISITOR_COOKIE, ADMIN_COOKIE, LOGIN_COOKIE, LANG_COOKIE)


def _cookie_findings(settings: Settings) -> list[Finding]:
    """The cookies as `cookie()` sets them and as the CSRF middleware `csrf_config()` configures it."""
    problems: list[str] = []
    made = [(name, cookie(settings, name, "x", max_age=60)) for name in COOKIES]
    for name, made_cookie in made:
        flags = (made_cookie.secure, made_cookie.httponly, str(made_cookie.samesite).lower())
        problems += _cookie_problems(name, *flags)
    csrf = csrf_config(settings)
    problems += _cookie_problems(
        csrf.cookie_name, csrf.cookie_secure, csrf.cookie_httponly, str(csrf.cookie_samesite).lower()
    )
    if problems:
        fix = "set ENVIRONMENT=production (cookies are Secure there)" if not settings.is_production else ""
        return [Finding(FAIL, "cookies", "; ".join(problems), fix or "fix app/web.py cookie()")]
    shown = ", ".join(f"{name} SameSite={str(c.samesite).capitalize()}" for name, c in made)
    csrf_samesite = str(csrf.cookie_samesite).capitalize()
    findings = [Finding(PASS, "cookies", f"Secure, HttpOnly: {shown}, {csrf.cookie_name} SameSite={csrf_samesite}")]
    problems = []  # the widget's iframe sets its cookies as CHIPS cookies
    for name, made_cookie in made:
        _, header = made_cookie.to_encoded_header()
        attributes = {
            part.split("=", 1)[0].strip().lower() for part in embed_cookie_header(header.decode("latin-1")).split(";")
        }
        missing = [flag for flag in ("secure", "httponly", "partitioned") if flag not in attributes]
        if missing:
            problems.append(f"{name} lacks {', '.join(missing)}")
    if problems:
        findings.append(Finding(FAIL, "embed cookies", "; ".join(problems), "fix app/web.py embed_cookie_header()"))
    else:
        findings.append(Finding(PASS, "embed cookies", "in the widget's iframe: SameSite=None; Secure; Partitioned"))
    return findings


def _cookie_problems(name: str, secure: bool | None, httponly: bool | None, samesite: str) -> list[str]:
    problems = []
    if not secure:
        problems.append(f"{name} is not Secure")
    if not httponly:
        problems.append(f"{name} is not HttpOnly")
    if samesite not in ("lax", "strict"):
        problems.append(f"{name} has SameSite={samesite}")
    return problems


def parse_csp(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


def _csp_findings(settings: Settings, headers: dict[str, str], private: dict[str, str]) -> list[Finding]:
    """The policy of every page; `private`: the headers of the admin and login pages (never framed by an
    embedding site)."""
    policy = headers.get("content-security-policy", "")
    if not policy:
        return [Finding(FAIL, "CSP", "no Content-Security-Policy header", "fix app/web.py security_headers()")]
    directives = parse_csp(policy)
    problems = []
    private_ancestors = parse_csp(private.get("content-security-policy", "")).get("frame-ancestors")
    if private_ancestors != ["'self'"]:
        problems.append(f"admin pages: frame-ancestors is {' '.join(private_ancestors or ['missing'])}")
    for name, sources in directives.items():
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"):
            if bad in sources:
                problems.append(f"{name} allows {bad}")
    for name in ("object-src", "base-uri"):
        if directives.get(name) != ["'none'"]:
            problems.append(f"{name} is {' '.join(directives.get(name, ['missing']))}, not 'none'")
    if directives.get("default-src") != ["'self'"]:
        problems.append("default-src is not 'self'")
    ancestors = directives.get("frame-ancestors", [])
    expected = ["'self'", *settings.embed_origins]
    if sorted(ancestors) != sorted(expected):
        problems.append(f"frame-ancestors is {' '.join(ancestors) or 'missing'}, expected {' '.join(expected)}")
    plain = [origin for origin in ancestors if origin != "'self'" and not origin.startswith("https://")]
    if plain:
        problems.append(f"frame-ancestors allows non-https origins from EMBED_ORIGINS: {', '.join(plain)}")
    if problems:
        fix = "list only https:// origins in EMBED_ORIGINS" if plain else "fix app/web.py security_headers()"
        return [Finding(FAIL, "CSP", "; ".join(problems), fix)]
    return [Finding(PASS, "CSP", f"strict (frame-ancestors {' '.join(ancestors)})")]


def _hsts_findings(settings: Settings, headers: dict[str, str]) -> list[Finding]:
    findings = []
    hsts = headers.get("strict-transport-security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    if not match:
        findings.append(
            Finding(
                FAIL, "HSTS", "no Strict-Transport-Security header", "set ENVIRONMENT=production (HSTS is on there)"
            )
        )
    elif int(match.group(1)) < HSTS_MIN_SECONDS:
        findings.append(Finding(FAIL, "HSTS", f"max-age={match.group(1)} is under 180 days", "raise it"))
    else:
        findings.append(Finding(PASS, "HSTS", hsts))
    missing = []
    if headers.get("x-content-type-options") != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    if not headers.get("referrer-policy"):
        missing.append("Referrer-Policy")
    if missing:
        findings.append(Finding(FAIL, "headers", f"missing: {', '.join(missing)}", "fix app/web.py security_headers()"))
    else:
        findings.append(Finding(PASS, "headers", "X-Content-Type-Options: nosniff, Referrer-Policy set"))
    return findings


def _origin_findings(name: str, origins: tuple[str, ...]) -> list[Finding]:
    plain = [origin for origin in origins if not origin.startswith("https://")]
    if plain:
        return [Finding(FAIL, name, f"not https: {', '.join(plain)}", f"list only https:// origins in {name}")]
    return [Finding(PASS, name, ", ".join(origins) if origins else "none")]


def per_minute(limit: RateLimit) -> float:
    return limit.count * 60 / RATE_UNITS[limit.unit]


def _rate_findings(settings: Settings) -> list[Finding]:
    findings = []
    for attribute in (
        "rate_limit_messages",
        "rate_limit_uploads",
        "rate_limit_login",
        "rate_limit_api",
        "rate_limit_start",
    ):
        limit: RateLimit = getattr(settings, attribute)
        name = ENV_NAMES[attribute]
        if per_minute(limit) > ABSURD_PER_MINUTE:
            findings.append(
                Finding(
                    WARN,
                    name,
                    f"{limit} is more than {ABSURD_PER_MINUTE}/minute: it limits nothing",
                    f"use the default ({getattr(Settings(), attribute)!s}) or close to it",
                )
            )
        else:
            findings.append(Finding(PASS, name, str(limit)))
    return findings


def security_audit(settings: Settings) -> list[Finding]:
    """The configuration audit (`sohbet security-check`): any FAIL is a finding; WARN lines are advice."""
    findings: list[Finding] = []
    if settings.is_production:
        findings.append(Finding(PASS, "ENVIRONMENT", "production"))
    else:
        findings.append(
            Finding(FAIL, "ENVIRONMENT", f"{settings.environment}, not production", "set ENVIRONMENT=production")
        )
    weak = [
        f for f in secret_findings(settings, settings, level=FAIL) if f.check not in ("METRICS_TOKEN", "PUBLIC_URL")
    ]
    findings += weak or [Finding(PASS, "secrets", "SECRET_KEY, ENCRYPTION_KEYS and the admin password are strong")]
    if settings.public_url.startswith("https://"):
        findings.append(Finding(PASS, "PUBLIC_URL", settings.public_url))
    else:
        text = f"{settings.public_url} is not https" if settings.public_url else "not set"
        findings.append(Finding(FAIL, "PUBLIC_URL", text, "set PUBLIC_URL to the https:// address users open"))

    findings += _cookie_findings(settings)
    headers = dict(security_headers(settings))
    private = dict(security_headers(settings, frameable=False))
    findings += _csp_findings(settings, headers, private)
    findings += _hsts_findings(settings, headers)
    findings += _origin_findings(ENV_NAMES["cors_origins"], settings.cors_origins)
    if LITESTAR_DEBUG:
        findings.append(Finding(FAIL, "debug", "Litestar debug is on (tracebacks reach the browser)", "fix create_app"))
    else:
        findings.append(Finding(PASS, "debug", "off"))
    findings += _rate_findings(settings)
    if login_code_channel(settings) == "telegram":
        findings.append(Finding(PASS, "login codes", f"sent through Telegram (chat {settings.telegram_chat_id})"))
    else:
        findings.append(
            Finding(
                FAIL,
                "login codes",
                "no channel in production: Telegram is not configured, so the admin cannot log in",
                "set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID",
            )
        )
    token = settings.metrics_token
    metrics_problems = [problem for attribute, problem in settings.weak_secrets() if attribute == "metrics_token"]
    if metrics_problems:
        findings.append(
            Finding(FAIL, "METRICS_TOKEN", metrics_problems[0], "set METRICS_TOKEN to 16+ random characters")
        )
    elif token:
        findings.append(Finding(PASS, "METRICS_TOKEN", "set: /metrics answers loopback or `Bearer METRICS_TOKEN`"))
    else:
        findings.append(
            Finding(
                PASS,
                "METRICS_TOKEN",
                "not set: /metrics answers loopback clients only (FORWARDED_ALLOW_IPS decides who that is)",
            )
        )
    return findings
