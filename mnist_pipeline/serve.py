"""``mnist-predict --serve``: a local web page to draw a digit, or a number, and watch the models read it.

One self-contained page at ``/`` (inline CSS and JavaScript; it fetches nothing from the network) and one
endpoint, ``POST /predict``, whose body is an image file's raw bytes (PNG, JPEG or any format Pillow reads;
the bytes decide, not the Content-Type)::

    $ curl --data-binary @seven.png http://127.0.0.1:8000/predict
    200 {"images": ["data:image/png;base64,...", ...],
         "models": {"logreg": {"number": "7",
                               "digits": [{"digit": 7, "probability": 0.98, "probabilities": [10 floats]}]},
                    ...}}
    400, 413, 422 {"detail": "what is wrong with the upload, and what would do"}

The picture is read as a number written in a row (:func:`mnist_pipeline.imaging.to_mnist_digits`), a single
digit being a number of one digit: ``images`` are the 28x28 digits the models saw, left to right, and each
model's ``digits`` its reading of each (as ``mnist-predict --number --json`` gives them, with the probabilities
of all ten classes added). The models are loaded once by the caller (``mnist-predict --serve``
loads them with :func:`mnist_pipeline.predict.load_models`) and passed to :func:`create_app`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from mnist_pipeline import model_io
from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.imaging import ImageError, to_mnist_digits

# A phone's photo fits; the page's own drawings are a few kB.
MAX_BODY_BYTES = 10 * 2**20
# Decoded, a picture takes 3 or 4 bytes a pixel before imaging shrinks it (a 12-megapixel photo is read in 0.7 s
# on 2 cores): this limit takes a phone's 12 to 48 megapixels and refuses a decompression bomb early.
MAX_PIXELS = 50_000_000
FORMATS = "PNG, JPEG, GIF, BMP, TIFF, WebP or another format Pillow reads"
# The page runs only its own inline code and talks only to this server.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")


def create_app(models: Mapping[str, Any]) -> FastAPI:
    """The drawing page and its ``POST /predict`` endpoint, answering with ``models`` (name -> loaded model)."""
    if not models:
        raise ValueError("create_app needs at least one model")
    models = dict(models)
    # Keras compiles its prediction function on the first call and once more for a second batch size (then
    # for any size); done here, the first drawing is answered as fast as the next.
    for model in models.values():
        for size in (1, 2):
            predict_proba(model, np.zeros((size, IMAGE_SIDE, IMAGE_SIDE), np.uint8))
    # One prediction at a time: Keras models are not documented as safe to call from several threads.
    lock = threading.Lock()
    # No /docs: Swagger UI would load its scripts from a CDN.
    app = FastAPI(title="mnist-predict", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # A bug, not the upload's fault: still a message the page can show (uvicorn logs the traceback).
        return JSONResponse({"detail": f"internal error: {type(error).__name__}: {error}"}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        body = await read_body(request)
        return await run_in_threadpool(answer, body, models, lock)  # decoding and predicting hold the CPU

    return app


def run(models: Mapping[str, Any], host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the drawing page with ``models`` at ``http://host:port/`` until Ctrl+C, printing its URL.

    Only this machine can reach it by default; another ``host`` (``0.0.0.0``: every interface) lets anyone on
    that network use it. ``port`` 0 takes any free port.

    Raises:
        PipelineError: the address cannot be listened on (the port taken, the host not this machine's).
    """
    # Bound here rather than by uvicorn: a taken port fails at once, as a message, and port 0 gets a URL to print.
    try:
        sock = listen(host, port)
    except OSError as error:
        raise PipelineError(f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port "
                            f"or --host") from None
    with sock:
        app = create_app(models)
        bound_host, bound_port = sock.getsockname()[:2]
        url_host = f"[{bound_host}]" if sock.family == socket.AF_INET6 else bound_host
        print(f"Drawing page at http://{url_host}:{bound_port}/ (Ctrl+C to stop)", flush=True)  # noqa: T201
        # Warnings and errors through the caller's logging (mnist-predict's format), not a configuration of
        # uvicorn's own; no access log: the page posts a prediction every 150 ms while the user draws.
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False)
        # uvicorn stops on Ctrl+C, then raises it again for its caller: here it is the way to stop, not an error.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port``, for uvicorn's ``Server.run(sockets=...)``.

    Made with the protocol named (``IPPROTO_TCP``), as asyncio's own are: asyncio turns Nagle's algorithm off
    (``TCP_NODELAY``) only on such a socket's connections, and with it on, every answer on a kept-alive
    connection waited 40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":  # to listen again at once after a restart; on Windows it would allow two servers
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def predict_proba(model: Any, images: np.ndarray) -> np.ndarray:
    """:func:`mnist_pipeline.model_io.predict_proba` without Keras' per-call overhead, for a few images.

    Keras' ``predict`` builds a data pipeline on every call (85 ms for one digit on 2 cores);
    ``predict_on_batch`` runs the compiled function on the batch as it is (4 ms). The answers are the same.
    """
    if hasattr(model, "predict_proba"):
        return model_io.predict_proba(model, images)
    rows = np.asarray(model.predict_on_batch(images.astype(np.float32)), dtype=np.float64)
    return rows / rows.sum(axis=1, keepdims=True)


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 beyond :data:`MAX_BODY_BYTES` without reading more, 400 when empty."""
    too_large = HTTPException(413, f"the upload is larger than the limit of {MAX_BODY_BYTES // 2**20} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():  # counted as it comes: a chunked upload declares no length
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    if not body:
        raise HTTPException(400, f"the request body is empty: send the bytes of an image file ({FORMATS})")
    return bytes(body)


def answer(body: bytes, models: Mapping[str, Any], lock: threading.Lock) -> dict[str, Any]:
    """The JSON answer for an uploaded picture (see the module's docstring)."""
    image = decode(body)
    try:
        digits = to_mnist_digits(image)
    except ImageError as error:
        raise HTTPException(422, str(error)) from None
    with lock:
        probabilities = {name: predict_proba(model, digits) for name, model in models.items()}
    return {
        "images": [png_data_url(digit) for digit in digits],
        "models": {
            name: {"number": "".join(str(row.argmax()) for row in rows),
                   "digits": [{"digit": int(row.argmax()), "probability": float(row.max()),
                               "probabilities": row.tolist()} for row in rows]}
            for name, rows in probabilities.items()
        },
    }


def decode(body: bytes) -> Image.Image:
    """The uploaded bytes as a loaded Pillow image; 400 for what is no readable image, 413 for too many pixels."""
    try:
        image = Image.open(io.BytesIO(body))  # reads the header only
    except UnidentifiedImageError:
        raise HTTPException(400, f"not an image: send the bytes of an image file ({FORMATS})") from None
    except Image.DecompressionBombError as error:  # Pillow's own, larger limit
        raise HTTPException(413, f"the image is too large: {error}") from None
    except Exception as error:
        raise unreadable(error) from None
    if image.width * image.height > MAX_PIXELS:
        raise HTTPException(413, f"the image is {image.width}x{image.height} pixels, more than the limit of "
                                 f"{MAX_PIXELS // 10**6} megapixels: send a smaller one")
    try:
        image.load()
    except Exception as error:
        raise unreadable(error) from None
    return image


def unreadable(error: Exception) -> HTTPException:
    # Pillow raises OSError, SyntaxError, ValueError, EOFError... for a truncated or corrupt file.
    return HTTPException(400, f"cannot read the image, truncated or corrupt: {str(error) or type(error).__name__}")


def png_data_url(digit: np.ndarray) -> str:
    """A (28, 28) uint8 digit as a PNG ``data:`` URL, for an ``<img>``."""
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mnist-predict: draw a digit</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; --accent: #e8590c; }
  body { margin: 1rem auto; max-width: 64rem; padding: 0 1rem; }
  h1 { font-size: 1.4rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  main { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
  #drawing { flex: 1 1 28rem; max-width: 560px; }
  #canvas { display: block; width: 100%; aspect-ratio: 2 / 1; background: #000; border-radius: 8px;
            touch-action: none; cursor: crosshair; }
  .controls { display: flex; gap: 1rem; align-items: center; margin: .75rem 0; flex-wrap: wrap; }
  #clear { font-size: 1rem; padding: .4rem 1.2rem; }
  #drop { flex: 1; border: 2px dashed #888; border-radius: 8px; padding: .5rem .75rem; }
  body.dragging #drop { border-color: var(--accent); }
  #message { min-height: 1.5em; color: var(--accent); }
  #result { flex: 1 1 24rem; }
  #answer { list-style: none; padding: 0; margin: 0 0 1rem; display: flex; gap: 2rem; }
  #answer b { font-size: 2.5rem; font-variant-numeric: tabular-nums; letter-spacing: .1em; }
  #seen { display: flex; gap: .5rem; margin-bottom: 1rem; }
  #seen img { width: 84px; height: 84px; image-rendering: pixelated; border: 1px solid #888; }
  .model { margin-bottom: 1rem; }
  .charts { display: flex; gap: 1.5rem; flex-wrap: wrap; }
  .bars { display: grid; grid-template-columns: 1em 8rem 3em; gap: 2px .4rem; align-items: center;
          font-variant-numeric: tabular-nums; font-size: .85rem; }
  .bar { height: .8rem; background: #8883; border-radius: 2px; overflow: hidden; }
  .bar span { display: block; height: 100%; background: #888; }
  .top { font-weight: bold; }
  .bar.top span { background: var(--accent); }
</style>
</head>
<body>
<h1>Draw a digit, or a number, and watch the models read it</h1>
<main>
  <section id="drawing">
    <canvas id="canvas" width="560" height="280" aria-label="drawing area: draw with the mouse or a finger">
    </canvas>
    <div class="controls">
      <button id="clear" type="button">Clear</button>
      <label id="drop">Or a photo (drop it anywhere on the page):
        <input id="file" type="file" accept="image/*"></label>
    </div>
    <p id="message" role="status" aria-live="polite"></p>
  </section>
  <section id="result" hidden>
    <ul id="answer" aria-label="the number each model reads"></ul>
    <h2>What the models saw</h2>
    <div id="seen"></div>
    <div id="models"></div>
  </section>
</main>
<script>
"use strict";
const THROTTLE_MS = 150;  // at most one prediction this often while a stroke goes on
const $ = (id) => document.getElementById(id);
const canvas = $("canvas"), ctx = canvas.getContext("2d");
const strokes = new Map();  // pointerId -> its last point: a finger and a mouse may draw at once
let inked = false;          // the canvas holds a drawing (not blank, not a photo's preview)
let photo = false;          // the canvas shows an uploaded photo: drawing starts afresh
let generation = 0;         // bumped by Clear and by an upload: answers to older requests are dropped
let timer = null, lastSent = -Infinity, inFlight = false, queued = null;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function blank() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = ctx.fillStyle = "#fff";
  ctx.lineWidth = canvas.height / 14;  // a marker: MNIST's strokes are about a tenth of the digit's height
  ctx.lineCap = ctx.lineJoin = "round";
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  if (photo) { blank(); photo = false; }
  const [x, y] = point(event);
  ctx.beginPath();
  ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
  strokes.set(event.pointerId, [x, y]);
  inked = true;
  schedule();
});

canvas.addEventListener("pointermove", (event) => {
  if (!strokes.has(event.pointerId)) return;
  ctx.beginPath();
  ctx.moveTo(...strokes.get(event.pointerId));
  // The browser may merge several moves into one event; their points keep a fast stroke smooth.
  for (const move of event.getCoalescedEvents?.() ?? []) ctx.lineTo(...point(move));
  ctx.lineTo(...point(event));
  ctx.stroke();
  strokes.set(event.pointerId, point(event));
  schedule();
});

for (const type of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(type, (event) => {
    if (strokes.delete(event.pointerId)) predictDrawing();
  });
}

function schedule() {
  if (timer === null) {
    timer = setTimeout(predictDrawing, Math.max(0, lastSent + THROTTLE_MS - performance.now()));
  }
}

function predictDrawing() {
  clearTimeout(timer);
  timer = null;
  if (!inked) return;
  const mine = generation;
  canvas.toBlob((blob) => post(blob, "image/png", mine), "image/png");
}

async function post(body, type, mine) {
  if (mine !== generation) return;
  if (inFlight) { queued = [body, type, mine]; return; }  // one request at a time; the latest waiting one wins
  inFlight = true;
  lastSent = performance.now();
  try {
    const response = await fetch("predict", { method: "POST", headers: { "Content-Type": type }, body });
    const data = await response.json().catch(() => ({ detail: `the server answered ${response.status}` }));
    if (mine === generation) response.ok ? show(data) : fail(data.detail);
  } catch (error) {
    if (mine === generation) fail(`the server cannot be reached: ${error.message}`);
  } finally {
    inFlight = false;
    const next = queued;
    queued = null;
    if (next) post(...next);
  }
}

function show(data) {
  $("message").textContent = "";
  $("seen").replaceChildren(...data.images.map((src, i) =>
    el("img", { src, width: 28, height: 28, alt: `digit ${i + 1} as the models saw it, 28x28 pixels` })));
  const models = Object.entries(data.models);
  $("answer").replaceChildren(...models.map(([name, reading]) => {
    const item = el("li", {}, name + " ", el("b", {}, reading.number));
    item.dataset.model = name;
    item.dataset.number = reading.number;
    return item;
  }));
  $("models").replaceChildren(...models.map(([name, reading]) =>
    el("section", { className: "model" }, el("h2", {}, name),
       el("div", { className: "charts" }, ...reading.digits.map(bars)))));
  $("result").hidden = false;
}

function bars({ digit, probabilities }) {
  const chart = el("div", { className: "bars" });
  probabilities.forEach((p, d) => {
    const cls = d === digit ? "top" : "";
    const fill = el("span");
    fill.style.width = `${100 * p}%`;
    chart.append(el("span", { className: cls }, String(d)), el("span", { className: `bar ${cls}` }, fill),
                 el("span", { className: cls }, `${Math.round(100 * p)}%`));
  });
  return chart;
}

function fail(detail) {
  $("result").hidden = true;
  $("answer").replaceChildren();
  $("message").textContent = typeof detail === "string" ? detail : JSON.stringify(detail);
}

function reset() {
  generation += 1;
  queued = null;
  clearTimeout(timer);
  timer = null;
  blank();
  inked = photo = false;
  $("result").hidden = true;
  $("answer").replaceChildren();
  $("message").textContent = "";
}

$("clear").addEventListener("click", reset);

async function upload(file) {
  reset();
  $("message").textContent = `reading ${file.name}…`;
  post(file, file.type || "application/octet-stream", generation);
  try {  // a preview in the drawing area, when the browser can read the file too
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
    const [w, h] = [bitmap.width * scale, bitmap.height * scale];
    ctx.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
    photo = true;
  } catch {
    // the server says what is wrong with it
  }
}

$("file").addEventListener("change", () => {
  if ($("file").files.length) upload($("file").files[0]);
  $("file").value = "";  // choosing the same file again is a change too
});
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", (event) => {
  event.preventDefault();  // else the browser leaves the page to show the file
  document.body.classList.remove("dragging");
  if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
});

blank();
</script>
</body>
</html>
"""
