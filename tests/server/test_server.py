"""What `sohbet serve` configures in uvicorn (issue 11, defects 7 and 15): a header-read timeout, a connection
limit, and the graceful-shutdown timeout from SHUTDOWN_TIMEOUT."""

from __future__ import annotations

import signal
import socket
import time

import httpx

from tests import serve

sohbet_serve = serve.sohbet_serve  # a fixture


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes `sock` (reads until EOF or a reset)."""
    started = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_a_slow_request_head_is_cut_off_and_others_are_served(sohbet_serve):
    served = sohbet_serve(HEADER_TIMEOUT="1")
    half = connect(served.port)
    half.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never the blank line
    silent = connect(served.port)  # not a byte
    drip = connect(served.port)
    drip.sendall(b"GET /health/live HTTP/1.1\r\n")
    started = time.monotonic()
    for _ in range(4):  # a header line every 0.4 s: the keep-alive timer would restart each time
        assert httpx.get(served.url + "/health/live", timeout=5).status_code == 200  # others are served meanwhile
        time.sleep(0.4)
        try:
            drip.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
    assert closed_after(drip) + (time.monotonic() - started) < 3
    assert closed_after(half) < 3 and closed_after(silent) < 3
    # A complete request on a kept-alive connection is answered, and the next head gets the same deadline.
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/health/live").status_code == 200
        time.sleep(0.3)
        assert client.get("/health/live").status_code == 200
    for sock in (half, silent, drip):
        sock.close()


def test_the_connection_limit_answers_503_beyond_it(sohbet_serve):
    served = sohbet_serve(MAX_CONNECTIONS="10", HEADER_TIMEOUT="30")
    held = [connect(served.port) for _ in range(10)]
    time.sleep(0.3)
    try:
        assert httpx.get(served.url + "/health/live", timeout=5).status_code == 503
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert httpx.get(served.url + "/health/live", timeout=5).status_code == 200


def test_the_graceful_shutdown_timeout_is_a_setting(sohbet_serve):
    served = sohbet_serve(SHUTDOWN_TIMEOUT="2")
    # A request in flight that never completes: its body is announced but never sent.
    stuck = connect(served.port)
    stuck.sendall(
        b"POST /chat/end HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000\r\n\r\na=1"
    )
    time.sleep(0.5)
    started = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    took = time.monotonic() - started
    stuck.close()
    assert 1.5 < took < 6, f"shutdown took {took:.1f} s with SHUTDOWN_TIMEOUT=2"
