"""A fake Cloudinary on loopback, for the `cloudinary` SDK pointed at it with `upload_prefix`.

It is a real HTTP server, not a mock: the app's SDK posts multipart forms to it exactly as it would to
api.cloudinary.com, and it answers the way Cloudinary does.

- `POST /v1_1/<cloud>/<resource_type>/upload` and `.../destroy`: the signature is checked as Cloudinary checks it
  (`api_sign_request` over every parameter except file, api_key, resource_type, cloud_name and signature), as are
  the API key and the timestamp's age; a bad one gets Cloudinary's 401 JSON error. Uploads are stored in memory.
- Delivery: `GET /<cloud>/<resource_type>/upload/[v<version>/]<public_id>.<format>` serves the stored bytes of a
  public (`type=upload`) asset, over https on `delivery_host` (a throwaway CA signs its certificate:
  `client_ssl_context()` trusts it) and over plain http on the API port (the answer's `url`). An `authenticated`
  asset is refused there (401) as by Cloudinary without a signature.
- `GET /v1_1/<cloud>/<resource_type>/download?...` (the SDK's `private_download_url`): the signature, API key,
  `type` and `expires_at` (in the future) are checked, then the bytes are served; 401 otherwise, 404 if gone.
- Every request is recorded in `calls`. `down()` stops answering at all (connection refused), `up()` comes back
  on the same ports; `fail_with(500)` answers Cloudinary-style JSON errors; `lose_responses` stores the upload
  and then answers garbage, as a proxy losing the answer would.
"""

from __future__ import annotations

import datetime as dt
import hmac
import io
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cloudinary.utils import api_sign_request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

API_RE = re.compile(r"^/v1_1/(?P<cloud>[^/]+)/(?P<resource_type>image|video|raw)/(?P<action>upload|destroy)$")
DOWNLOAD_RE = re.compile(r"^/v1_1/(?P<cloud>[^/]+)/(?P<resource_type>image|video|raw)/download$")
DELIVERY_RE = re.compile(
    r"^/(?P<cloud>[^/]+)/(?P<resource_type>image|video|raw)/(?P<type>upload|authenticated)/(?:v(?P<version>\d+)/)?"
    r"(?P<public_id>[^.]+)\.(?P<format>[a-z0-9]+)$"
)
UNSIGNED = {"file", "api_key", "resource_type", "cloud_name", "signature"}
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "webm": "audio/webm",
    "m4a": "audio/mp4",
}
PIL_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


@dataclass
class Call:
    method: str
    path: str
    action: str = ""  # upload | destroy | deliver
    resource_type: str = ""
    params: dict[str, str] = field(default_factory=dict)  # every form field but the file
    signature_valid: bool | None = None
    status: int = 0
    file_name: str | None = None
    file_size: int = 0


