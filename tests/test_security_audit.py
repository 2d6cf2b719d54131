"""app/ops/security_audit.py in process (no server, no subprocess): `sohbet security-check`'s findings for a weak
development configuration and a sound production one, read from the functions the app itself uses (cookie(),
embed_cookie_header(), security_headers(), csrf_config(), login_code_channel())."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.csrf import csrf_config
from app.ops.findings import FAIL, PASS, WARN, Finding, failed
from app.ops.security_audit import security_audit
from app.ops.settings_report import configured_settings
from app.settings import Settings, login_code_channel


def production(tmp_path: Path, **overrides: str) -> Settings:
    env = {
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_PASSWORD": "a-long-admin-password",
        "PUBLIC_URL": "https://chat.example.com",
        "METRICS_TOKEN": "metrics-" + "m" * 24,
        "TELEGRAM_BOT_TOKEN": "123456789:dummy-token-never-called",
        "TELEGRAM_CHAT_ID": "4242",
        **overrides,
    }
    return configured_settings({name: value for name, value in env.items() if value})


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def test_a_sound_production_configuration_passes(tmp_path):
    findings = security_audit(production(tmp_path))
    assert not failed(findings), [str(f) for f in failed(findings)]
    checks = by_check(findings)
    for check in ("ENVIRONMENT", "secrets", "PUBLIC_URL", "cookies", "embed cookies", "CSP", "HSTS", "headers"):
        assert checks[check].level == PASS, str(checks[check])
    assert checks["debug"].text == "off" and checks["login codes"].level == PASS
    cookies = checks["cookies"].text
    assert "sohbet_admin SameSite=Strict" in cookies and "sohbet_visitor SameSite=Lax" in cookies
    assert "csrftoken SameSite=Lax" in cookies
    assert checks["HSTS"].text.startswith("max-age=63072000")
    assert checks["embed cookies"].text == "in the widget's iframe: SameSite=None; Secure; Partitioned"


def test_a_weak_development_configuration_fails(tmp_path):
    settings = configured_settings({"DATA_DIR": str(tmp_path)})  # nothing set, nothing generated
    findings = security_audit(settings)
    checks = by_check(findings)
    assert str(checks["ENVIRONMENT"]) == "FAIL ENVIRONMENT: development, not production -> set ENVIRONMENT=production"
    for check in ("SECRET_KEY", "ENCRYPTION_KEYS", "ADMIN_PASSWORD", "PUBLIC_URL", "cookies", "HSTS", "login codes"):
        assert checks[check].level == FAIL, check
    assert (
        "sohbet_visitor is not Secure" in checks["cookies"].text and "csrftoken is not Secure" in checks["cookies"].text
    )
    assert checks["cookies"].fix == "set ENVIRONMENT=production (cookies are Secure there)"
    assert checks["HSTS"].text == "no Strict-Transport-Security header"
    assert "embed cookies" not in checks  # only listed once the first-party cookies pass


def test_the_csrf_cookie_is_the_one_create_app_installs(tmp_path):
    settings = production(tmp_path)
    config = csrf_config(settings)
    assert config.cookie_secure and config.cookie_httponly and config.cookie_samesite == "lax"
    assert config.secret == settings.secret_key
    assert config.exclude == ["^/telegram/webhook$", "^/unsubscribe/[^/]+$", "^/static/", "^/media/"]
    assert not csrf_config(configured_settings({"DATA_DIR": str(tmp_path)})).cookie_secure


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"EMBED_ORIGINS": "http://shop.example.com"}, "FAIL CSP: frame-ancestors allows non-https origins"),
        ({"CORS_ORIGINS": "http://app.example.com"}, "FAIL CORS_ORIGINS: not https: http://app.example.com"),
        ({"PUBLIC_URL": "http://chat.example.com"}, "FAIL PUBLIC_URL: http://chat.example.com is not https"),
        ({"METRICS_TOKEN": "short-token"}, "FAIL METRICS_TOKEN: METRICS_TOKEN, when set, must be"),
        ({"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": ""}, "FAIL login codes: no channel in production"),
        ({"RATE_LIMIT_API": "100000/minute"}, "WARN RATE_LIMIT_API: 100000/minute is more than 10000/minute"),
    ],
)
def test_each_weakness_is_named(tmp_path, overrides, line):
    lines = [str(finding) for finding in security_audit(production(tmp_path, **overrides))]
    assert any(text.startswith(line) for text in lines), lines


def test_https_embed_origins_are_allowed_to_frame_the_visitor_pages_only(tmp_path):
    checks = by_check(security_audit(production(tmp_path, EMBED_ORIGINS="https://shop.example.com")))
    assert checks["CSP"].level == PASS
    assert checks["CSP"].text == "strict (frame-ancestors 'self' https://shop.example.com)"


def test_the_rate_limit_warning_is_advice_not_a_failure(tmp_path):
    findings = security_audit(production(tmp_path, RATE_LIMIT_MESSAGES="50000/minute"))
    assert by_check(findings)["RATE_LIMIT_MESSAGES"].level == WARN and not failed(findings)


def test_login_codes_go_where_the_settings_say(tmp_path):
    assert login_code_channel(production(tmp_path)) == "telegram"
    assert login_code_channel(production(tmp_path, TELEGRAM_BOT_TOKEN="", TELEGRAM_CHAT_ID="")) == ""
    assert login_code_channel(configured_settings({"DATA_DIR": str(tmp_path)})) == "console"


def test_the_audit_builds_no_app(tmp_path, monkeypatch):
    import app

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("security_audit() must not build an app")

    monkeypatch.setattr(app, "create_app", refuse)
    assert not failed(security_audit(production(tmp_path)))
