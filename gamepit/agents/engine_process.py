"""An outside engine's process (GnuGo, Pachi, Stockfish...), shared by the ``gtp`` and ``uci``
agents: started from a command line without a shell, spoken to one line at a time, every read
bounded by a deadline, and always ended with its whole process group.

How the process is kept from outliving gamepit:

- it runs in a session of its own, so Ctrl-C at the terminal reaches gamepit only, and
  ``stop`` ends the engine and any children it started (``killpg``: SIGTERM, then SIGKILL);
- every live engine is stopped at interpreter exit (``atexit``), also after Ctrl-C;
- on Linux it is started with a parent-death signal (SIGKILL) from one launcher thread that
  lives as long as the process, so a ``kill -9`` of gamepit ends the engine too; and an engine
  whose stdin closes (its parent is gone) ends by itself, as GTP and UCI engines do.

A program is found on ``PATH``, beside the Python that runs gamepit (``.venv/bin``, where
``make engines`` builds Pachi) or in ``/usr/games`` (where Debian puts gnugo and stockfish); one
that is not installed is a one-line ``SpecError`` that says how to install it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import queue
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from gamepit.errors import SpecError
from gamepit.protocols import Agent, Resign
from gamepit.specs import check_engine_allowed

# How to install the engines people name most; any other program gets a generic hint.
# Debian has no Pachi (its "pachi" is a platform game): make builds it from source.
HINTS = {"gnugo": "apt-get install gnugo", "stockfish": "apt-get install stockfish",
         "pachi": "make engines builds it into .venv/bin (Debian's pachi is another program)",
         "fairy-stockfish": "apt-get install fairy-stockfish", "fruit": "apt-get install fruit",
         "crafty": "apt-get install crafty", "leela-zero": "apt-get install leela-zero",
         "katago": "apt-get install katago"}
EXTRA_DIRS = (os.path.dirname(sys.executable), "/usr/games", "/usr/local/games")
LINE_LIMIT = 1 << 16  # bytes in one line of an engine's answer: more is garbage


class EngineError(Resign):
    """The engine crashed, hung past its deadline or answered garbage; the text says which.
    The agent that drives it forfeits the game with this text as the reason (a ``Resign``:
    the arena records its message as it is)."""


def command_line(cmd: str, protocol: str) -> list[str]:
    """The argument list of an engine's command, with its program found on ``PATH`` or in
    ``/usr/games``; ``SpecError`` (one line) for an empty, unparsable or missing one, or one
    not granted (``specs.check_engine_allowed``)."""
    try:
        argv = shlex.split(cmd)
    except ValueError as error:
        raise SpecError(f"{protocol}: cannot read cmd={cmd!r}: {error}") from None
    if not argv:
        raise SpecError(f"{protocol}: name the engine's command, e.g. "
                        f"{protocol}:cmd='gnugo --mode gtp --level 1'")
    program = argv[0]
    path = shutil.which(program) or shutil.which(program, path=os.pathsep.join(EXTRA_DIRS))
    if path is None:
        name = os.path.basename(program)
        hint = HINTS.get(name, "install it or give its full path")
        raise SpecError(f"{name}: not found; {hint}")
    check_engine_allowed(os.path.basename(program), protocol)
    return [path, *argv[1:]]


# --------------------------------------------------------------------------- starting


def _prctl() -> Any:
    """libc's prctl, looked up here in the parent: a child between fork and exec must not load
    libraries (another thread may have held the loader's lock at the fork)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl() if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In the child before exec: SIGKILL when the thread that started it ends (Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_LAUNCHES: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
_LAUNCHER: list[threading.Thread] = []
_LIVE: weakref.WeakSet[EngineProcess] = weakref.WeakSet()
_LOCK = threading.Lock()


def _launcher() -> None:
    while True:
        start, answer = _LAUNCHES.get()
        try:
            answer.put(("ok", start()))
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            answer.put(("error", error))


def _launch(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` from the launcher thread: the parent-death signal follows the thread that
    forked, and that thread lives as long as this process (a move's watcher thread does not)."""
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_parent if _PRCTL is not None else None)

    with _LOCK:
        if not _LAUNCHER:
            _LAUNCHER.append(threading.Thread(target=_launcher, name="gamepit engines",
                                              daemon=True))
            _LAUNCHER[0].start()
    answer: queue.Queue[Any] = queue.Queue()
    _LAUNCHES.put((start, answer))
    kind, value = answer.get(timeout=30)
    if kind == "error":
        raise value
    return value


@atexit.register
def stop_all() -> None:
    """Stop every engine still running (at exit, after Ctrl-C, when a test ends)."""
    for engine in list(_LIVE):
        engine.stop()


# --------------------------------------------------------------------------- talking


class EngineProcess:
    """One running engine: ``send`` a line, ``read_line`` with a deadline, ``stop``. A dead
    or silent engine raises ``EngineError``; ``stop`` may be called any number of times."""

    def __init__(self, argv: list[str], name: str) -> None:
        self.name = name
        try:
            self.process = _launch(argv)
        except OSError as error:
            raise SpecError(f"{name}: cannot start {argv[0]}: {error.strerror or error}"
                            ) from None
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        _LIVE.add(self)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise EngineError(self._ended()) from None

    def read_line(self, deadline: float) -> str:
        """The next line the engine writes (without its newline), waiting until ``deadline``
        (a ``time.monotonic()`` value) at most."""
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineError(f"{self.name} gave no answer in time")
            if not self._selector.select(left):
                continue
            try:
                chunk = os.read(self.process.stdout.fileno(), 65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise EngineError(self._ended())
            self._buffer += chunk
            if len(self._buffer) > LINE_LIMIT and b"\n" not in self._buffer:
                raise EngineError(f"{self.name} answered a line over {LINE_LIMIT} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")

    def _ended(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return f"{self.name} closed its output"
        try:
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        except ValueError:  # a signal Python has no name for (a real-time one)
            how = f"killed by signal {-code}"
        return f"{self.name} ended ({how})"

    def stop(self, grace: float = 1.0) -> None:
        """End the engine and its process group: SIGTERM, then SIGKILL after ``grace``."""
        process = self.process
        if process.returncode is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # children that left the group's leader behind
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._selector.close()
        _LIVE.discard(self)


# --------------------------------------------------------------------------- the agents' base


class EngineAgent(Agent):
    """What the ``gtp`` and ``uci`` agents share: the engine started once (at build time, so a
    command that is not such an engine is a one-line error before any game), restarted at the
    next game after a fault, and stopped on ``close``.

    The arena hands the match's move time to an agent that ``kills_on_timeout`` (it sets
    ``move_time`` before each move); the engine gets until then to answer, or ``timeout``
    seconds where the match sets no move time, and is killed if it does not answer, so a hung
    engine costs its game and never a thread.
    """

    kills_on_timeout = True
    protocol = ""
    START_TIMEOUT = 20.0

    def __init__(self, cmd: str = "", timeout: float = 60.0) -> None:
        self.argv = command_line(cmd, self.protocol)
        self.label = os.path.basename(self.argv[0])
        self.timeout = timeout
        self.move_time: float | None = None
        self.engine: EngineProcess | None = None
        try:
            self.ensure_started()
        except EngineError as error:
            self.close()
            raise SpecError(f"{self.protocol}: {shlex.join(self.argv)} is not a working "
                            f"{self.protocol.upper()} engine: {error}") from None

    def ensure_started(self) -> EngineProcess:
        if self.engine is None or not self.engine.alive:
            self.close()
            self.engine = EngineProcess(self.argv, self.label)
            self.handshake(time.monotonic() + self.START_TIMEOUT)
        return self.engine

    def handshake(self, deadline: float) -> None:
        """The protocol's opening exchange (GTP's protocol_version, UCI's uci/uciok)."""
        raise NotImplementedError

    def move_deadline(self) -> float:
        limit = self.move_time if self.move_time is not None else self.timeout
        return time.monotonic() + limit

    def fault(self, error: BaseException) -> EngineError:
        """Stop the engine after a fault (the next game starts a fresh one) and return the
        error to raise: a killed engine is never left half-way through an answer."""
        self.close()
        return error if isinstance(error, EngineError) else EngineError(str(error))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