@dataclass
class Asset:
    public_id: str
    resource_type: str
    format: str
    data: bytes
    version: int
    width: int | None = None
    height: int | None = None
    type: str = "upload"  # upload (public) | authenticated (signed URLs only)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str | None, bytes] | None]:
    """(text fields, (file name, file bytes)) of a multipart/form-data body. `x[]` fields are joined with ','."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("no multipart boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, list[str]] = {}
    upload = None
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = next(
            (line for line in head.decode("utf-8").split("\r\n") if line.lower().startswith("content-disposition")),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        file_name = re.search(r'\bfilename="([^"]*)"', disposition)
        if not name:
            continue
        if name.group(1) == "file":
            upload = (file_name.group(1) if file_name else None, content)
        else:
            fields.setdefault(name.group(1).removesuffix("[]"), []).append(content.decode("utf-8"))
    return {key: ",".join(values) for key, values in fields.items()}, upload


class FakeCloudinary:
    def __init__(
        self,
        cloud_name: str = "sohbet-test",
        api_key: str = "123456789012345",
        api_secret: str | None = None,
    ) -> None:
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret or secrets.token_urlsafe(20)
        self.assets: dict[str, Asset] = {}
        self.calls: list[Call] = []
        self.failure_status: int | None = None  # answer every API call with this Cloudinary-style error
        self.lose_responses = False  # store uploads, then answer something that is not JSON
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._directory = Path(tempfile.mkdtemp(prefix="fake-cloudinary-"))
        self._server_context = self._make_certificates()
        self.api_port = 0
        self.delivery_port = 0

    # -- what the app is configured with ---------------------------------------------------------------------

    @property
    def upload_prefix(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def delivery_host(self) -> str:
        return f"127.0.0.1:{self.delivery_port}"

    @property
    def delivery_origin(self) -> str:
        return f"https://{self.delivery_host}"

    def env(self, api_secret: str | None = None) -> dict[str, str]:
        """The app's settings for this fake (a different `api_secret` makes every signature wrong)."""
        return {
            "CLOUDINARY_URL": f"cloudinary://{self.api_key}:{api_secret or self.api_secret}@{self.cloud_name}",
            "CLOUDINARY_UPLOAD_PREFIX": self.upload_prefix,
            "CLOUDINARY_SECURE_DISTRIBUTION": self.delivery_host,
        }

    def client_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self._directory / "ca.pem"))

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeCloudinary:
        api = self._serve(self.api_port, tls=False)
        delivery = self._serve(self.delivery_port, tls=True)
        self.api_port, self.delivery_port = api.server_address[1], delivery.server_address[1]
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def down(self) -> None:
        """Stop listening: every call is refused, as when Cloudinary is unreachable."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same ports."""
        self.start()

    def fail_with(self, status: int | None) -> None:
        self.failure_status = status

    def _serve(self, port: int, *, tls: bool) -> ThreadingHTTPServer:
        fake = self

        class Handler(FakeHandler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        if tls:
            server.socket = self._server_context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(server)
        return server

    def _make_certificates(self) -> ssl.SSLContext:
        """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake cloudinary test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (self._directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (self._directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (self._directory / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._directory / "cert.pem", self._directory / "key.pem")
        return context

    # -- what tests look at ----------------------------------------------------------------------------------

    def calls_to(self, action: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.action == action]

    def has(self, public_id: str) -> bool:
        with self._lock:
            return public_id in self.assets

    # -- the API ---------------------------------------------------------------------------------------------

    def handle_api(self, call: Call, match: re.Match[str], content_type: str, body: bytes) -> tuple[int, Any]:
        call.action, call.resource_type = match.group("action"), match.group("resource_type")
        if self.failure_status:
            return self.failure_status, {"error": {"message": "General Error"}}
        if match.group("cloud") != self.cloud_name:
            return 404, {"error": {"message": f"Invalid cloud_name {match.group('cloud')}"}}
        try:
            params, upload = parse_multipart(content_type, body)
        except ValueError:
            return 400, {"error": {"message": "Bad request"}}
        call.params = dict(params)
        if upload is not None:
            call.file_name, call.file_size = upload[0], len(upload[1])
        if params.get("api_key") != self.api_key:
            call.signature_valid = False
            return 401, {"error": {"message": f"Invalid api_key {params.get('api_key', '')}"}}
        to_sign = {key: value for key, value in params.items() if key not in UNSIGNED}
        expected = api_sign_request(to_sign, self.api_secret)
        call.signature_valid = hmac.compare_digest(expected, params.get("signature", ""))
        if not call.signature_valid:
            string = "&".join(f"{key}={to_sign[key]}" for key in sorted(to_sign))
            return 401, {
                "error": {"message": f"Invalid Signature {params.get('signature', '')}. String to sign - '{string}'."}
            }
        if abs(time.time() - int(params.get("timestamp") or 0)) > 3600:
            return 400, {"error": {"message": "Stale request - reported time is too old"}}
        if call.action == "upload":
            return self._upload(call.resource_type, params, upload)
        return self._destroy(call.resource_type, params)

    def _upload(self, resource_type: str, params: dict[str, str], upload: tuple[str | None, bytes] | None):
        if upload is None or not upload[1]:
            return 400, {"error": {"message": "Missing required parameter - file"}}
        file_name, data = upload
        public_id = params.get("public_id") or secrets.token_hex(10)
        width = height = None
        if resource_type == "image":
            try:
                with Image.open(io.BytesIO(data)) as picture:
                    fmt, (width, height) = PIL_FORMATS[picture.format or ""], picture.size
            except Exception:
                return 400, {"error": {"message": "Invalid image file"}}
        else:
            fmt = (file_name or "").rsplit(".", 1)[-1].lower() if "." in (file_name or "") else "bin"
        with self._lock:
            if public_id in self.assets and params.get("overwrite") == "0":
                existing = self.assets[public_id]
                return 200, self._describe(existing, existing=True)
            asset = Asset(
                public_id, resource_type, fmt, data, int(time.time()), width, height, params.get("type") or "upload"
            )
            self.assets[public_id] = asset
        if self.lose_responses:
            return 502, "<html><body>Bad gateway</body></html>"
        return 200, self._describe(asset)

    def _describe(self, asset: Asset, existing: bool = False) -> dict[str, Any]:
        path = f"{self.cloud_name}/{asset.resource_type}/{asset.type}/v{asset.version}/{asset.public_id}.{asset.format}"
        answer: dict[str, Any] = {
            "asset_id": secrets.token_hex(16),
            "public_id": asset.public_id,
            "version": asset.version,
            "version_id": secrets.token_hex(16),
            "signature": secrets.token_hex(20),
            "format": asset.format,
            "resource_type": asset.resource_type,
            "created_at": dt.datetime.fromtimestamp(asset.version, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tags": [],
            "bytes": len(asset.data),
            "type": asset.type,
            "etag": secrets.token_hex(16),
            "placeholder": False,
            "url": f"http://127.0.0.1:{self.api_port}/{path}",
            "secure_url": f"https://{self.delivery_host}/{path}",
            "original_filename": "upload",
        }
        if asset.width is not None:
            answer.update(width=asset.width, height=asset.height)
        if asset.resource_type == "video":
            answer.update(is_audio=True, audio={"codec": "unknown"}, duration=0.1)
        if existing:
            answer["existing"] = True
        return answer

    def _destroy(self, resource_type: str, params: dict[str, str]):
        with self._lock:
            asset = self.assets.get(params.get("public_id", ""))
            if asset is None or asset.resource_type != resource_type or asset.type != (params.get("type") or "upload"):
                return 200, {"result": "not found"}
            del self.assets[asset.public_id]
        return 200, {"result": "ok"}

    def deliver(self, call: Call, path: str) -> tuple[int, str, bytes]:
        call.action = "deliver"
        match = DELIVERY_RE.match(path)
        with self._lock:
            asset = self.assets.get(match.group("public_id")) if match else None
        if (
            match is None
            or asset is None
            or match.group("cloud") != self.cloud_name
            or match.group("resource_type") != asset.resource_type
            or match.group("format") != asset.format
            or match.group("type") != asset.type
        ):
            return 404, "text/plain", b"Resource not found"
        call.resource_type = asset.resource_type
        if asset.type != "upload":
            return 401, "text/plain", b"Unauthorized"  # an authenticated asset needs a signed URL
        return 200, CONTENT_TYPES.get(asset.format, "application/octet-stream"), asset.data

    def download(self, call: Call, match: re.Match[str], query: str) -> tuple[int, str, bytes]:
        """The Admin API's signed, expiring download of one asset (`private_download_url`)."""
        call.action, call.resource_type = "download", match.group("resource_type")
        params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
        call.params = dict(params)
        to_sign = {key: value for key, value in params.items() if key not in UNSIGNED}
        call.signature_valid = params.get("api_key") == self.api_key and hmac.compare_digest(
            api_sign_request(to_sign, self.api_secret), params.get("signature", "")
        )
        if not call.signature_valid or match.group("cloud") != self.cloud_name:
            return 401, "application/json", b'{"error": {"message": "Invalid Signature"}}'
        if int(params.get("expires_at") or 0) < time.time():
            return 401, "application/json", b'{"error": {"message": "Expired"}}'
        with self._lock:
            asset = self.assets.get(params.get("public_id", ""))
        if (
            asset is None
            or asset.resource_type != call.resource_type
            or asset.type != (params.get("type") or "upload")
            or asset.format != params.get("format")
        ):
            return 404, "application/json", b'{"error": {"message": "Resource not found"}}'
        return 200, CONTENT_TYPES.get(asset.format, "application/octet-stream"), asset.data


class FakeHandler(BaseHTTPRequestHandler):
    fake: FakeCloudinary
    server_version = "FakeCloudinary/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _record(self, call: Call) -> None:
        with self.fake._lock:
            self.fake.calls.append(call)

    def do_POST(self) -> None:
        call = Call("POST", self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = API_RE.match(self.path.split("?", 1)[0])
        if match is None:
            status, answer = 404, {"error": {"message": "Not found"}}
        else:
            status, answer = self.fake.handle_api(call, match, self.headers.get("Content-Type", ""), body)
        call.status = status
        self._record(call)
        if isinstance(answer, str):
            self._send(status, "text/html", answer.encode())
        else:
            self._send(status, "application/json; charset=utf-8", json.dumps(answer).encode())

    def do_GET(self) -> None:
        call = Call("GET", self.path)
        path, _, query = self.path.partition("?")
        download = DOWNLOAD_RE.match(path)
        if download is not None:
            status, content_type, data = self.fake.download(call, download, query)
        else:
            status, content_type, data = self.fake.deliver(call, path)
        call.status = status
        self._record(call)
        self._send(status, content_type, data)

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", secrets.token_hex(8))
        self.end_headers()
        self.wfile.write(data)
