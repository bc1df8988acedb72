"""The local web server behind ``gamepit view``: a small JSON API and the static page.

Standard library only (``http.server``), so watching replays needs no web framework. Routes:

- ``/`` and ``/static/NAME``: the page (``static/index.html``, ``viewer.js``, ``viewer.css``).
- ``/api/replays?game=&agent=&result=``: the replay list with filters (see ``catalog.matches``).
- ``/api/replay?path=REL``: one replay with its moves, agent info and every board.
- ``/api/frame?path=REL&step=K``: PNG of the screen after K actions, for pixel games (Atari).

Every path a request names is relative to the served folder and is resolved before use; one
that leaves the folder ('..', absolute, or a symlink pointing out) is refused with 403. The
server binds 127.0.0.1 unless told otherwise: it serves files, so it is not for open networks.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from gamepit.errors import GamepitError, ReplayError
from gamepit.replay import SUFFIX, read_replay
from gamepit.viewer.catalog import Catalog, within
from gamepit.viewer.session import ReplaySession

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
OPEN_SESSIONS = 6  # replays kept re-simulated at once (each may hold an emulator)


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ViewerServer(ThreadingHTTPServer):
    """Serves one folder of replays. ``port=0`` takes any free port; see ``url``."""

    daemon_threads = True

    def __init__(self, folder: str | Path, registry: Any, host: str = "127.0.0.1",
                 port: int = 8765) -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise GamepitError(f"view: {folder}: no such folder")
        self.root = root.resolve()
        self.registry = registry
        self.catalog = Catalog(self.root)
        self._sessions: OrderedDict[Path, tuple[tuple[float, int], ReplaySession]] = OrderedDict()
        self._sessions_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise GamepitError(f"view: cannot listen on {host}:{port}: {error.strerror}") from None

    def host_allowed(self, host_header: str) -> bool:
        """On a loopback address, only requests naming this machine: a web page elsewhere
        could otherwise point its own domain name at 127.0.0.1 (DNS rebinding) and read the
        replays through the visitor's browser."""
        host, port = self.server_address[:2]
        if host not in ("127.0.0.1", "::1"):
            return True
        names = ("127.0.0.1", "localhost", "[::1]")
        return host_header.lower() in {f"{name}:{port}" for name in names}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests, benchmarks); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="gamepit-viewer", daemon=True)
        thread.start()
        return thread

    def server_close(self) -> None:
        with self._sessions_lock:
            for _, session in self._sessions.values():
                session.close()
            self._sessions.clear()
        super().server_close()

    def resolve(self, relative: str) -> Path:
        path = within(self.root, relative)
        if path is None:
            raise _Refused(HTTPStatus.FORBIDDEN, f"{relative!r} is outside the served folder")
        if path.suffix != SUFFIX or not path.is_file():
            raise _Refused(HTTPStatus.NOT_FOUND, f"{relative!r}: no such replay")
        return path

    def session(self, relative: str) -> ReplaySession:
        """The opened replay ``relative``, re-used while its file is unchanged. Pixel games get
        a background warm-up that leaves snapshots for fast seeking."""
        path = self.resolve(relative)
        stat = path.stat()
        key = (stat.st_mtime, stat.st_size)
        with self._sessions_lock:
            cached = self._sessions.get(path)
            if cached is not None and cached[0] == key:
                self._sessions.move_to_end(path)
                return cached[1]
            if cached is not None:  # the file changed: start again from the new one
                cached[1].close()
            session = ReplaySession(read_replay(path, allow_truncated=True), self.registry)
            self._sessions[path] = (key, session)
            while len(self._sessions) > OPEN_SESSIONS:
                self._sessions.popitem(last=False)[1][1].close()
        if session.has_frames:
            threading.Thread(target=session.warm_up, daemon=True).start()
        return session


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "gamepit-viewer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # quiet: the terminal shows the URL and errors, not every frame request

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            if not self.server.host_allowed(self.headers.get("Host", "")):
                raise _Refused(HTTPStatus.FORBIDDEN, "this viewer answers only to its own "
                                                     "address (127.0.0.1 or localhost)")
            if parts.path in ("/", "/index.html"):
                self._static("index.html")
            elif parts.path.startswith("/static/"):
                self._static(parts.path[len("/static/"):])
            elif parts.path == "/api/replays":
                self._json(self.server.catalog.list(query.get("game", ""),
                                                    query.get("agent", ""),
                                                    query.get("result", "")))
            elif parts.path == "/api/replay":
                relative = query.get("path", "")
                session = self.server.session(relative)
                template = f"/api/frame?path={quote(relative)}&step={{step}}"
                self._json(session.describe(frame_url=template))
            elif parts.path == "/api/frame":
                session = self.server.session(query.get("path", ""))
                try:
                    step = int(query.get("step", "0"))
                except ValueError:
                    raise _Refused(HTTPStatus.BAD_REQUEST, "step must be a whole number") from None
                self._send(HTTPStatus.OK, "image/png", session.frame_png(step),
                           cache="max-age=3600")
            else:
                raise _Refused(HTTPStatus.NOT_FOUND, f"no such page: {parts.path}")
        except _Refused as refusal:
            self._json({"error": str(refusal)}, refusal.status)
        except ReplayError as error:
            self._json({"error": str(error)}, HTTPStatus.UNPROCESSABLE_ENTITY)
        except GamepitError as error:
            self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away mid-answer (seeking fast cancels frame requests)

    def _static(self, name: str) -> None:
        path = within(STATIC, name)
        if path is None or not path.is_file():
            raise _Refused(HTTPStatus.NOT_FOUND if path else HTTPStatus.FORBIDDEN,
                           f"no such file: {name}")
        kind = _TYPES.get(path.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, kind, path.read_bytes(), cache="no-cache")

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False,
                          default=str).encode("utf-8")
        self._send(status, "application/json", body, cache="no-store")

    def _send(self, status: HTTPStatus, kind: str, body: bytes, cache: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)
