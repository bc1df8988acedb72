"""Pushes to open pages: server-sent events (SSE) for games in progress, runs and tournaments.

A page opens ``EventSource(URL)``; the request thread answers with the SSE head and hands the
connection to the one ``Hub`` thread, so a hundred watching pages hold no request threads.
Each stream has a ``Source``: something the hub asks, every ``INTERVAL`` seconds or at once
when woken (``Hub.wake``, used by games played in the browser), for the events that happened
since it last asked. Watching a file is a ``FileSource``: it compares the file's size and
modification time (a recorder flushes a replay line per step, a tournament commits a ledger row
per game), so the page is told within ``INTERVAL`` of a change and then fetches what it shows
through the ordinary JSON API. The page does not poll; the server looks at a few file stats.

A client that goes away is noticed when its socket reads end-of-file or a write fails, and its
source's ``closed()`` is called (a game played in that tab waits a while for the tab to come
back). A client that does not read its stream is dropped once ``MAX_BUFFER`` bytes wait for
it. Comments every ``KEEPALIVE`` seconds find dead connections behind idle ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INTERVAL = 0.05  # seconds between looks at watched files
KEEPALIVE = 15.0  # seconds between comments on an idle stream
MAX_STREAMS = 200  # open streams per server; past this a new one is refused with 503
MAX_BUFFER = 8 << 20  # bytes waiting for a client that does not read; past this it is dropped


class Source:
    """What a stream reports. ``poll`` returns the events (JSON-ready dicts) since the last
    call; ``closed`` is called once when the client goes away. A source that has said all it
    will sets ``done``: the hub sends what it returned and closes the stream."""

    done = False

    def poll(self) -> list[dict[str, Any]]:
        return []

    def closed(self) -> None:
        pass


def signature(*paths: Path) -> tuple[tuple[int, int], ...]:
    """(size, modification time in ns) of each file, (-1, -1) for a missing one."""
    marks = []
    for path in paths:
        try:
            info = os.stat(path)
            marks.append((info.st_size, info.st_mtime_ns))
        except OSError:
            marks.append((-1, -1))
    return tuple(marks)


class FileSource(Source):
    """One event ``{"type": "changed", **describe()}`` whenever any of ``paths`` changes (and
    one at the start). ``describe`` says what the page needs to decide whether to fetch."""

    def __init__(self, paths: list[Path], describe: Callable[[], dict[str, Any]]) -> None:
        self.paths, self.describe = paths, describe
        self._seen: tuple[tuple[int, int], ...] | None = None

    def poll(self) -> list[dict[str, Any]]:
        now = signature(*self.paths)
        if now == self._seen:
            return []
        self._seen = now
        return [{"type": "changed", **self.describe()}]


class FolderSource(Source):
    """One event when the set of files that ``files()`` lists, or any of their sizes and
    times, changes: the replay list grows and shrinks as matches start and end. Looked at
    every ``every`` seconds, since a folder may hold thousands of files."""

    def __init__(self, files: Callable[[], list[Path]], every: float = 0.5) -> None:
        self.files, self.every = files, every
        self._seen: Any = None
        self._next = 0.0

    def poll(self) -> list[dict[str, Any]]:
        if time.monotonic() < self._next:
            return []
        self._next = time.monotonic() + self.every
        found = self.files()
        now = (tuple(found), signature(*found))
        if now == self._seen:
            return []
        self._seen = now
        return [{"type": "changed", "files": len(found)}]


class _Stream:
    def __init__(self, connection: socket.socket, source: Source) -> None:
        self.connection, self.source = connection, source
        self.pending = bytearray()
        self.last_sent = time.monotonic()


def encode(event: dict[str, Any]) -> bytes:
    """One SSE message: ``data:`` and the event as one line of JSON."""
    return b"data: " + json.dumps(event, separators=(",", ":"), allow_nan=False,
                                  default=str).encode("utf-8") + b"\n\n"


class Hub:
    """Every open stream of one server, served by one thread."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, None)
        self._streams: dict[socket.socket, _Stream] = {}
        self._arrivals: list[_Stream] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gamepit-viewer-hub",
                                        daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._streams) + len(self._arrivals)

    def add(self, connection: socket.socket, source: Source) -> bool:
        """Take over ``connection`` (its SSE head already sent); False when full (the caller
        still owns it then)."""
        with self._lock:
            if len(self._streams) + len(self._arrivals) >= MAX_STREAMS:
                return False
            self._arrivals.append(_Stream(connection, source))
        self.wake()
        return True

    def wake(self) -> None:
        """Ask every source now rather than at the next tick."""
        with contextlib.suppress(OSError):
            self._wake_out.send(b"\0")

    def stop(self) -> None:
        self._stopped.set()
        self.wake()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                for key, _ in self._selector.select(self.interval):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            while self._wake_in.recv(4096):
                                pass
                    else:  # a stream's client sent something: end-of-file when it left
                        self._check_alive(key.data)
                self._admit()
                now = time.monotonic()
                for stream in list(self._streams.values()):
                    try:
                        events = stream.source.poll()
                    except Exception as error:  # noqa: BLE001 - a broken source ends its stream
                        events = [{"type": "error", "error": f"{type(error).__name__}: {error}"}]
                        self._drop(stream)
                        continue
                    for event in events:
                        stream.pending += encode(event)
                    if not stream.pending and now - stream.last_sent > KEEPALIVE:
                        stream.pending += b": keep-alive\n\n"
                    self._flush(stream, now)
                    if stream.source.done and stream.connection in self._streams:
                        self._drop(stream)  # (unless the flush dropped it already)
        finally:
            self._admit()
            for stream in list(self._streams.values()):
                self._drop(stream)
            self._selector.close()
            self._wake_in.close()
            self._wake_out.close()

    def _admit(self) -> None:
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
        for stream in arrivals:
            try:
                stream.connection.setblocking(False)
                self._selector.register(stream.connection, selectors.EVENT_READ, stream)
            except (ValueError, OSError):
                self._drop(stream, registered=False)
                continue
            with self._lock:
                self._streams[stream.connection] = stream

    def _check_alive(self, stream: _Stream) -> None:
        try:
            data = stream.connection.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(stream)

    def _flush(self, stream: _Stream, now: float) -> None:
        if not stream.pending:
            return
        try:
            sent = stream.connection.send(stream.pending)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(stream)
            return
        del stream.pending[:sent]
        if sent:
            stream.last_sent = now
        if len(stream.pending) > MAX_BUFFER:
            self._drop(stream)

    def _drop(self, stream: _Stream, registered: bool = True) -> None:
        with self._lock:
            self._streams.pop(stream.connection, None)
        if registered:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(stream.connection)
        with contextlib.suppress(OSError):
            stream.connection.close()
        try:
            stream.source.closed()
        except Exception:  # noqa: BLE001, S110 - a source's cleanup must not stop the hub
            pass
