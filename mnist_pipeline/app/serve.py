"""``mnist-predict --serve``: a local web page to draw a digit, or a number, and watch the models read it.

One self-contained page at ``/`` (inline CSS and JavaScript; it fetches nothing from the network) and one
endpoint, ``POST /predict``, whose body is an image file's raw bytes (PNG, JPEG or any format Pillow reads;
the bytes decide, not the Content-Type; a multipart form is refused, saying so)::

    $ curl --data-binary @seven.png http://127.0.0.1:8000/predict
    200 {"images": ["data:image/png;base64,...", ...],
         "models": {"logreg": {"number": "7", "sure": true,
                               "digits": [{"digit": 7, "probability": 0.98, "sure": true,
                                           "candidates": [{"digit": 7, ...}, {"digit": 1, ...}],
                                           "probabilities": [10 floats]}]},
                    ...}}
    400, 413, 422 {"detail": "what is wrong with the upload, and what would do"}

The picture is read as a number written in a row (:func:`mnist_pipeline.app.imaging.read_number`), a single
digit being a number of one digit: ``images`` are the 28x28 digits the models saw, left to right, and each
model's ``digits`` its reading of each (as ``mnist-predict --number --json`` gives them, with the probabilities
of all ten classes added); a number is ``sure`` when none of its digits is unsure
(:mod:`mnist_pipeline.app.verdicts`). The models are loaded once by the caller (``mnist-predict --serve``
loads them with :func:`mnist_pipeline.app.predict.load_models`) and passed to :func:`create_app`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import socket
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from mnist_pipeline.app.imaging import ImageError, read_number
from mnist_pipeline.app.pictures import FORMATS, PictureTooLargeError, open_picture
from mnist_pipeline.app.predict import number_plausibility
from mnist_pipeline.app.verdicts import Models, as_number, judge, thresholds_of
from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.model_io import predict_proba

# A phone's photo fits; the page's own drawings are a few kB.
MAX_BODY_BYTES = 10 * 2**20
# Decoded, a picture takes 3 or 4 bytes a pixel before imaging shrinks it (a 12-megapixel photo is read in 0.7 s
# on 2 cores): this limit takes a phone's 12 to 48 megapixels and refuses a decompression bomb early.
MAX_PIXELS = 50_000_000
# The drawing page: one self-contained HTML file (inline CSS and JavaScript), shipped as package data.
# The page shrinks a photo over these limits before sending it: it learns them here.
PAGE = (resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        .replace("__MAX_BODY_BYTES__", str(MAX_BODY_BYTES)).replace("__MAX_PIXELS__", str(MAX_PIXELS)))
# The page runs only its own inline code and talks only to this server.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")


def create_app(models: Mapping[str, Any]) -> FastAPI:
    """The drawing page and its ``POST /predict`` endpoint, answering with ``models`` (name -> loaded model; a
    :class:`~mnist_pipeline.app.verdicts.Models` carries their sure thresholds)."""
    if not models:
        raise ValueError("create_app needs at least one model")
    models = Models(models, thresholds_of(models))
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


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 beyond :data:`MAX_BODY_BYTES` without reading more, 400 when empty."""
    too_large = HTTPException(413, f"the upload is larger than the limit of {MAX_BODY_BYTES // 2**20} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(400, "a form upload: send the image file's own bytes as the request's body, as the page "
                                 "does (curl --data-binary @photo.jpg, not -F file=@photo.jpg)")
    body = bytearray()
    try:
        async for chunk in request.stream():  # counted as it comes: a chunked upload declares no length
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise too_large
    except ClientDisconnect:  # the client went away mid-upload: nobody to answer, nothing the server did wrong
        raise HTTPException(400, "the upload was cut off before its end") from None
    if not body:
        raise HTTPException(400, f"the request body is empty: send the bytes of an image file ({FORMATS})")
    return bytes(body)


def answer(body: bytes, models: Mapping[str, Any], lock: threading.Lock) -> dict[str, Any]:
    """The JSON answer for an uploaded picture (see the module's docstring)."""
    image = decode(body)
    try:
        digits, outlines, paper = read_number(image, number_plausibility(models, lock))
    except ImageError as error:
        raise HTTPException(422, str(error)) from None
    with lock:
        probabilities = {name: predict_proba(model, digits) for name, model in models.items()}
    answers = judge(probabilities, thresholds_of(models), outlines, digits, [paper] * len(digits))
    return {
        "images": [png_data_url(digit) for digit in digits],
        "models": {
            name: as_number([{**answer, "probabilities": row.tolist()}
                             for answer, row in zip(answers[name], probabilities[name], strict=True)])
            for name in models
        },
    }


def decode(body: bytes) -> Image.Image:
    """The uploaded bytes as a loaded, upright Pillow image; 413 for too many pixels, 400 for no readable image."""
    try:
        return open_picture(body, max_pixels=MAX_PIXELS)
    except PictureTooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except ImageError as error:
        raise HTTPException(400, str(error)) from None


def png_data_url(digit: np.ndarray) -> str:
    """A (28, 28) uint8 digit as a PNG ``data:`` URL, for an ``<img>``."""
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
