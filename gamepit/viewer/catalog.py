"""The replay list the viewer shows: one summary per file, found under the served folder, with
filters by game, agent and result.

A folder may hold thousands of long replays, so a summary reads only the header (first line)
and the end record (last line); the full file is read only when a replay is opened. Summaries
are cached by modification time and size, so refreshing the page re-reads only what changed.

Replay files are untrusted: a file that is not a regular file (a FIFO would block the reader
forever, a device would never end), is not JSON, or holds the wrong types is listed under
``unreadable`` with a one-line reason, and the others are listed as usual.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

from gamepit.errors import ReplayError
from gamepit.replay import FORMAT, SUFFIX, Replay
from gamepit.replay.format import check_end, check_header

_TAIL = 1 << 16  # bytes read from the end of a file to find its end record
_MAX_HEADER = 1 << 20  # a header line longer than this is not a gamepit replay's
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}


def within(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names under ``root``, or None if it would leave ``root``: '..',
    an absolute path, or a symlink that points out (or round in a loop). ``root`` must
    already be resolved."""
    if not relative or "\x00" in relative or os.path.isabs(relative):
        return None
    try:
        candidate = (root / relative).resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop (Python 3.11)
        return None
    return candidate if candidate.is_relative_to(root) else None


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` (symlinks followed) is a regular file; never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def not_regular(mode: int) -> str:
    """'' for a regular file, else a one-line reason."""
    if stat.S_ISREG(mode):
        return ""
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'a special file')})"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters: errors may quote whole inputs."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _last_line(handle: Any, size: int) -> bytes:
    handle.seek(max(0, size - _TAIL))
    lines = handle.read().rstrip(b"\n").split(b"\n")
    return lines[-1] if lines else b""


def summarize(path: Path) -> dict[str, Any]:
    """Header facts and the result of one replay file, without reading its steps. Raises
    ReplayError (one line) for anything that is not a readable replay."""
    # O_NONBLOCK: opening a FIFO that appeared since it was checked must not wait for a writer
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if reason := not_regular(info.st_mode):
            raise ReplayError(f"{path}: {reason}")
        try:
            header = json.loads(handle.readline(_MAX_HEADER))
        except (ValueError, RecursionError):
            raise ReplayError(f"{path}: line 1 is not a gamepit replay header (not JSON)") from None
        if not isinstance(header, dict):
            raise ReplayError(f"{path}: not a gamepit replay (no '{FORMAT}' header)")
        check_header(header, f"{path}: line 1")
        try:
            end = json.loads(_last_line(handle, info.st_size))
        except (ValueError, RecursionError):
            end = None  # cut off mid-line
        if not isinstance(end, dict) or end.get("type") != "end":
            end = None
    if end is not None:
        check_end(end, header["num_players"], f"{path}: end record")
        steps = end.get("steps", 0)
    else:
        with path.open("rb") as handle:
            steps = sum(1 for line in handle if line.startswith(b'{"type":"step"'))
    result = Replay(str(path), header, [], end).describe_result()
    return {
        "game": header.get("game", "?"), "game_name": header.get("game_name", "?"),
        "agents": list(header.get("agents", [])), "created": header.get("created", ""),
        "seed": header.get("seed"), "steps": steps, "result": result,
        "returns": end.get("returns") if end else None,
        "forfeit_seat": end.get("forfeit_seat") if end else None,
        "finished": end is not None,
    }


def outcome_for(summary: dict[str, Any], seat: int) -> str:
    """'won', 'lost', 'draw' or 'forfeit'/'unfinished'/'score' from one seat's point of view."""
    if not summary["finished"]:
        return "unfinished"
    returns = summary["returns"] or []
    if len(returns) < 2:
        return "score"
    mine, others = returns[seat], max(r for i, r in enumerate(returns) if i != seat)
    return "won" if mine > others else "lost" if mine < others else "draw"


def matches(summary: dict[str, Any], game: str = "", agent: str = "", result: str = "") -> bool:
    """Whether a replay passes the filters. ``game`` matches the game's name, spec or plugin
    name; ``agent`` is a substring of a seat's spec; ``result`` is one of won/lost (for the
    filtered agent, or any seat without an agent filter), draw, forfeit, unfinished."""
    plugin = summary["game"].split(":", 1)[0]  # "atari" finds atari_pong and atari_breakout
    if game and game not in (summary["game_name"], summary["game"], plugin):
        return False
    seats = [i for i, spec in enumerate(summary["agents"]) if agent.lower() in spec.lower()]
    if agent and not seats:
        return False
    if not result:
        return True
    if result == "forfeit":
        return summary["forfeit_seat"] is not None
    if result == "unfinished":
        return not summary["finished"]
    return any(outcome_for(summary, seat) == result for seat in seats)


def replay_files(root: Path) -> list[Path]:
    """Replay files under ``root``; symlinked folders are not entered (they may lead out, or
    round in a loop), symlinked files are kept for ``within`` to judge."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        found.extend(Path(folder) / name for name in sorted(files) if name.endswith(SUFFIX))
    return found


class Catalog:
    """Summaries of every replay under a folder, refreshed on each listing."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[tuple[float, int], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def list(self, game: str = "", agent: str = "", result: str = "") -> dict[str, Any]:
        rows, problems = [], []
        with self._lock:
            for path in replay_files(self.root):
                relative = path.relative_to(self.root).as_posix()
                if within(self.root, relative) is None:
                    continue  # a symlink out of the folder: never listed, never served
                summary, problem = self._summary(path)
                if problem:
                    problems.append({"path": relative, "error": problem})
                else:
                    rows.append({"path": relative, **summary})
        games = sorted({row["game_name"] for row in rows})
        agents = sorted({spec for row in rows for spec in row["agents"]})
        shown = [row for row in rows if matches(row, game, agent, result)]
        shown.sort(key=lambda row: row["created"], reverse=True)
        return {"root": str(self.root), "total": len(rows), "replays": shown,
                "games": games, "agents": agents, "unreadable": problems}

    def _summary(self, path: Path) -> tuple[dict[str, Any], str]:
        """(summary, '') or ({}, the one-line reason it is not listed); cached either way
        by modification time and size. Caller holds the lock."""
        try:
            info = os.stat(path)  # follows a symlink: what it points at must be a file
        except OSError as error:
            return {}, f"cannot read: {one_line(error.strerror or str(error))}"
        if reason := not_regular(info.st_mode):
            return {}, reason  # never opened: a FIFO would block the list forever
        key = (info.st_mtime, info.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != key:
            try:
                cached = (key, (summarize(path), ""))
            except ReplayError as error:
                cached = (key, ({}, one_line(str(error))))
            except OSError as error:
                cached = (key, ({}, f"cannot read: {one_line(error.strerror or str(error))}"))
            except Exception as error:  # noqa: BLE001 - a file's content must not stop the list
                cached = (key, ({}, f"{path}: not a replay the viewer can list "
                                    f"({type(error).__name__}: {one_line(str(error))})"))
            self._cache[path] = cached
        return cached[1]
