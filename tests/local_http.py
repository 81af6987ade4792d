"""A real HTTP server on loopback serving a folder, as a public mirror would serve the MNIST files."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; ``server.plan[path]`` lists what to answer instead, one request at a time."""

    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        plan = self.server.plan.get(self.path)
        action = plan.pop(0) if plan else None
        if isinstance(action, int):
            self.send_error(action)
        elif action == "truncate":
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            super().do_GET()


class LocalServer:
    def __init__(self, folder: Path):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
        self.httpd.requests = []
        self.httpd.plan = {}
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def fail(self, name: str, *actions) -> None:
        """Answer the next requests for ``name``.gz with these HTTP codes or "truncate", then serve it."""
        self.httpd.plan[f"/{name}.gz"] = list(actions)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
