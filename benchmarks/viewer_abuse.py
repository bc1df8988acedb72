"""The replay viewer under load and abuse: a real ``gamepit view`` process on a loopback port,
and a client that tries to break it.

Phases, each against the same server process:

- ``burst``: N concurrent GETs (the replay list and one replay, alternately), all sent at once;
- ``idle``: N connections opened and left idle (half of them send nothing, half an unfinished
  request), held ``--hold`` seconds (longer than the viewer's idle timeout, so a server that
  closes idle connections shows it), then closed, half of them abruptly (TCP reset);
- ``hostile``: long paths, 30-digit numbers in the query and in headers, bad methods,
  malformed request lines, non-UTF-8 bytes, oversized lines, replays with absurd headers,
  and clients that hang up before reading their answer;
- ``fifo``: a FIFO named ``*.jsonl`` appears in the folder, then the list is asked for (a
  server that opens it waits forever for a writer); last, since it may wedge the list.

For each phase the table shows requests sent, answered (a status line came back), the status
counts, tracebacks that appeared on the server's stderr, and the server's threads (from
``/proc``): the most seen while the phase ran and the number alive after it.

Run: ``python benchmarks/viewer_abuse.py`` (about 30 s; ``--concurrent``, ``--idle``,
``--hold`` to change the sizes). ``tests/test_viewer.py`` runs a smaller copy and fails on
any unanswered request, traceback or leaked thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gamepit.arena import MatchSettings, play_match
from gamepit.plugins.manager import PluginManager

TRACEBACK = "Traceback (most recent call last)"
THIRTY_DIGITS = "9" * 30


# --------------------------------------------------------------------------- the folder


def hears_ctrl_c() -> None:
    """Popen's preexec_fn: the server stops on SIGINT even where this script's own Ctrl-C is
    ignored (a background job), which a child would otherwise inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_folder(root: Path) -> str:
    """Real replays (tic-tac-toe, connect four); returns the name of a tic-tac-toe one."""
    manager = PluginManager(autoload=False)
    registry = manager.registry
    ttt = registry.make_game("tictactoe")
    for seed in range(2):
        play_match(ttt, [registry.make_agent("random"), registry.make_agent("random")], seed,
                   ["random", "random"],
                   settings=MatchSettings(replay_dir=str(root), manager=manager))
    c4 = registry.make_game("connect_four")
    play_match(c4, [registry.make_agent("random"), registry.make_agent("random")], 7,
               ["random", "random"],
               settings=MatchSettings(replay_dir=str(root / "nested"), manager=manager))
    return sorted(root.glob("*tictactoe*.jsonl"))[0].name


def add_bad_files(root: Path, good: str) -> dict[str, str]:
    """Bad replays beside the good ones: malformed JSON, not UTF-8, wrong types, a game spec
    with a 30-digit option, a missing seed, a dangling symlink. Returns names the hostile
    phase asks for."""
    lines = (root / good).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])

    def variant(name: str, **changes: object) -> str:
        changed = {**header, **changes}
        for key in [k for k, v in changes.items() if v is None]:
            changed.pop(key)
        (root / name).write_text("\n".join([json.dumps(changed), *lines[1:]]) + "\n",
                                 encoding="utf-8")
        return name

    (root / "bad_json.jsonl").write_text("{this is not json\n", encoding="utf-8")
    (root / "bad_utf8.jsonl").write_bytes(b"\xff\xfe\xfd\n")
    return {
        "good": good,
        "huge_option": variant("huge_option.jsonl", game=f"go:max_moves={THIRTY_DIGITS}"),
        "game_number": variant("game_number.jsonl", game=5, agents=7),
        "no_seed": variant("no_seed.jsonl", seed=None),
        "seed_text": variant("seed_text.jsonl", seed="x" * 40),
        "dangling": _dangling(root),
    }


def _dangling(root: Path) -> str:
    (root / "dangling.jsonl").symlink_to(root / "no-such-file")
    return "dangling.jsonl"


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    """``gamepit view`` in a process of its own, its stderr kept in a file."""

    folder: Path
    idle_timeout: float = 10.0
    process: subprocess.Popen = field(init=False)
    url: str = field(init=False)
    stderr_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.stderr_path = self.folder.parent / "server-stderr.txt"
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gamepit", "view", str(self.folder), "--port", "0",
             "--no-browser", "--idle-timeout", str(self.idle_timeout)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, preexec_fn=hears_ctrl_c)
        line = self.process.stdout.readline()
        if " at " not in line:
            self.stop()
            raise RuntimeError("the viewer did not start: " + line + self.stderr())
        self.url = line.split(" at ")[1].split()[0]
        host, port = self.url.split("//")[1].rstrip("/").rsplit(":", 1)
        self.host, self.port = host.strip("[]"), int(port)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def tracebacks(self) -> int:
        return self.stderr().count(TRACEBACK)

    def threads(self) -> int:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return -1
        return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a thread stuck on a FIFO keeps it up
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode


