"""The local web server behind ``gamepit view``: a small JSON API, pushes, and the static page.

Standard library only (``http.server``): pushes are server-sent events, which are plain HTTP
responses that never end, so they need no web framework; request threads hand each stream to
one hub thread (``live.py``) and go back to answering requests. Routes:

- ``/`` and ``/static/NAME``: the page (``static/index.html``, ``viewer.js``, ``viewer.css``,
  ``plots.js``, ``play.js``).
- ``/api/replays?game=&agent=&result=``: the replay list with filters (see ``catalog.matches``).
- ``/api/replay?path=REL``: one replay with its moves, agent info and every board.
- ``/api/frame?path=REL&step=K``: PNG of the screen after K actions, for pixel games (Atari).
- ``/api/runs``, ``/api/run?path=REL``: training runs under ``--runs`` and their curves.
- ``/api/tournaments``, ``/api/tournament?ledger=I&name=N``: the ledgers given with
  ``--ledger`` and a tournament's standings.
- Pushes (``text/event-stream``): ``/api/live/replays`` (the list changed),
  ``/api/live/replay?path=REL`` (a replay grew), ``/api/live/runs`` (a run started or wrote),
  ``/api/live/run?path=REL``, ``/api/live/tournaments`` (any ledger changed),
  ``/api/live/tournament?ledger=I&name=N``, ``/api/play/events?id=ID&page=TOKEN`` (a game in
  this page; only the page that owns it may follow it, see ``play.py``).
- Play (``POST``, JSON bodies): ``/api/play/new``, ``move``, ``undo``, ``resign``, ``keys``;
  ``GET /api/play/options``, ``GET /api/play/state?id=ID&page=TOKEN`` (why a page may not
  follow a game). A POST must say ``Content-Type:
  application/json``, which a page on another site cannot send here without a CORS preflight
  this server never grants, and an ``Origin`` header, when sent, must be this server's.

Every path a request names is relative to the served folder and is resolved before use; one
that leaves the folder ('..', absolute, or a symlink pointing out) is refused with 403. The
server binds 127.0.0.1 unless told otherwise: it serves files, so it is not for open networks.

Under load and abuse (``benchmarks/viewer_abuse.py`` measures it): every request gets a status
line, 200 or a 4xx/5xx with a short JSON body, and a bug is one line on stderr, not a
traceback. Threads are bounded: a connection waits in one selector (no thread of its own)
until it has sent something, and only then goes to one of ``WORKERS`` threads; one that stays
silent ``IDLE_TIMEOUT`` seconds is closed, as is one that stalls that long mid-request or
mid-answer. The listen backlog holds ``BACKLOG`` connections, so a burst of hundreds waits its
turn instead of being dropped. Clients that hang up are not reported.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import selectors
import socket
import sys
import threading
import time
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from gamepit.errors import GamepitError, ReplayError
from gamepit.replay import SUFFIX, read_replay
from gamepit.viewer import charts
from gamepit.viewer.catalog import Catalog, is_regular_file, one_line, replay_files, within
from gamepit.viewer.live import MAX_STREAMS, FileSource, FolderSource, Hub, Source
from gamepit.viewer.play import FPS, GRACE, MAX_GAMES, PlayError, PlayTable
from gamepit.viewer.session import ReplaySession, json_safe

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
OPEN_SESSIONS = 6  # replays kept re-simulated at once (each may hold an emulator)
WORKERS = 16  # threads answering requests
IDLE_TIMEOUT = 10.0  # seconds a connection may stay silent (before or during its request)
BACKLOG = 1024  # connections the kernel queues before accepting (the kernel may cap it)
MAX_WAITING = 1000  # silent connections kept; past this the oldest are closed
MAX_BODY = 1 << 16  # bytes of a POST body


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")
_HEAD_READ = 1 << 17  # bytes read in the waiting room; a longer head goes to a worker as is
_TIMED_OUT = (b"HTTP/1.0 408 Request Timeout\r\nContent-Type: application/json\r\n"
              b"Content-Length: 43\r\nConnection: close\r\n\r\n"
              b'{"error":"408 the request did not arrive"}\n')


class _Prefixed(io.RawIOBase):
    """A socket read as a stream, with the bytes the waiting room already read first."""

    def __init__(self, prefix: bytes, connection: socket.socket) -> None:
        self._prefix, self._connection = memoryview(prefix), connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        return self._connection.recv_into(buffer)


class _WaitingRoom:
    """Accepted connections whose request has not fully arrived: one selector and one thread,
    however many there are. The room reads what each sends until the request's head (request
    line and headers) is complete, then hands the connection and those bytes to ``ready``, so a
    worker never waits on a slow or silent client. A connection that has not sent its head
    ``timeout`` seconds after it was accepted is closed (with a 408 if it sent part of one);
    past ``MAX_WAITING`` the oldest go."""

    def __init__(self, ready: Any, close: Any, timeout: float) -> None:
        self._ready, self._close, self._timeout = ready, close, timeout
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, None)
        self._arrivals: queue.SimpleQueue[tuple[socket.socket, Any]] = queue.SimpleQueue()
        # connection -> (deadline, address, bytes so far); oldest first, so deadlines in order
        self._waiting: dict[socket.socket, tuple[float, Any, bytearray]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gamepit-viewer-waiting",
                                        daemon=True)
        self._thread.start()

    def add(self, connection: socket.socket, address: Any) -> None:
        self._arrivals.put((connection, address))
        self._wake()

    def stop(self) -> None:
        self._stopped.set()
        self._wake()
        self._thread.join(timeout=5)

    def _wake(self) -> None:
        try:
            self._wake_out.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or already closed
            pass

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                wait = (next(iter(self._waiting.values()))[0] - time.monotonic()
                        if self._waiting else 1.0)
                for key, _ in self._selector.select(min(1.0, max(0.0, wait))):
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._read(key.fileobj)
                self._admit()
                now = time.monotonic()
                while self._waiting and (len(self._waiting) > MAX_WAITING
                                         or next(iter(self._waiting.values()))[0] <= now):
                    late = next(iter(self._waiting))
                    got = self._leave(late)[2]
                    if got:  # part of a request came: say why there is no answer
                        with contextlib.suppress(OSError):
                            late.send(_TIMED_OUT, getattr(socket, "MSG_DONTWAIT", 0))
                    self._close(late)
        finally:
            self._admit()
            for connection in list(self._waiting):
                self._leave(connection)
                self._close(connection)
            self._selector.close()
            self._wake_in.close()
            self._wake_out.close()

    def _read(self, connection: Any) -> None:
        """Take what ``connection`` sent (the selector says it will not block)."""
        got = self._waiting[connection][2]
        try:
            data = connection.recv(_HEAD_READ)
        except OSError:  # reset by the client
            self._leave(connection)
            self._close(connection)
            return
        got += data
        if not data and not got:  # hung up without a word
            self._leave(connection)
            self._close(connection)
        elif not data or len(got) >= _HEAD_READ or any(end in got for end in _HEAD_ENDS):
            _, address, _ = self._leave(connection)
            self._ready(connection, address, bytes(got))

    def _leave(self, connection: Any) -> tuple[float, Any, bytearray]:
        self._selector.unregister(connection)
        return self._waiting.pop(connection)

    def _admit(self) -> None:
        while True:
            try:
                connection, address = self._arrivals.get_nowait()
            except queue.Empty:
                return
            try:
                self._selector.register(connection, selectors.EVENT_READ, address)
            except (ValueError, OSError):  # closed already
                self._close(connection)
                continue
            self._waiting[connection] = (time.monotonic() + self._timeout, address, bytearray())

    def _drain_wake(self) -> None:
        try:
            while self._wake_in.recv(4096):
                pass
        except OSError:
            pass


def names_this_machine(host: str, port: int) -> bool:
    """Whether a ``Host`` header (or an origin's host) names this machine's loopback address
    on ``port``; browsers leave out port 80, HTTP's default."""
    names = ("127.0.0.1", "localhost", "[::1]")
    allowed = {f"{name}:{port}" for name in names} | (set(names) if port == 80 else set())
    return host.lower() in allowed


class ViewerServer(HTTPServer):
    """Serves one folder of replays. ``port=0`` takes any free port; see ``url``.
    ``idle_timeout``: seconds a connection may stay silent before it is closed.
    ``reconnect_grace``: seconds a game played in the browser waits for its page to come
    back (a reload, a dropped connection) before it ends as the person's forfeit."""

    request_queue_size = BACKLOG

    def __init__(self, folder: str | Path, registry: Any, host: str = "127.0.0.1",
                 port: int = 8765, idle_timeout: float = IDLE_TIMEOUT,
                 runs: str | Path | None = None, ledgers: list[str | Path] = (),
                 manager: Any = None, play_replays: str | Path | None | bool = True,
                 max_games: int = MAX_GAMES, fps: float = FPS,
                 reconnect_grace: float = GRACE) -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise GamepitError(f"view: {folder}: no such folder")
        self.root = root.resolve()
        self.registry = registry
        self.idle_timeout = idle_timeout
        self.catalog = Catalog(self.root)
        # A runs folder or ledger may not exist yet (the viewer started before the training or
        # the tournament): it is watched until it appears, and ``notes`` says so.
        self.notes: list[str] = []
        self.runs = None
        if runs is not None:
            path = Path(runs).expanduser()
            if path.exists() and not path.is_dir():
                raise GamepitError(f"view: --runs {runs}: not a folder")
            if not path.exists():
                if not path.parent.is_dir():
                    raise GamepitError(f"view: --runs {runs}: no such folder")
                self.notes.append(f"--runs {runs} does not exist yet; its runs appear once "
                                  "a training writes there")
            self.runs = path.resolve()
        self.ledgers = [Path(ledger).expanduser() for ledger in ledgers]
        for ledger in self.ledgers:
            if ledger.exists() and not is_regular_file(ledger):
                raise GamepitError(f"view: --ledger {ledger}: not a file")
            if not ledger.exists():
                if not ledger.parent.is_dir():
                    raise GamepitError(f"view: --ledger {ledger}: no such folder "
                                       f"{ledger.parent}")
                self.notes.append(f"--ledger {ledger} does not exist yet; its tournaments "
                                  "appear once a tournament writes it")
        self.hub = Hub()
        if manager is None:
            from gamepit.plugins.manager import get_manager

            manager = get_manager()
        # browser games are recorded into the served folder unless told otherwise
        recorded = self.root if play_replays is True else play_replays or None
        self.table = PlayTable(registry, manager, recorded, self.hub, max_games, fps,
                               reconnect_grace)
        self._sessions: OrderedDict[Path, tuple[tuple[float, int], ReplaySession]] = OrderedDict()
        self._sessions_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise GamepitError(f"view: cannot listen on {host}:{port}: {error.strerror}") from None
        except OverflowError:
            raise GamepitError(f"view: port {port} is out of range") from None
        self._jobs: queue.SimpleQueue[tuple[socket.socket, Any, bytes] | None] = \
            queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, name=f"gamepit-viewer-{i}",
                                          daemon=True) for i in range(WORKERS)]
        for worker in self._workers:
            worker.start()
        self._room = _WaitingRoom(lambda connection, address, head: self._jobs.put(
            (connection, address, head)), self.shutdown_request, idle_timeout)

    # socketserver calls process_request for each accepted connection, in the serving thread
    def process_request(self, request: Any, client_address: Any) -> None:
        self._room.add(request, client_address)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            request, address, head = job
            handler = None
            try:
                handler = _Handler(request, address, self, head)
            except Exception:  # noqa: BLE001 - reported by handle_error; the worker goes on
                self.handle_error(request, address)
            finally:
                if handler is None or not handler.detached:  # a stream lives on in the hub
                    self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up or stall are not news; anything else is one line."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or error is None:
            return
        print(f"gamepit viewer: error answering {client_address[0]}: "
              f"{type(error).__name__}: {one_line(str(error))}", file=sys.stderr, flush=True)

    def host_allowed(self, host_header: str) -> bool:
        """On a loopback address, only requests naming this machine: a web page elsewhere
        could otherwise point its own domain name at 127.0.0.1 (DNS rebinding) and read the
        replays through the visitor's browser."""
        host, port = self.server_address[:2]
        return host not in ("127.0.0.1", "::1") or names_this_machine(host_header, port)

    def origin_allowed(self, origin: str) -> bool:
        """A POST's ``Origin`` (when the browser sends one) must be this server's own page."""
        origin = origin.lower()
        return not origin or (origin.startswith("http://") and names_this_machine(
            origin.removeprefix("http://").rstrip("/"), self.server_address[1]))

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
        if hasattr(self, "table"):
            self.table.close()
            self.hub.stop()
        if hasattr(self, "_room"):
            self._room.stop()
            for _ in self._workers:
                self._jobs.put(None)
        with self._sessions_lock:
            for _, session in self._sessions.values():
                session.close()
            self._sessions.clear()
        super().server_close()

    def run_folder(self, relative: str) -> Path:
        """The run folder ``relative`` names under ``--runs``."""
        if self.runs is None:
            raise _Refused(HTTPStatus.NOT_FOUND, "no runs folder (start with --runs DIR)")
        metrics = charts.metrics_of(self.runs, relative) if relative else None
        if metrics is None:
            raise _Refused(HTTPStatus.FORBIDDEN, f"{relative!r} is outside the runs folder")
        if not is_regular_file(metrics):
            raise _Refused(HTTPStatus.NOT_FOUND, f"{relative!r}: no such run")
        return metrics.parent

    def ledger(self, index: str) -> Path:
        """The ledger given as ``--ledger`` number ``index``: pages name ledgers by number,
        never by path."""
        if index.isascii() and index.isdigit() and int(index) < len(self.ledgers):
            return self.ledgers[int(index)]
        raise _Refused(HTTPStatus.NOT_FOUND, f"no ledger {index!r}")

    def resolve(self, relative: str) -> Path:
        path = within(self.root, relative)
        if path is None:
            raise _Refused(HTTPStatus.FORBIDDEN, f"{relative!r} is outside the served folder")
        if path.suffix != SUFFIX or not is_regular_file(path):
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
            try:
                session = from_replay(relative, lambda: ReplaySession(
                    read_replay(path, allow_truncated=True), self.registry))
            except ReplayError:
                raise
            except GamepitError as error:  # a spec in its header the registry refuses
                raise ReplayError(f"{relative}: {error}") from None
            self._sessions[path] = (key, session)
            while len(self._sessions) > OPEN_SESSIONS:
                self._sessions.popitem(last=False)[1][1].close()
        if session.has_frames:
            threading.Thread(target=session.warm_up, daemon=True).start()
        return session


