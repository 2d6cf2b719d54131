"""Property-based check of the JSON API against its own OpenAPI document (schemathesis).

A real server (uvicorn subprocess, migrated database) serves `/schema/openapi.json`; schemathesis generates
requests for every operation in it and sends them with an admin session (cookie) and the CSRF header
(`x-csrftoken`), as a script using the API would (tests/server/test_api.py). Every response must: not be a 5xx, use a
documented status code, carry the documented content type, and match the documented body schema.

Bounded: at most MAX_EXAMPLES generated cases per operation, derandomized (the same cases every run), no
deadline (a real server over HTTP); the whole file takes well under a minute.

Every error is documented with the one envelope `{success: false, error, code, status}` (SPEC §2), and ids are
bounded to the database's integer range at the edge (a larger one is a 400, never a 500); the two tests at the
end pin both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import ADMIN_PASSWORD, ROOT, Browser, Server, start_visitor, wait_until

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
INT4_MAX = 2**31 - 1  # PostgreSQL `serial` ids
INT8_MAX = 2**63 - 1  # SQLite INTEGER


@pytest.fixture(scope="module")
def api_server(make_server: Callable[..., Server]) -> Server:
    server = make_server("api-schema")
    start_visitor(server.url, "Şema")  # one conversation, so that thread 1 exists for the generated ids
    return server


@pytest.fixture(scope="module")
def admin_session(api_server: Server) -> requests.Session:
    """An admin logged in through the JSON API (password, then the console code), as requests.Session."""
    browser = Browser(api_server.url)
    browser.get("/")
    token = browser.csrf_token
    headers = {"x-csrftoken": token, "Accept": "application/json"}
    before = len(api_server.login_codes())
    login = browser.http.post("/admin/login", json={"username": "admin", "password": ADMIN_PASSWORD}, headers=headers)
    assert login.status_code == 200, login.text
    code = wait_until(lambda: api_server.login_codes()[before:], message="a login code")[-1]
    verified = browser.http.post("/admin/verify-otp", json={"otp": code}, headers=headers)
    assert verified.status_code == 200, verified.text
    session = requests.Session()
    for cookie in browser.http.cookies.jar:
        session.cookies.set(cookie.name, cookie.value, path=cookie.path)
    session.headers.update(headers)
    browser.close()
    return session


# The document the app builds, read at collection time (schemathesis parametrizes tests when they are collected;
# its lazy `from_fixture` loader does not work with pytest 9.2). A test below checks that the served document is
# this same one.
SCHEMA_SCRIPT = """
import json, tempfile
from pathlib import Path
from app import create_app
from app.settings import Settings
tmp = Path(tempfile.mkdtemp())
app = create_app(Settings.from_env({"DATA_DIR": str(tmp), "DATABASE_URL": f"sqlite:///{tmp / 's.sqlite3'}"}))
print(json.dumps(app.openapi_schema.to_schema()))
"""


def built_document() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCHEMA_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


DOCUMENT = built_document()
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(DOCUMENT)))


def test_the_served_document_is_the_one_under_test(api_server):
    served = requests.get(api_server.url + "/schema/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert served.json() == DOCUMENT


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_openapi_document(case, api_server, admin_session):
    case.call_and_validate(base_url=api_server.url, session=admin_session, checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_api_answers_without_server_errors_and_keeps_its_error_shape(case, api_server, admin_session):
    """Whatever the document says about errors: never a 5xx, successes exactly as documented, and every error in
    the envelope SPEC §2 promises: {success: false, error, code, status} with status = the HTTP status."""
    response = case.call(base_url=api_server.url, session=admin_session)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    if response.status_code < 400:
        case.validate_response(response, checks=CHECKS)
        return
    content_type = (response.headers.get("content-type") or [""])[0]  # schemathesis: header name -> values
    assert content_type.startswith("application/json"), content_type
    body = response.json()
    assert body["success"] is False and body["status"] == response.status_code, body
    assert isinstance(body["error"], str) and body["error"] and isinstance(body["code"], str), body


ID_REQUESTS = [
    ("GET", "/api/messages/{big}", None),
    ("GET", "/api/messages/1?before={big}", None),
    ("POST", "/api/messages/send", {"thread_id": "{big}", "text": "hi", "type": "text"}),
    ("POST", "/api/messages/clear", {"thread_id": "{big}"}),
]


@pytest.mark.parametrize(
    ("bound", "method", "path", "body"),
    [
        pytest.param(bound, method, path, body, id=f"{method} {path} {bound + 1}")
        for bound in (INT4_MAX, INT8_MAX)
        for method, path, body in ID_REQUESTS
    ],
)
def test_ids_beyond_the_integer_range_are_not_a_server_error(api_server, admin_session, bound, method, path, body):
    big = bound + 1
    payload = {k: big if v == "{big}" else v for k, v in body.items()} if body else None
    response = admin_session.request(method, api_server.url + path.format(big=big), json=payload, timeout=10)
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.json()["success"] is False and response.json()["code"] == "bad_request"
