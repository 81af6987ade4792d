"""`mnist-predict --serve`: the drawing page's API through FastAPI's TestClient, and the page itself driven in
headless Chromium, both answered by tiny models trained here on real MNIST digits (no `dvc repro` needed)."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import os
import random
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from browser import headless_chromium
from fastapi import HTTPException
from fastapi.testclient import TestClient
from helpers import train_models
from mnist_for_tests import read_mnist
from PIL import Image, ImageDraw
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.wait import WebDriverWait
from starlette.requests import ClientDisconnect

from mnist_pipeline import keras_io, model_io
from mnist_pipeline.app import predict, serve
from mnist_pipeline.app.verdicts import Models
from mnist_pipeline.errors import PipelineError

# The page's API runs the models, and a browser draws on it: seconds, in `make test`, not in the inner loop.
pytestmark = pytest.mark.heavy

N_TRAIN = 3000
# The page's canvas and brush (a fourteenth of its height): the tests post what a user's drawing would be.
CANVAS = (560, 280)
BRUSH = 20
ONE = [(280, 40), (280, 240)]
SEVEN = [(220, 50), (340, 50), (250, 240)]


@pytest.fixture(scope="module")
def models(tmp_path_factory, mnist_mirror):
    """Small models trained in seconds on real digits (92% and 78% on MNIST's test digits): enough for a clear 1."""
    x = read_mnist(mnist_mirror, "train-images-idx3-ubyte")[:N_TRAIN]
    y = read_mnist(mnist_mirror, "train-labels-idx1-ubyte")[:N_TRAIN]
    folder = train_models(tmp_path_factory.mktemp("models"), x, y, max_iter=30, epochs=1, filters=[8],
                          dense_units=32)
    # Sure thresholds as evaluate would record them: none of logreg's answers is sure, all of nn's may be.
    return Models(predict.load_models(models_dir=folder), {"logreg": 1.0, "nn": 0.0})


@pytest.fixture(scope="module")
def app(models):
    return serve.create_app(models)


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    # A server error comes back as a response, so a test can check that none happens.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def drawing(*strokes: list[tuple[int, int]]) -> Image.Image:
    """What the page's canvas holds: white marker strokes on black."""
    image = Image.new("RGB", CANVAS, "black")
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill="white", width=BRUSH, joint="curve")
    return image


def shifted(stroke: list[tuple[int, int]], right: int) -> list[tuple[int, int]]:
    return [(x + right, y) for x, y in stroke]


def encoded(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds a few bytes: what a decompression bomb looks like
    before it is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


# --- the API --------------------------------------------------------------------------------------------------------

def test_page_is_one_self_contained_file(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for element in ('id="canvas"', 'id="clear"', 'id="file"', 'id="answer"', 'id="message"', 'id="seen"'):
        assert element in page
    assert "://" not in page  # no script, style, font or image from anywhere
    assert "default-src 'none'" in response.headers["content-security-policy"]  # the browser enforces it
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_a_drawn_digit(client, models):
    response = client.post("/predict", content=encoded(drawing(ONE)), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"images", "models"}
    [seen] = answer["images"]
    prefix = "data:image/png;base64,"
    assert seen.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(seen.removeprefix(prefix))))
    assert (image.size, image.mode) == ((28, 28), "L")
    assert list(answer["models"]) == list(models)
    for reading in answer["models"].values():
        assert set(reading) == {"number", "sure", "digits"}
        [digit] = reading["digits"]
        assert set(digit) - {"why"} == {"digit", "probability", "sure", "candidates", "probabilities"}
        assert reading["sure"] == digit["sure"]  # a number of one digit is as sure as its digit
        second = sorted(digit["probabilities"])[-2]
        assert [c["probability"] for c in digit["candidates"]] == [digit["probability"], second]
        assert len(digit["probabilities"]) == 10 and sum(digit["probabilities"]) == pytest.approx(1)
        assert digit["digit"] == int(np.argmax(digit["probabilities"]))
        assert digit["probability"] == max(digit["probabilities"])
        assert reading["number"] == str(digit["digit"])
    assert "1" in {reading["number"] for reading in answer["models"].values()}, answer["models"]


