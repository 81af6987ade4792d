"""How fast the drawing page (``mnist-predict --serve``) answers, against Keras' ``model.predict`` in the same process.

    python -m benchmarks.bench_serve                 # the workspace's models, 50 requests each
    python -m benchmarks.bench_serve --requests 200 --models-dir DIR

The app runs under uvicorn on loopback in this process and is posted the PNG the page would send for a drawn
digit (and for a 4-digit number), as the browser does while the user draws. The reference is the same server
with :func:`mnist_pipeline.model_io.predict_proba` sending those few digits through Keras' ``model.predict``
instead of its fast path for a few images (``predict_on_batch``); the model calls alone are timed too. Prints a
markdown table of median and 95th percentile latencies, and each fast path's time as a ratio of its reference's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import numpy as np
import uvicorn
from PIL import Image, ImageDraw

from benchmarks import cli
from mnist_pipeline import keras_io, model_io
from mnist_pipeline.app import predict, serve
from mnist_pipeline.app.imaging import read_number

# The page's canvas and brush.
CANVAS = (560, 280)
BRUSH = 20


def ellipse(cx: float, cy: float, rx: float, ry: float) -> list[tuple[float, float]]:
    return [(cx + rx * np.sin(a), cy - ry * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 25)]


SEVEN = [[(220, 50), (340, 50), (250, 240)]]
# 2026, a digit every 130 pixels.
NUMBER = [
    [(30, 80), (65, 45), (105, 70), (100, 110), (30, 235), (115, 235)],
    ellipse(205, 140, 42, 95),
    [(290, 80), (325, 45), (365, 70), (360, 110), (290, 235), (375, 235)],
    [(500, 45), (440, 150), *ellipse(475, 190, 38, 45)],
]


def drawing(strokes: list[list[tuple[float, float]]]) -> bytes:
    """The PNG the page posts: white marker strokes on black."""
    image = Image.new("RGB", CANVAS, "black")
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill="white", width=BRUSH, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def timings(call: Callable[[], object], n: int, warmup: int = 5) -> np.ndarray:
    """Milliseconds of ``n`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


class LoopbackServer:
    """The app under uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app):
        self.sock = serve.listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self.url

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


@contextlib.contextmanager
def predicting_through_keras_predict() -> Iterator[None]:
    """Inside the block, :func:`model_io.predict_proba` sends even a few images through Keras' ``model.predict``."""
    few = keras_io.FEW_IMAGES
    keras_io.FEW_IMAGES = 0
    try:
        yield
    finally:
        keras_io.FEW_IMAGES = few


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=cli.count, default=50, help="timed requests (and calls) per row")
    parser.add_argument("--models-dir", type=Path, help="the models' folder (default: the project's models/)")
    args = parser.parse_args()
    n = args.requests
    models = predict.load_models(models_dir=args.models_dir)
    rows: list[tuple[str, np.ndarray, np.ndarray | None]] = []  # what, timings, its reference's timings

    with LoopbackServer(serve.create_app(models)) as url, httpx2.Client(base_url=url, trust_env=False) as client:
        for what, body in (("one digit", drawing(SEVEN)), ("a 4-digit number", drawing(NUMBER))):
            answer = client.post("/predict", content=body).json()["models"]
            print(f"{what}: read as", {name: reading["number"] for name, reading in answer.items()})

            def post(body: bytes = body) -> None:
                client.post("/predict", content=body, headers={"Content-Type": "image/png"}).raise_for_status()

            fast = timings(post, n)
            with predicting_through_keras_predict():
                reference = timings(post, n)
            rows += [(f"POST /predict, {what}, Keras `model.predict` (reference)", reference, None),
                     (f"POST /predict, {what}, the page's `predict_on_batch`", fast, reference)]

    image = Image.open(io.BytesIO(drawing(SEVEN)))
    image.load()
    plausibility = predict.number_plausibility(models)
    rows.append(("picture to 28x28: `read_number` on the drawing (the models judging where digits part)",
                 timings(lambda: read_number(image, plausibility), n), None))
    digits = read_number(image, plausibility)[0]
    for name, model in models.items():
        fast = timings(lambda model=model: model_io.predict_proba(model, digits), n)
        if hasattr(model, "predict_proba"):  # scikit-learn: one way, whatever the number of images
            rows.append((f"{name} alone, one digit: `predict_proba`", fast, None))
        else:
            with predicting_through_keras_predict():
                reference = timings(lambda model=model: model_io.predict_proba(model, digits), n)
            rows += [(f"{name} alone, one digit: `model.predict` (reference)", reference, None),
                     (f"{name} alone, one digit: `predict_on_batch`", fast, reference)]

    lines = [f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {n} timed calls each", "",
             "| what | median ms | p95 ms | median vs reference |", "|---|---|---|---|"]
    for what, times, reference in rows:
        ratio = f"{np.median(times) / np.median(reference):.2f}" if reference is not None else "—"
        lines.append(f"| {what} | {np.median(times):.1f} | {np.percentile(times, 95):.1f} | {ratio} |")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run(main)
