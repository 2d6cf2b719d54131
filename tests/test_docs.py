"""The documentation keeps up with the code: each test fails when something exists in the code but not in the docs.

- every environment variable `app/settings.py` reads has a row in the settings table of
  SYSTEM_DOCS/03_DEPLOYMENT.md and a line (`NAME=` or `# NAME=`) in .env.example;
- every HTTP route of `create_app(...)` (path + method) has a row in SYSTEM_DOCS/04_API_REFERENCE.md;
- every SSE event name emitted by app/services/streams.py has a row in 04's server-sent events table;
- every `sohbet` subcommand of `app.cli.build_parser()` has a row in 03's commands table;
- SYSTEM_DOCS/README.md links every file in SYSTEM_DOCS, and VERSION_INFO.md names app/version.py's version;
- railway.json is what 03_DEPLOYMENT.md says it is.

How a route counts as documented: a table row (a line starting with `|`) whose first cell names the method and the
path in backticks. A method applies to the paths after it up to the next method (`GET, HEAD `/static/<f>``,
`POST `/a`, `/b``). Path parameters are written `<anything>` (`{thread_id:int}` matches `<id>` or `<thread_id>`);
whatever follows the path from the first `?` or `[` (query strings, optional parts) is ignored. OPTIONS is
answered automatically for every route and is not listed. A mounted or prefix route (e.g. static files) is
documented like any other: `/static/{file_path:path}` as `/static/<file_path>`.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings, read_dotenv

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "SYSTEM_DOCS"
DEPLOYMENT = DOCS / "03_DEPLOYMENT.md"
API_REFERENCE = DOCS / "04_API_REFERENCE.md"
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
CELL_TOKEN = re.compile(r"\b(" + "|".join(METHODS) + r")\b|`([^`]+)`")


# -- reading the code --------------------------------------------------------------------------------------


def settings_env_names(source: str) -> set[str]:
    """Every environment variable name the settings module reads.

    It reads them as the first argument of a call (`get("PORT", ...)`, `env.get(...)`, `origins("EMBED_ORIGINS")`,
    `parse_size("MAX_IMAGE_SIZE", get("MAX_IMAGE_SIZE", ...))`), as a subscript (`env["X"]`), or from a tuple of
    names it loops over (the three CLOUDINARY_* parts). Names are upper case with an underscore or at least 3
    letters (`HOST`, `PORT`), so the size units ("KB", "MB") are not taken for settings.
    """
    names: set[str] = set()

    def is_name(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ENV_NAME.fullmatch(node.value) is not None
            and len(node.value) > 2
        )

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and is_name(node.args[0]):
            names.add(node.args[0].value)
        elif isinstance(node, ast.Subscript) and is_name(node.slice):
            names.add(node.slice.value)
        elif isinstance(node, ast.Tuple) and node.elts and all(is_name(e) and "_" in e.value for e in node.elts):
            names.update(e.value for e in node.elts)
    return names


ROUTES_SCRIPT = """
import json, sys, tempfile
from pathlib import Path
from app import create_app
from app.settings import Settings
tmp = Path(tempfile.mkdtemp())
settings = Settings.from_env({"DATA_DIR": str(tmp), "DATABASE_URL": f"sqlite:///{tmp / 'routes.sqlite3'}"})
app = create_app(settings)
print(json.dumps(sorted({(m, r.path) for r in app.routes for m in getattr(r, "methods", ())})))
"""


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every HTTP route of a real `create_app(Settings(...))`, built in a child process so that
    its logging set-up and table binding do not touch this test process."""
    done = subprocess.run(
        [sys.executable, "-c", ROUTES_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    routes = {(method, path) for method, path in json.loads(done.stdout.strip().splitlines()[-1])}
    return {(method, path) for method, path in routes if method != "OPTIONS"}


def sse_event_names(source: str) -> set[str]:
    """`event="..."` keyword literals (ServerSentEvent(..., event="message")) anywhere in the module."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "event":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                names.add(node.value.value)
    return names


def cli_subcommands() -> set[str]:
    from app.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert actions, "build_parser() has no subcommands"
    return set(actions[0].choices)


# -- reading the docs --------------------------------------------------------------------------------------


def section(text: str, heading: str) -> str:
    """The body of the `## ...` section whose title contains `heading`, up to the next `## ` heading."""
    match = re.search(rf"^## [^\n]*{re.escape(heading)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no '## …{heading}…' section"
    return match.group(1)


def first_cells(text: str) -> list[str]:
    """The first cell of every table row. Cells are split on unescaped pipes, as GitHub renders them: a `|` inside
    backticks splits the cell too unless written `\\|`."""
    rows = [re.split(r"(?<!\\)\|", line) for line in text.splitlines() if line.startswith("|")]
    return [row[1] for row in rows if len(row) >= 3]


def documented_routes(text: str) -> set[tuple[str, str]]:
    """(method, documented path) for every method/path pair named in the first cell of a table row."""
    pairs: set[tuple[str, str]] = set()
    for cell in first_cells(text):
        methods: list[str] = []
        after_path = False
        for method, code in CELL_TOKEN.findall(cell):
            if method:
                methods = [*methods, method] if not after_path else [method]
                after_path = False
            elif code.startswith("/") and methods:
                path = re.split(r"[?\[]", code, maxsplit=1)[0]
                pairs.update((m, path) for m in methods)
                after_path = True
    return pairs


def route_pattern(path: str) -> re.Pattern[str]:
    """`/api/messages/{thread_id:int}` -> a pattern matching `/api/messages/<anything>`."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("<[^>/]+>" if part.startswith("{") else re.escape(part) for part in parts))


def is_documented(route: tuple[str, str], documented: set[tuple[str, str]]) -> bool:
    method, path = route
    pattern = route_pattern(path)
    return any(m == method and pattern.fullmatch(p) for m, p in documented)


# -- the tests ---------------------------------------------------------------------------------------------


def test_every_setting_is_in_the_deployment_guide_and_env_example():
    names = settings_env_names((ROOT / "app" / "settings.py").read_text(encoding="utf-8"))
    # The reader itself must keep working: these are read today, in each of the ways described above.
    assert {"DATABASE_URL", "PORT", "HOST", "EMBED_ORIGINS", "MAX_IMAGE_SIZE", "CLOUDINARY_API_SECRET"} <= names
    assert not names & {"KB", "MB", "GB"}

    table = section(DEPLOYMENT.read_text(encoding="utf-8"), "Settings")
    in_table = {cell.strip().strip("`") for cell in first_cells(table)}
    missing_docs = sorted(names - in_table)
    assert not missing_docs, f"settings read in app/settings.py but not in the 03_DEPLOYMENT.md table: {missing_docs}"

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing_example = sorted(n for n in names if not re.search(rf"^[ \t]*#?[ \t]*{n}=", example, re.M))
    assert not missing_example, f"settings missing from .env.example (as NAME= or # NAME=): {missing_example}"


def test_env_example_is_a_valid_development_configuration(tmp_path):
    values = read_dotenv(ROOT / ".env.example")
    settings = Settings.from_env({**values, "DATA_DIR": str(tmp_path)})
    assert settings.environment == "development" and not settings.is_production


def test_every_http_route_is_in_the_api_reference():
    routes = app_routes()
    assert ("GET", "/health/ready") in routes and ("POST", "/api/messages/send") in routes  # the reader works
    documented = documented_routes(API_REFERENCE.read_text(encoding="utf-8"))
    missing = sorted(f"{method} {path}" for method, path in routes if not is_documented((method, path), documented))
    assert not missing, f"routes of create_app() not in 04_API_REFERENCE.md: {missing}"


def test_every_sse_event_is_in_the_api_reference():
    names = sse_event_names((ROOT / "app" / "services" / "streams.py").read_text(encoding="utf-8"))
    assert {"message", "control"} <= names
    table = section(API_REFERENCE.read_text(encoding="utf-8"), "Server-sent events")
    in_table = {cell.strip().strip("`") for cell in first_cells(table)}
    missing = sorted(names - in_table)
    assert not missing, f"SSE events emitted by app/services/streams.py but not in 04's SSE table: {missing}"


def test_every_cli_command_is_in_the_deployment_guide():
    commands = cli_subcommands()
    assert {"serve", "migrate", "backup"} <= commands
    table = section(DEPLOYMENT.read_text(encoding="utf-8"), "Commands")
    listed = {m.group(1) for cell in first_cells(table) if (m := re.match(r"\s*`sohbet ([a-z][a-z-]*)", cell))}
    missing = sorted(commands - listed)
    assert not missing, f"sohbet subcommands not in the 03_DEPLOYMENT.md commands table: {missing}"


def test_version_info_names_the_running_version():
    from app.version import VERSION

    assert f"**{VERSION}**" in (DOCS / "VERSION_INFO.md").read_text(encoding="utf-8")


def test_the_docs_index_links_every_document():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DOCS.iterdir() if p.is_file() and p.name != "README.md")
    assert "03_DEPLOYMENT.md" in files
    missing = [name for name in files if f"]({name})" not in index]
    assert not missing, f"SYSTEM_DOCS/README.md does not link: {missing}"
    broken = [target for target in re.findall(r"\]\(([^)#:]+)\)", index) if not (DOCS / target).exists()]
    assert not broken, f"SYSTEM_DOCS/README.md links to missing files: {broken}"


def test_railway_json_is_what_the_deployment_guide_describes():
    config = json.loads((ROOT / "railway.json").read_text(encoding="utf-8"))
    guide = DEPLOYMENT.read_text(encoding="utf-8")
    assert config["$schema"] == "https://railway.com/railway.schema.json"
    build, deploy = config["build"], config["deploy"]
    assert "pip install" in build["buildCommand"]
    pre_deploy = [shlex.split(command) for command in deploy["preDeployCommand"]]
    assert [(Path(argv[0]).name, argv[1:]) for argv in pre_deploy] == [("sohbet", ["predeploy"])]
    start = deploy["startCommand"]
    inner = shlex.split(start)[-1] if start.startswith("/bin/sh -c") else start
    for flag in ("sohbet serve", "--no-migrate", "--host 0.0.0.0", '--forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}"'):
        assert flag in inner, flag
    assert re.search(r"--port \$\{?PORT", inner)
    assert deploy["healthcheckPath"] == "/health/ready" and deploy["healthcheckTimeout"] > 0
    assert deploy["restartPolicyType"] == "ON_FAILURE" and deploy["restartPolicyMaxRetries"] >= 1
    # Railway must not SIGKILL before uvicorn's graceful shutdown is over.
    grace = int(re.search(r"SHUTDOWN_TIMEOUT=\$\{SHUTDOWN_TIMEOUT:-(\d+)\}", inner).group(1))
    assert deploy.get("drainingSeconds", 0) > grace
    # The guide quotes the real commands, and says why the proxy is trusted.
    for command in (build["buildCommand"], start, *deploy["preDeployCommand"]):
        assert f"`{command}`" in guide, f"03_DEPLOYMENT.md does not quote {command!r}"
    assert "--forwarded-allow-ips '*'" in guide and "Railway's proxy is trusted" in guide


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("GET `/login`, POST `/login`", {("GET", "/login"), ("POST", "/login")}),
        (
            "POST `/api/upload/image`, `/api/upload/audio`",
            {("POST", "/api/upload/image"), ("POST", "/api/upload/audio")},
        ),
        ("GET, HEAD `/static/<f>`", {("GET", "/static/<f>"), ("HEAD", "/static/<f>")}),
        ("GET `/admin/events[?thread=<id>&after=N]`", {("GET", "/admin/events")}),
        ("GET `/lang/<code>?next=/path`", {("GET", "/lang/<code>")}),
        ("GET `/a/<x\\|y>`", {("GET", "/a/<x\\|y>")}),
    ],
)
def test_the_route_reader_itself(cell, expected):
    assert documented_routes(f"| {cell} | x |\n") == expected
    assert is_documented(("GET", "/admin/threads/{thread_id:int}"), {("GET", "/admin/threads/<id>")})
    assert not is_documented(("POST", "/admin/threads/{thread_id:int}"), {("GET", "/admin/threads/<id>")})
    assert not is_documented(("GET", "/admin/threads/{thread_id:int}/older"), {("GET", "/admin/threads/<id>")})