def test_a_number_written_in_a_row(client):
    image = drawing(shifted(ONE, -150), shifted(SEVEN, 120))
    response = client.post("/predict", content=encoded(image, "JPEG"), headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["images"]) == 2
    numbers = {name: reading["number"] for name, reading in answer["models"].items()}
    assert all(len(number) == 2 and len(answer["models"][name]["digits"]) == 2 for name, number in numbers.items())
    assert "17" in numbers.values(), numbers


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"", 400, "the request body is empty"),
    (b"a note, not a picture\n", 400, r"not an image file \(PNG, JPEG"),
    (encoded(drawing()), 422, "the image holds no digit"),
    (encoded(drawing(ONE))[:300], 400, "cannot read the image, truncated"),
    (png_header(8000, 8000), 413, "8000x8000 pixels, more than the limit of 50 megapixels"),
    (png_header(100_000, 100_000), 413, "the image has more than 50 megapixels, the most that is read: send a "
                                        "smaller one"),
], ids=["empty", "not-an-image", "blank-canvas", "truncated", "too-many-pixels", "decompression-bomb"])
def test_bad_uploads_get_a_message(client, body, status, message):
    response = client.post("/predict", content=body, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == status, response.text
    assert re.search(message, response.json()["detail"]), response.json()["detail"]


def test_a_form_upload_is_told_to_send_the_files_own_bytes(client):
    response = client.post("/predict", files={"file": ("seven.png", encoded(drawing(SEVEN)), "image/png")})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("a form upload: send the image file's own bytes as the request's body")


def test_an_upload_cut_off_by_its_client_is_answered_400_not_logged_as_a_server_error():
    class CutOff:  # what Starlette's request gives when the client goes away mid-upload
        def __init__(self):
            self.headers = {"content-type": "image/jpeg"}

        async def stream(self):
            yield b"\xff\xd8\xff"
            raise ClientDisconnect()

    with pytest.raises(HTTPException) as refused:
        asyncio.run(serve.read_body(CutOff()))
    assert refused.value.status_code == 400 and refused.value.detail == "the upload was cut off before its end"


def test_a_body_over_the_limit_is_refused_by_its_length(client):
    response = client.post("/predict", content=b"\0" * (serve.MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["detail"] == "the upload is larger than the limit of 10 MB"


def test_a_body_over_the_limit_is_refused_without_a_length(client):
    # Chunked: no Content-Length to refuse it by, so the bytes are counted as they come.
    chunks = (b"\0" * 2**20 for _ in range(serve.MAX_BODY_BYTES // 2**20 + 1))
    response = client.post("/predict", content=chunks)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "10 MB" in response.json()["detail"]


def test_corrupt_images_never_get_a_server_error(client):
    whole = encoded(drawing(SEVEN))
    rng = random.Random(0)
    for _ in range(20):
        corrupt = bytearray(whole)
        for _ in range(rng.randint(1, 8)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        response = client.post("/predict", content=bytes(corrupt))
        assert response.status_code in (200, 400, 422), response.text
        assert response.status_code == 200 or response.json()["detail"]


def test_run_listens_on_localhost_prints_the_url_and_stops_on_ctrl_c(models, monkeypatch, capsys):
    served = []

    def stopped_with_ctrl_c(server, sockets):
        served.append(sockets[0].getsockname())
        raise KeyboardInterrupt  # as uvicorn does once it has stopped

    monkeypatch.setattr(uvicorn.Server, "run", stopped_with_ctrl_c)
    serve.run(models, port=0)  # returns: Ctrl+C is how the page is stopped, no error
    [(host, port)] = served
    assert host == "127.0.0.1" and port > 0
    assert f"http://127.0.0.1:{port}/" in capsys.readouterr().out


def test_an_unexpected_error_is_still_a_message(client, monkeypatch):
    def failing(image, plausibility):
        raise RuntimeError("a bug")

    monkeypatch.setattr(serve, "read_number", failing)
    response = client.post("/predict", content=encoded(drawing(ONE)))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: RuntimeError: a bug"}


def test_a_few_digits_are_predicted_as_a_large_batch_predicts_them(models):
    # A few images skip Keras' data pipeline (predict_on_batch); the answers are those of ``model.predict``.
    digits = np.random.default_rng(0).integers(0, 256, (keras_io.FEW_IMAGES + 1, 28, 28), dtype=np.uint8)
    for name, model in models.items():
        # The logistic regression's float32 kernel features of 3 rows and of 51 are summed by OpenBLAS's kernels
        # for small and for large matrices, whose orders of addition differ in the last bits.
        np.testing.assert_allclose(model_io.predict_proba(model, digits[:3]), model_io.predict_proba(model, digits)[:3],
                                   atol=1e-6, rtol=1e-5 if name == "logreg" else 1e-7)


def test_connections_have_nagles_algorithm_off():
    # With it on, each answer on a kept-alive connection (the page's) waited 40 ms for a delayed ACK.
    async def nodelay_of_a_connection() -> int:
        loop = asyncio.get_running_loop()
        accepted = loop.create_future()

        class Accept(asyncio.Protocol):
            def connection_made(self, transport):
                accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP,
                                                                                  socket.TCP_NODELAY))

        async with await loop.create_server(Accept, sock=serve.listen("127.0.0.1", 0)) as server:
            _, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
        return nodelay

    assert asyncio.run(nodelay_of_a_connection())


def test_run_on_a_taken_port_says_so(models):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(PipelineError, match=f"cannot listen on 127.0.0.1:{port}: .*choose another --port"):
            serve.run(models, port=port)


# --- the page in a browser ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_url(app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread, for the module's browser tests."""
    sock = serve.listen("127.0.0.1", 0)
    # log_config=None: uvicorn's handlers would hold on to the stderr pytest captures, and outlive it.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, kept for the module."""
    with headless_chromium("the drawing page's browser test", "--window-size=1200,900", "--no-proxy-server") as driver:
        yield driver


def shown(driver) -> dict[str, tuple[str, str, str]]:
    """Each model's answer as the page shows it, (number, sure, text): read in one script, at one moment. The page
    rebuilds the list as each answer comes, so items found by one WebDriver call may be gone by the next (a stale
    element, seen once on a loaded machine)."""
    return {model: tuple(answer) for model, answer in driver.execute_script(
        "return Array.from(document.querySelectorAll('#answer li'), "
        "item => [item.dataset.model, [item.dataset.number, item.dataset.sure, item.innerText]]);")}


def answers(driver) -> dict[str, str]:
    """The number each model reads, as the page shows it."""
    return {model: number for model, (number, _, _) in shown(driver).items()}


def draw(driver, points: list[tuple[float, float]], steps: int = 8) -> None:
    """One stroke with the mouse through ``points``, given as fractions of the canvas from its top left corner."""
    canvas = driver.find_element("id", "canvas")
    width, height = canvas.size["width"], canvas.size["height"]
    # Offsets are from the element's centre.
    at = [(round((x - 0.5) * width), round((y - 0.5) * height)) for x, y in points]
    actions = ActionChains(driver).move_to_element_with_offset(canvas, *at[0]).click_and_hold()
    for (x0, y0), (x1, y1) in itertools.pairwise(at):
        for step in range(1, steps + 1):  # small moves, as a hand makes: several pointermove events
            actions.move_to_element_with_offset(canvas, x0 + (x1 - x0) * step // steps, y0 + (y1 - y0) * step // steps)
    actions.release().perform()


@pytest.mark.e2e
def test_drawing_a_digit_in_the_browser(browser, page_url, models, tmp_path):
    browser.get(page_url)
    draw(browser, [(0.5, 0.15), (0.5, 0.85)])  # a tall vertical stroke: a 1
    WebDriverWait(browser, 20).until(lambda driver: "1" in answers(driver).values(), "no model read a 1")
    assert set(answers(browser)) == set(models)
    # Under its sure threshold, logreg's reading is no bare guess: the page says so, with the runner-up, and for nn
    # too, which is sure alone (its threshold is 0) but not where logreg doubts the digit.
    page = shown(browser)
    for name in ("logreg", "nn"):
        _, sure, text = page[name]
        assert sure == "false"
        assert re.search(r"not sure: \d or \d$", text), text
    sizes = browser.execute_script("return [...document.querySelectorAll('#seen img')]"
                                   ".map((img) => [img.naturalWidth, img.naturalHeight, img.width])")
    assert sizes == [[28, 28, 84]]  # the 28x28 image the models saw, scaled up
    assert browser.find_element("id", "message").text == ""

    browser.save_screenshot(str(tmp_path / "serve.png"))
    if os.environ.get("MNIST_SCREENSHOT_DIR"):  # for the docs: a screenshot the test took
        folder = Path(os.environ["MNIST_SCREENSHOT_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "serve.png", folder / "serve.png")

    browser.find_element("id", "clear").click()
    assert answers(browser) == {}
    assert not browser.find_element("id", "result").is_displayed()
    inked = browser.execute_script("const c = document.getElementById('canvas');"
                                   "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
                                   ".some((v, i) => i % 4 !== 3 && v !== 0)")
    assert not inked


@pytest.mark.e2e
def test_a_photo_over_the_upload_limit_is_shrunk_by_the_page_and_read(browser, page_url, tmp_path):
    # A phone-sized picture whose PNG is over the server's limit: paper grain (noise does not compress) and a 1.
    rng = np.random.default_rng(0)
    side = 3000
    paper = rng.integers(190, 256, (side, side, 3), dtype=np.uint8)
    paper[600:2400, 1400:1600] = 30
    big = tmp_path / "big-photo.png"
    Image.fromarray(paper).save(big, compress_level=1)
    assert big.stat().st_size > serve.MAX_BODY_BYTES
    browser.get(page_url)
    browser.find_element("id", "file").send_keys(str(big))
    WebDriverWait(browser, 60).until(lambda driver: answers(driver), "no answer for the big photo")
    assert "1" in answers(browser).values(), answers(browser)
    message = browser.find_element("id", "message").text
    assert re.fullmatch(r"big-photo\.png \(\d+\.\d MB, 3000×3000\) is over what the server takes \(10\.0 MB, 50 "
                        r"megapixels\): the page shrank it to \d+×\d+ \(\d\.\d MB\) before sending it",
                        message), message


def test_the_page_knows_the_servers_limits(client):
    page = client.get("/").text
    assert f"const MAX_BODY_BYTES = {serve.MAX_BODY_BYTES}, MAX_PIXELS = {serve.MAX_PIXELS};" in page
    assert "__MAX_" not in page


@pytest.mark.e2e
def test_uploading_files_in_the_browser(browser, page_url, tmp_path):
    browser.get(page_url)
    note = tmp_path / "note.txt"
    note.write_text("a note, not a picture\n")
    browser.find_element("id", "file").send_keys(str(note))
    WebDriverWait(browser, 20).until(lambda driver: "not an image" in driver.find_element("id", "message").text)
    assert answers(browser) == {}

    # A photo-like picture: dark ink on light paper, as a file.
    photo = tmp_path / "one.png"
    Image.fromarray(255 - np.asarray(drawing(ONE))).save(photo)
    browser.find_element("id", "file").send_keys(str(photo))
    WebDriverWait(browser, 20).until(lambda driver: "1" in answers(driver).values(), "no model read the photo's 1")
    assert browser.find_element("id", "message").text == ""
