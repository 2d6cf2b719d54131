"""Image decompression bombs (issue 11, defect 2): a file that is small on the wire but huge once decoded is
refused from its header, fast and without the server's memory or CPU going up; allowed images decode at most
two at a time; normal photos still pass."""

from __future__ import annotations

import io
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from app.services.uploads import ImageBudget, UploadRejected, check, inspect
from tests import media_files
from tests.server.test_uploads import media_ids, upload
from tests.support import start_visitor

LIMITS = {"max_image_bytes": 5 * 1024 * 1024, "max_audio_bytes": 10 * 1024 * 1024}


def memory_kb(server, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since start) of the server process, in kB."""
    for line in open(f"/proc/{server.process.pid}/status").read().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def cpu_seconds(server) -> float:
    fields = open(f"/proc/{server.process.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def send_in_parallel(server, data: bytes, count: int, text: str) -> list[tuple[object, float]]:
    visitors = [start_visitor(server.url, f"Parallel {i}") for i in range(count)]
    for visitor in visitors:  # queued decodes on a loaded 2-core machine take more than the default 10 s
        visitor.http.timeout = httpx.Timeout(90)

    def send(visitor):
        started = time.monotonic()
        response = upload(visitor, "/chat/messages", "picture.png", data, "image/png", text=text)
        return response, time.monotonic() - started

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(send, visitors))


def test_pixel_bombs_are_refused_from_the_header(make_server):
    server = make_server("pixel-bombs")
    bomb = media_files.big_flat_png(6300)  # ~130 KB, 40 Mpx: 160 MB once decoded
    assert len(bomb) < 200_000
    before = memory_kb(server, "VmRSS")
    for response, seconds in send_in_parallel(server, bomb, 4, "keep this caption"):
        assert response.status_code == 422, response.text
        assert "16 megapixels" in response.text and "keep this caption" in response.text
        assert seconds < 1.0, seconds
    grew = memory_kb(server, "VmHWM") - before
    assert grew < 40 * 1024, f"peak RSS grew by {grew} kB for four refused bombs"


def test_a_long_animation_is_refused_without_burning_cpu(make_server):
    server = make_server("long-gif")
    visitor = start_visitor(server.url, "Long gif")
    gif = media_files.long_gif(300, 730)  # 160 Mpx across frames: ~9 s of CPU to re-encode
    cpu = cpu_seconds(server)
    response = upload(visitor, "/chat/messages", "long.gif", gif, "image/gif", text="my caption")
    used = cpu_seconds(server) - cpu
    assert response.status_code == 422 and "too long" in response.text and "my caption" in response.text
    assert used < 0.5, f"the refusal cost {used:.2f} s of CPU"


def test_allowed_big_images_decode_two_at_a_time(make_server):
    server = make_server("decodes")
    picture = media_files.big_flat_png(4096)  # exactly the 16 Mpx budget: 64 MB once decoded
    ((warm_up, _),) = send_in_parallel(server, media_files.image("PNG"), 1, "")  # first-request costs
    assert warm_up.status_code == 303
    before = memory_kb(server, "VmRSS")
    ((alone, _),) = send_in_parallel(server, picture, 1, "")
    assert alone.status_code == 303
    one_decode = memory_kb(server, "VmHWM") - before
    assert one_decode > 40 * 1024, one_decode  # the measure below means something
    results = send_in_parallel(server, picture, 4, "")
    assert [response.status_code for response, _ in results] == [303] * 4
    four_sent = memory_kb(server, "VmHWM") - before
    # Two decodes at once need about twice one decode's memory; four at once would need four times.
    assert four_sent < 3 * one_decode, f"one decode: {one_decode} kB, four sent at once: {four_sent} kB"


def test_a_phone_photo_still_passes(server):
    visitor = start_visitor(server.url, "Phone photo")
    photo = media_files.photo(4000, 3000)
    assert upload(visitor, "/chat/messages", "IMG_0001.jpg", photo, "image/jpeg").status_code == 303
    page = visitor.get("/").text
    (public_id,) = media_ids(page)
    assert f'<img src="/media/{public_id}" width="4000" height="3000"' in page
    served = Image.open(io.BytesIO(visitor.http.get(f"/media/{public_id}").content))
    assert served.size == (4000, 3000) and served.format == "JPEG"


# -- the budget, in-process ------------------------------------------------------------------------------


def test_the_budget_edges():
    budget = ImageBudget()
    assert check(media_files.big_flat_png(4096), "edge.png", **LIMITS).width == 4096
    with pytest.raises(UploadRejected) as refused:
        inspect(media_files.big_flat_png(4097), "over.png", **LIMITS)
    assert (refused.value.status, refused.value.code) == (422, "upload.too_many_pixels")
    assert check(media_files.image("GIF", (8, 8), frames=budget.frames), "edge.gif", **LIMITS).kind == "image"
    for data in (media_files.image("GIF", (8, 8), frames=budget.frames + 1), media_files.long_gif(100, 600)):
        with pytest.raises(UploadRejected) as refused:
            inspect(data, "long.gif", **LIMITS)
        assert refused.value.code == "upload.too_many_frames"
    with pytest.raises(UploadRejected) as refused:
        inspect(media_files.image("WEBP", (600, 600), frames=80), "long.webp", **LIMITS)
    assert refused.value.code == "upload.too_many_frames"


def test_a_gif_frame_that_grows_the_canvas_counts():
    data = media_files.gif_growing_canvas(5990, 5990)  # 57 bytes; Pillow would decode a 6000 x 6000 canvas
    assert Image.open(io.BytesIO(data)).size == (6000, 6000)
    with pytest.raises(UploadRejected) as refused:
        inspect(data, "grow.gif", **LIMITS)
    assert refused.value.code == "upload.too_many_pixels"


def test_the_gif_walk_counts_frames_as_pillow_does():
    for data in (media_files.image("GIF", frames=3), media_files.long_gif(7, 40), media_files.image("GIF")):
        frames = Image.open(io.BytesIO(data)).n_frames
        assert inspect(data, "a.gif", **LIMITS, budget=ImageBudget(frames=frames)).format == "gif"
        if frames > 1:
            with pytest.raises(UploadRejected):
                inspect(data, "a.gif", **LIMITS, budget=ImageBudget(frames=frames - 1))
    with pytest.raises(UploadRejected) as refused:
        inspect(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "empty.gif", **LIMITS)
    assert refused.value.code == "upload.broken"
