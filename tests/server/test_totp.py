"""The authenticator second factor over HTTP against a real server (SPEC §8): /admin/me/totp shows the secret, an
otpauth:// URI and its QR code as inline SVG; a wrong code is refused (422, nothing changed), the right one turns it
on; then the login asks for the app's code (none is sent to the console) and a replayed code is refused."""

from __future__ import annotations

import html
import re
import time

import pyotp

from tests.server.test_team import agent_session, invite
from tests.support import Browser, login_admin

PASSWORD = "a long and fine password 7"
SECRET_RE = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
URI_RE = re.compile(r'id="totp-uri" href="([^"]+)"')


def away_from_a_step_edge() -> None:
    if time.time() % 30 > 24:
        time.sleep(30 - time.time() % 30 + 0.1)


def password_step(server, username: str) -> Browser:
    browser = Browser(server.url)
    browser.get("/login")
    before = len(server.login_codes())
    response = browser.post("/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 200 and 'action="/login/verify"' in response.text, response.text
    assert 'id="code-from-app"' in response.text  # "the code your authenticator app shows", not "we sent"
    time.sleep(0.3)
    assert server.login_codes()[before:] == []  # nothing was sent: the code comes from the app
    return browser


def test_set_up_confirm_and_log_in_with_the_authenticator_code(server):
    owner = login_admin(server)
    tia = agent_session(server, owner, "tia", "Tia")
    me = tia.get("/admin/me")
    assert 'action="/admin/me/totp"' in me.text and 'data-state="off"' in me.text
    setup = tia.post("/admin/me/totp")
    assert setup.status_code == 200, setup.text
    (secret,) = SECRET_RE.findall(setup.text)
    (uri,) = URI_RE.findall(setup.text)
    uri = html.unescape(uri)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "issuer=Sohbet" in uri
    assert "tia" in uri
    figure = setup.text.split('id="totp-qr"', 1)[1]
    assert figure.lstrip(">").lstrip().startswith("<svg") and "<path" in figure.split("</svg>")[0]
    assert "img-src" in setup.headers["content-security-policy"]  # the QR needs no script and no inline style

    totp = pyotp.TOTP(secret)
    away_from_a_step_edge()
    right = totp.now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = tia.post("/admin/me/totp/confirm", {"code": wrong})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert secret in refused.text  # the same set-up, shown again
    assert 'data-state="on"' not in tia.get("/admin/me").text  # nothing changed
    confirmed = tia.post("/admin/me/totp/confirm", {"code": right})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/admin/me"
    assert 'data-state="on"' in tia.get("/admin/me").text
    assert tia.post("/logout").status_code == 303

    browser = password_step(server, "tia")
    code = totp.at(time.time() + 30)  # the confirmation took the current step's code: the next one (±1 step)
    done = browser.post("/login/verify", {"code": code})
    assert done.status_code == 303 and done.headers["location"] == "/admin", done.text
    assert browser.get("/admin").status_code == 200

    replay = password_step(server, "tia")
    again = replay.post("/login/verify", {"code": code})
    assert again.status_code == 401
    assert replay.get("/admin").status_code in (303, 401)


def test_turning_it_off_takes_the_current_password(server):
    owner = login_admin(server)
    uma = agent_session(server, owner, "uma", "Uma")
    setup = uma.post("/admin/me/totp")
    (secret,) = SECRET_RE.findall(setup.text)
    away_from_a_step_edge()
    assert uma.post("/admin/me/totp/confirm", {"code": pyotp.TOTP(secret).now()}).status_code == 303
    assert uma.post("/admin/me/totp").status_code == 409  # on: no new secret over it
    assert uma.post("/admin/me/totp/disable", {"current_password": "not it at all"}).status_code == 403
    assert uma.post("/admin/me/totp/disable", {"current_password": PASSWORD}).status_code == 303
    assert 'data-state="off"' in uma.get("/admin/me").text
    login_admin(server, username="uma", password=PASSWORD)  # the console code again (development)


def test_the_invite_page_offers_the_set_up_and_the_first_login_takes_the_app_code(server):
    """SPEC §8: on the invite link the new agent sets a password and may set up TOTP (no session yet), so a
    non-owner has a code channel for the first login. Wrong code: 422, the QR again, nothing changed."""
    owner = login_admin(server)
    link = invite(owner, "vic", "Vic")
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    newcomer = Browser(server.url)
    assert newcomer.get(path).status_code == 200
    done = newcomer.post(path, {"password": PASSWORD})
    assert done.status_code == 200, done.text
    (secret,) = SECRET_RE.findall(done.text)
    assert f'action="{path}/totp/confirm"' in done.text and 'id="totp-skip" href="/login"' in done.text
    figure = done.text.split('id="totp-qr"', 1)[1]
    assert figure.lstrip(">").lstrip().startswith("<svg")
    (sealed,) = re.findall(r'name="totp_token" value="([^"]+)"', done.text)

    totp = pyotp.TOTP(secret)
    away_from_a_step_edge()
    right = totp.now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = newcomer.post(f"{path}/totp/confirm", {"totp_token": sealed, "code": wrong})
    assert refused.status_code == 422 and 'role="alert"' in refused.text and secret in refused.text
    forged = Browser(server.url)
    forged.get("/login")
    assert forged.post(f"{path}/totp/confirm", {"totp_token": "not-sealed", "code": right}).status_code == 410
    before = len(server.login_codes())
    assert server.login_codes()[before:] == []
    console = login_admin(server, username="vic", password=PASSWORD)  # still off: the console code (development)
    assert console.post("/logout").status_code == 303

    confirmed = newcomer.post(f"{path}/totp/confirm", {"totp_token": sealed, "code": right})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/login"
    assert newcomer.post(f"{path}/totp/confirm", {"totp_token": sealed, "code": right}).status_code == 409

    browser = password_step(server, "vic")  # asks for the app's code; nothing printed to the console
    done_login = browser.post("/login/verify", {"code": totp.at(time.time() + 30)})
    assert done_login.status_code == 303 and done_login.headers["location"] == "/admin", done_login.text
    assert browser.get("/admin").status_code == 200