class ThreadWatch:
    """The most threads the server had while a phase ran (sampled every 50 ms)."""

    def __init__(self, server: Server) -> None:
        self.server, self.peak, self._stop = server, server.threads(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.server.threads())

    def __enter__(self) -> ThreadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- the client


async def exchange(host: str, port: int, payload: bytes, timeout: float,
                   hang_up: bool = False) -> str:
    """Send ``payload`` on a fresh connection; the status code answered, or what went wrong
    ('no answer': the server closed without a status line; 'timeout'; 'refused')."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return "refused"
    try:
        writer.write(payload)
        await writer.drain()
        if hang_up:  # gone before the answer: the server's write meets a reset
            _reset(writer)
            return "hung up"
        line = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)  # the body, to the end
    except asyncio.TimeoutError:
        return "timeout"
    except OSError:
        return "reset"
    finally:
        writer.close()
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", line)
    return match.group(1).decode() if match else "no answer"


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def get(host: str, port: int, target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def burst(server: Server, count: int, timeout: float = 60.0) -> list[str]:
    good = quote(_first_good(server.folder))
    targets = ["/api/replays", f"/api/replay?path={good}"]

    async def run() -> list[str]:
        return await asyncio.gather(*(
            exchange(server.host, server.port, get(server.host, server.port,
                                                   targets[i % 2]), timeout)
            for i in range(count)))

    return asyncio.run(run())


def _first_good(folder: Path) -> str:
    return sorted(p.name for p in folder.glob("*tictactoe*.jsonl"))[0]


def idle(server: Server, count: int, hold: float) -> dict[str, Any]:
    """Open ``count`` idle connections, hold them, close them; how many the server closed
    first, and its threads while they were open."""

    async def run() -> dict[str, int]:
        pairs = []
        for i in range(count):
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(server.host, server.port), 30)
            except (OSError, asyncio.TimeoutError):
                continue
            if i % 2:
                writer.write(b"GET /api/replays HTTP/1.1\r\nHost: 127.0.0.1")
            pairs.append((reader, writer))
        await asyncio.sleep(1.0)
        held_threads = server.threads()
        started = time.perf_counter()
        while_held = await exchange(server.host, server.port,
                                    get(server.host, server.port, "/api/replays"), 30)
        seconds = time.perf_counter() - started
        await asyncio.sleep(max(0.0, hold - 1.0 - seconds))
        closed_by_server = 0
        for reader, _ in pairs:
            try:
                data = await asyncio.wait_for(reader.read(1 << 16), 0.01)
                closed_by_server += reader.at_eof() or bool(data)
            except asyncio.TimeoutError:
                pass
            except OSError:
                closed_by_server += 1
        for i, (_, writer) in enumerate(pairs):
            if i % 4 == 0:
                _reset(writer)
            else:
                writer.close()
        await asyncio.sleep(1.0)
        return {"opened": len(pairs), "threads_while_held": held_threads,
                "closed_by_server": closed_by_server, "while_held": while_held,
                "seconds": seconds}

    return asyncio.run(run())


def hostile_requests(port: int, names: dict[str, str]) -> list[tuple[str, bytes]]:
    """(label, raw bytes) of requests no browser sends."""
    host = f"Host: 127.0.0.1:{port}\r\n".encode()

    def request(target: str | bytes, method: bytes = b"GET", headers: bytes = b"") -> bytes:
        if isinstance(target, str):
            target = target.encode()
        return method + b" " + target + b" HTTP/1.1\r\n" + host + headers + b"\r\n"

    def api(route: str, query: str) -> bytes:
        return request(f"/api/{route}?{query}")

    def replay(name: str) -> bytes:
        return api("replay", "path=" + quote(name))

    cases = [
        ("path of 5,000 characters", request("/" + "a" * 5000)),
        ("replay path of 5,000 characters", api("replay", "path=" + "a" * 5000)),
        ("replay path of 2,000 folders", api("replay", "path=" + "a/" * 2000 + "x.jsonl")),
        ("static path of 5,000 characters", request("/static/" + "x" * 5000)),
        ("frame step of 30 digits", api("frame", f"path={quote(names['good'])}&step="
                                        + THIRTY_DIGITS)),
        ("frame step of 5,000 digits", api("frame", f"path={quote(names['good'])}&step="
                                           + "9" * 5000)),
        ("frame step -30 digits", api("frame", f"path={quote(names['good'])}&step=-"
                                      + THIRTY_DIGITS)),
        ("frame step 1e400", api("frame", f"path={quote(names['good'])}&step=1e400")),
        ("list filters of 30 digits", api("replays", f"game={THIRTY_DIGITS}&agent="
                                          f"{THIRTY_DIGITS}&result={THIRTY_DIGITS}")),
        ("list filters non-UTF-8 escapes", api("replays", "game=%ff%fe&agent=%c3&result=%00")),
        ("query of 10,000 ampersands", api("replays", "&" * 10000)),
        ("query of broken escapes", api("replays", "%&=%zz&%%%=&;;;=")),
        ("query with NUL path", api("replay", "path=%00")),
        ("query with a folder path", api("replay", "path=nested")),
        ("query path is '.'", api("replay", "path=.")),
        ("replay with a 30-digit option", replay(names["huge_option"])),
        ("replay with game 5", replay(names["game_number"])),
        ("replay without a seed", replay(names["no_seed"])),
        ("replay with a text seed", replay(names["seed_text"])),
        ("replay that is malformed JSON", replay("bad_json.jsonl")),
        ("replay that is not UTF-8", replay("bad_utf8.jsonl")),
        ("replay that is a dangling link", replay(names["dangling"])),
        ("frames of a malformed replay", api("frame", "path=bad_json.jsonl&step=0")),
        ("header max_moves of 30 digits", request("/api/replays", headers=(
            f"max_moves: {THIRTY_DIGITS}\r\n").encode())),
        ("Content-Length of 30 digits", request("/api/replays", headers=(
            f"Content-Length: {THIRTY_DIGITS}\r\n").encode())),
        ("Host of 30 digits", b"GET / HTTP/1.1\r\nHost: " + THIRTY_DIGITS.encode() + b"\r\n\r\n"),
        ("Host with a 30-digit port", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:"
         + THIRTY_DIGITS.encode() + b"\r\n\r\n"),
        ("no Host header", b"GET /api/replays HTTP/1.1\r\n\r\n"),
        ("method FOO", request("/", b"FOO")),
        ("method POST with a body", request("/api/replays", b"POST",
                                            b"Content-Length: 5\r\n") + b"hello"),
        ("method HEAD", request("/", b"HEAD")),
        ("method DELETE", request("/", b"DELETE")),
        ("method of 5,000 letters", request("/", b"G" * 5000)),
        ("request line 'GET'", b"GET\r\n\r\n"),
        ("request line of one word", b"GARBAGE\r\n\r\n"),
        ("request line of four words", b"GET / HTTP/1.1 extra\r\n\r\n"),
        ("HTTP/9.9", b"GET / HTTP/9.9\r\n\r\n"),
        ("HTTP/1.1234567890123456789012345678", b"GET / HTTP/1."
         + THIRTY_DIGITS.encode() + b"\r\n\r\n"),
        ("empty lines only", b"\r\n\r\n\r\n"),
        ("request line of 70,000 bytes", request("/" + "a" * 70000)),
        ("header line of 70,000 bytes", request("/", headers=b"X: " + b"a" * 70000 + b"\r\n")),
        ("200 headers", request("/", headers=b"".join(b"X-%d: 1\r\n" % i for i in range(200)))),
        ("header without a colon", request("/", headers=b"no colon here\r\n")),
        ("non-UTF-8 path", request(b"/\xff\xfe\xfd")),
        ("non-UTF-8 replay path", request(b"/api/replay?path=\xff\xfe.jsonl")),
        ("non-UTF-8 static path", request(b"/static/\xe9.js")),
        ("non-UTF-8 header", request("/api/replays", headers=b"X-Name: \xff\xfe\r\n")),
        ("non-UTF-8 Host", b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n"),
        ("NUL bytes in the request line", b"GET /\x00\x00 HTTP/1.1\r\n\r\n"),
        ("binary garbage", bytes(range(256)) + b"\r\n\r\n"),
        ("TLS hello to the HTTP port", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 40
         + b"\r\n\r\n"),
        ("absolute URL", request(f"http://127.0.0.1:{port}/api/replays")),
        ("path '*'", request("*")),
        ("path without a slash", request("api/replays")),
        ("dot-dot in the static path", request("/static/../../../../etc/passwd")),
        ("encoded dot-dot in the replay path", api("replay", "path=%2e%2e/%2e%2e/etc/passwd")),
    ]
    return cases


def hostile(server: Server, names: dict[str, str], timeout: float = 30.0
            ) -> tuple[list[tuple[str, str]], int]:
    """Every hostile request, one at a time, then 50 clients that hang up at once; returns
    (label, outcome) per request and the number of hang-ups sent."""
    cases = hostile_requests(server.port, names)

    async def run() -> tuple[list[tuple[str, str]], int]:
        outcomes = []
        for label, payload in cases:
            outcomes.append((label, await exchange(server.host, server.port, payload, timeout)))
        payload = get(server.host, server.port, f"/api/replay?path={quote(names['good'])}")
        hang_ups = await asyncio.gather(*(exchange(server.host, server.port, payload, timeout,
                                                   hang_up=True) for _ in range(50)))
        await asyncio.sleep(0.5)
        return outcomes, len(hang_ups)

    return asyncio.run(run())


def fifo(server: Server, timeout: float = 10.0) -> tuple[str, list[dict]]:
    """A FIFO named like a replay appears; the list must still come back, marking it."""
    os.mkfifo(server.folder / "fifo.jsonl")
    outcome = asyncio.run(exchange(server.host, server.port,
                                   get(server.host, server.port, "/api/replays"), timeout))
    if outcome != "200":
        return outcome, []
    import urllib.request

    with urllib.request.urlopen(server.url + "api/replays", timeout=timeout) as response:
        return outcome, json.loads(response.read())["unreadable"]


# --------------------------------------------------------------------------- the table


@dataclass
class Row:
    phase: str
    sent: int
    answered: int
    statuses: Counter
    tracebacks: int
    peak_threads: int
    threads_after: int
    note: str = ""


def run_all(folder: Path, concurrent: int, idle_count: int, hold: float,
            idle_timeout: float = 10.0, verbose: bool = False
            ) -> tuple[list[Row], Server, dict[str, Any]]:
    """Every phase against one server: the rows of the table, the (stopped) server, and the
    idle phase's facts."""
    good = make_folder(folder)
    server = Server(folder, idle_timeout)
    rows = []
    try:
        seen = server.tracebacks()

        def row(phase: str, outcomes: list[str], watch: ThreadWatch, note: str = "") -> None:
            nonlocal seen
            now = server.tracebacks()
            counts = Counter(outcomes)
            answered = sum(n for key, n in counts.items() if key.isdigit())
            rows.append(Row(phase, len(outcomes), answered, counts, now - seen, watch.peak,
                            server.threads(), note))
            seen = now

        with ThreadWatch(server) as watch:
            outcomes = burst(server, concurrent)
        row(f"burst of {concurrent} GETs", outcomes, watch)

        with ThreadWatch(server) as watch:
            facts = idle(server, idle_count, hold)
        after = burst(server, 1)
        row(f"{idle_count} idle, held {hold:g} s", after, watch,
            f"{facts['opened']} opened; {facts['threads_while_held']} threads while held; "
            f"{facts['closed_by_server']} closed by the server; a GET meanwhile: "
            f"{facts['while_held']} in {facts['seconds']:.2f} s")

        names = add_bad_files(folder, good)
        with ThreadWatch(server) as watch:
            outcomes, hang_ups = hostile(server, names)
        row(f"{len(outcomes)} hostile + {hang_ups} hang-ups", [o for _, o in outcomes], watch,
            "unanswered: " + (", ".join(label for label, o in outcomes if not o.isdigit())
                              or "none"))
        if verbose:
            for label, outcome in outcomes:
                print(f"  {outcome:>9}  {label}")

        with ThreadWatch(server) as watch:
            outcome, bad = fifo(server)
        marked = [entry["path"] for entry in bad]
        row("FIFO named *.jsonl", [outcome], watch, f"marked bad: {', '.join(marked) or '-'}")
    finally:
        server.stop()
    return rows, server, {**facts, "marked_bad": marked}


def print_table(rows: list[Row]) -> None:
    print(f"{'phase':<30} {'sent':>5} {'answered':>8} {'tracebacks':>10} {'peak thr':>8} "
          f"{'thr after':>9}  statuses")
    for r in rows:
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        print(f"{r.phase:<30} {r.sent:>5} {r.answered:>8} {r.tracebacks:>10} "
              f"{r.peak_threads:>8} {r.threads_after:>9}  {statuses}")
        if r.note:
            print(f"{'':<30} {r.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--hold", type=float, default=12.0,
                        help="seconds the idle connections are held (default 12)")
    parser.add_argument("--idle-timeout", type=float, default=10.0,
                        help="the server's --idle-timeout (default 10, as `gamepit view`)")
    parser.add_argument("--verbose", action="store_true", help="print each hostile request")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viewer-abuse-"))
    try:
        (work / "replays").mkdir()
        rows, server, _ = run_all(work / "replays", args.concurrent, args.idle, args.hold,
                                  args.idle_timeout, args.verbose)
        print_table(rows)
        stderr = server.stderr()
        if TRACEBACK in stderr or args.verbose:
            print("\nserver stderr (first 40 lines):")
            print("\n".join(stderr.splitlines()[:40]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