def from_replay(relative: str, work: Any) -> Any:
    """``work()``, with any failure that is not already a gamepit error reported as the
    replay's fault: a replay file is untrusted input, and whatever it holds (wrong types,
    missing fields, absurd numbers) must come back as one line, not a dropped connection."""
    try:
        return work()
    except (GamepitError, ConnectionError, TimeoutError):
        raise
    except Exception as error:  # noqa: BLE001 - see above
        raise ReplayError(f"{relative}: cannot be shown: {type(error).__name__}: "
                          f"{one_line(str(error))}") from None


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "gamepit-viewer"
    default_request_version = "HTTP/1.0"  # never HTTP/0.9's answers without a status line
    _answered = False
    detached = False  # the connection went to the hub (a stream): the worker must not close it

    def __init__(self, request: Any, client_address: Any, server: ViewerServer,
                 head: bytes = b"") -> None:
        self._head = head  # what the waiting room read: the request's first bytes
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # a stalled read or write ends the connection
        super().setup()
        if self._head:
            self.rfile.close()  # (an open file would keep the socket from closing)
            self.rfile = io.BufferedReader(_Prefixed(self._head, self.connection))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # quiet: the terminal shows the URL and errors, not every frame request

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def parse_request(self) -> bool:
        if not self.raw_requestline.strip():  # the base closes silently on an empty line
            self.command, self.requestline = None, ""
            self.request_version = self.default_request_version
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
            return False
        return super().parse_request()

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The base's errors (bad request lines, unknown methods, oversized headers) as a short
        JSON body like every other error here, instead of an HTML page."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._reply(code, "application/json", self._encode(
            {"error": f"{int(code)} {one_line(message or phrase)}"}), cache="no-store")

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self._answer(self._route)

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self._answer(self._post)

    def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
        """GET's headers without its body (``_reply`` leaves the body out); an event stream
        has no length to announce, so it is not offered to HEAD."""
        path = urlsplit(self.path).path
        if path.startswith("/api/live/") or path == "/api/play/events":
            self._answer(lambda: self._refuse_head())
        else:
            self._answer(self._route)

    def _refuse_head(self) -> None:
        raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, "an event stream answers GET only")

    def _answer(self, route: Any) -> None:
        try:
            route()
        except PlayError as error:
            self._error(HTTPStatus(error.status), str(error))
        except _Refused as refusal:
            self._error(refusal.status, str(refusal))
        except ReplayError as error:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(error))
        except GamepitError as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the page went away mid-answer (seeking cancels)
        except Exception as error:  # noqa: BLE001 - a bug still gets an answer and one line
            print(f"gamepit viewer: error answering GET {one_line(self.path)}: "
                  f"{type(error).__name__}: {one_line(str(error))}", file=sys.stderr, flush=True)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"internal error: {type(error).__name__}: {one_line(str(error))}")

    def _route(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if not self.server.host_allowed(self.headers.get("Host", "")):
            raise _Refused(HTTPStatus.FORBIDDEN, "this viewer answers only to its own "
                                                 "address (127.0.0.1 or localhost)")
        if parts.path in ("/", "/index.html"):
            self._static("index.html")
        elif parts.path.startswith("/static/"):
            self._static(parts.path[len("/static/"):])
        elif parts.path == "/api/replays":
            self._json(self.server.catalog.list(query.get("game", ""), query.get("agent", ""),
                                                query.get("result", "")))
        elif parts.path == "/api/replay":
            relative = query.get("path", "")
            session = self.server.session(relative)
            template = f"/api/frame?path={quote(relative)}&step={{step}}"
            self._json(from_replay(relative, lambda: session.describe(frame_url=template)))
        elif parts.path.startswith("/api/live/") or parts.path == "/api/play/events":
            self._stream(self._source(parts.path, query))
        elif parts.path == "/api/runs":
            runs = self.server.runs
            self._json({"root": str(runs) if runs else None, "exists": bool(runs and runs.is_dir()),
                        "runs": charts.list_runs(runs) if runs else []})
        elif parts.path == "/api/run":
            relative = query.get("path", "")
            self._json({"path": relative,
                        **charts.read_run(self.server.run_folder(relative))})
        elif parts.path == "/api/tournaments":
            ledgers = []
            for index, ledger in enumerate(self.server.ledgers):
                try:
                    ledgers.append({"ledger": index, "path": str(ledger),
                                    "tournaments": charts.list_tournaments(ledger)})
                except GamepitError as error:
                    ledgers.append({"ledger": index, "path": str(ledger), "error": str(error),
                                    "tournaments": []})
            self._json({"ledgers": ledgers})
        elif parts.path == "/api/tournament":
            ledger = self.server.ledger(query.get("ledger", ""))
            self._json(charts.standings(ledger, query.get("name", "")))
        elif parts.path == "/api/play/state":
            self._json(self.server.table.get(query.get("id", "")).describe(
                query.get("page") or None))
        elif parts.path == "/api/play/options":
            table = self.server.table
            agents = [name for name in self.server.registry.names("agent") if name != "human"]
            self._json({"games": self.server.registry.names("game"), "agents": agents,
                        "limit": table.limit, "fps": table.fps})
        elif parts.path == "/api/frame":
            relative = query.get("path", "")
            session = self.server.session(relative)
            try:
                step = int(query.get("step", "0"))
            except ValueError:
                raise _Refused(HTTPStatus.BAD_REQUEST, "step must be a whole number") from None
            png = from_replay(relative, lambda: session.frame_png(step))
            self._send(HTTPStatus.OK, "image/png", png, cache="max-age=3600")
        else:
            raise _Refused(HTTPStatus.NOT_FOUND, f"no such page: {parts.path}")

    def _source(self, path: str, query: dict[str, str]) -> Source:
        """What the stream at ``path`` reports."""
        server = self.server
        if path == "/api/live/replays":
            return FolderSource(lambda: replay_files(server.root))
        if path == "/api/live/replay":
            relative = query.get("path", "")
            return FileSource([server.resolve(relative)], lambda: {"path": relative})
        if path == "/api/live/runs":  # the list of runs (one may start after the page)
            if server.runs is None:
                raise _Refused(HTTPStatus.NOT_FOUND, "no runs folder (start with --runs DIR)")
            return FolderSource(lambda: [folder / charts.METRICS
                                         for folder in charts.run_folders(server.runs)])
        if path == "/api/live/tournaments":  # every ledger (one may be created after the page)
            return FileSource([file for ledger in server.ledgers for file in
                               (ledger, ledger.with_name(ledger.name + "-wal"))], dict)
        if path == "/api/live/run":
            relative = query.get("path", "")
            return FileSource([server.run_folder(relative) / charts.METRICS],
                              lambda: {"path": relative})
        if path == "/api/live/tournament":
            ledger = server.ledger(query.get("ledger", ""))
            wal = ledger.with_name(ledger.name + "-wal")  # WAL mode: commits land here first
            return FileSource([ledger, wal], lambda: {"ledger": query.get("ledger")})
        if path == "/api/play/events":  # only the page that owns the game (play.py)
            return server.table.get(query.get("id", "")).attach(query.get("page") or None)
        raise _Refused(HTTPStatus.NOT_FOUND, f"no such stream: {path}")

    def _stream(self, source: Source) -> None:
        """Answer with an event stream and hand the connection to the hub."""
        if self.server.hub.count >= MAX_STREAMS:
            source.closed()
            raise _Refused(HTTPStatus.SERVICE_UNAVAILABLE, "too many open streams")
        self._answered = True
        self.close_connection = True
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
        except BaseException:  # the page left already: its source ends (a game is recorded)
            source.closed()
            raise
        if self.server.hub.add(self.connection, source):
            self.detached = True
            if hasattr(source, "start"):
                source.start()
        else:
            source.closed()

    def _read_body(self, length: int) -> bytes:
        """The request's body, all of it within ``idle_timeout`` seconds: a client that sends
        one byte every few seconds would otherwise hold this worker as long as it likes."""
        deadline = time.monotonic() + self.server.idle_timeout
        chunks, got = [], 0
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(65536, length - got))
                if not chunk:
                    raise _Refused(HTTPStatus.BAD_REQUEST, "the body ended early")
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:
            self.close_connection = True
            raise _Refused(HTTPStatus.REQUEST_TIMEOUT, "the request's body took longer than "
                           f"{self.server.idle_timeout:g} s to arrive") from None
        finally:
            self.connection.settimeout(self.timeout)
        return b"".join(chunks)

    def _post(self) -> None:
        parts = urlsplit(self.path)
        if not self.server.host_allowed(self.headers.get("Host", "")):
            raise _Refused(HTTPStatus.FORBIDDEN, "this viewer answers only to its own "
                                                 "address (127.0.0.1 or localhost)")
        if not self.server.origin_allowed(self.headers.get("Origin", "")):
            raise _Refused(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON "
                           "(Content-Type: application/json)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required") from None
        if not 0 <= length <= MAX_BODY:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a body is at most {MAX_BODY} "
                                                                "bytes")
        try:
            body = json.loads(self._read_body(length) or b"{}")
        except (ValueError, RecursionError):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        table = self.server.table
        if parts.path == "/api/play/new":
            game = table.new(_text(body, "game"), _text(body, "agent", "random"),
                             _whole(body, "seat", 0), body.get("seed") and _whole(body, "seed"),
                             _text(body, "page") if "page" in body else None)
            self._json({"id": game.id})
            return
        game = table.get(_text(body, "id"))
        if parts.path == "/api/play/move":
            game.move(_whole(body, "action"))
        elif parts.path == "/api/play/undo":
            game.undo()
        elif parts.path == "/api/play/resign":
            game.resign()
        elif parts.path == "/api/play/keys":
            keys = body.get("keys", [])
            if not isinstance(keys, list):
                raise _Refused(HTTPStatus.BAD_REQUEST, "keys must be a list")
            game.hold(keys)
        else:
            raise _Refused(HTTPStatus.NOT_FOUND, f"no such page: {parts.path}")
        self._json({"ok": True})

    def _static(self, name: str) -> None:
        path = within(STATIC, name)
        if path is None or not is_regular_file(path):
            raise _Refused(HTTPStatus.NOT_FOUND if path else HTTPStatus.FORBIDDEN,
                           f"no such file: {name}")
        kind = _TYPES.get(path.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, kind, path.read_bytes(), cache="no-cache")

    @staticmethod
    def _encode(data: Any) -> bytes:
        try:
            text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
        except ValueError:  # NaN or infinity somewhere in a replay: as strings
            text = json.dumps(json_safe(data), separators=(",", ":"), allow_nan=False,
                              default=str)
        return text.encode("utf-8")

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, "application/json", self._encode(data), cache="no-store")

    def _error(self, status: HTTPStatus, message: str) -> None:
        """A short JSON error, unless an answer has begun (then the connection just ends)."""
        self.close_connection = True
        if self._answered:
            return
        try:
            self._json({"error": one_line(message)}, status)
        except (ConnectionError, TimeoutError):
            pass

    def _send(self, status: HTTPStatus, kind: str, body: bytes, cache: str) -> None:
        self._answered = True
        self._reply(status, kind, body, cache)

    def _reply(self, status: int, kind: str, body: bytes, cache: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and status >= 200 and status not in (204, 304):
            self.wfile.write(body)


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value or len(value) > 500:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{key!r} must be a short string")
    return value


def _whole(body: dict[str, Any], key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{key!r} must be a whole number")
    return value
