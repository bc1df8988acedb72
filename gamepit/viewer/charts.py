"""What the plots draw: training runs read from their ``metrics.jsonl`` and tournaments read
from their SQLite ledger (opened read-only, so watching never writes to or locks a ledger that
a tournament is filling). The page draws the curves and the Elo chart (``static/plots.js``).

Files are untrusted: a metrics line that is not a JSON object of numbers is skipped and
counted, as is a ledger row of the wrong shape; a ledger that is not one is a one-line error.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

from gamepit.errors import GamepitError
from gamepit.viewer.catalog import is_regular_file, one_line, within

METRICS = "metrics.jsonl"
MAX_POINTS = 2000  # points per curve sent to the page; longer runs are thinned evenly
MAX_METRIC_BYTES = 64 << 20  # a metrics file is read up to this size
# Which chart a metric goes on, by the words in its name (first match wins).
# One quantity per chart (its axis has one unit): evaluation returns, losses, returns, episode
# lengths, speeds; anything else is a chart of its own. Bookkeeping is not plotted.
GROUPS = (("evaluation", ("eval",)), ("loss", ("loss", "entropy", "kl")),
          ("return", ("return", "score", "reward")), ("length", ("length",)),
          ("speed", ("per_second", "steps_per")))
HIDDEN = ("progress/", "checkpoint/")  # totals and counters the progress line already says


def run_folders(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included, already resolved) that hold a metrics file;
    symlinked folders are not entered, and a metrics file linked out of ``root`` is left out."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        if METRICS in files and metrics_of(root, Path(folder).relative_to(root).as_posix()):
            found.append(Path(folder))
    return found


def metrics_of(root: Path, relative: str) -> Path | None:
    """The metrics file of the run folder ``relative`` under ``root``, or None when it would
    leave ``root`` (``..``, an absolute path, the folder or the file a link pointing out)."""
    path = within(root, f"{relative}/{METRICS}")
    return path if path is not None and path.parent == (root / relative).resolve() else None


def list_runs(root: Path) -> list[dict[str, Any]]:
    rows = []
    for folder in run_folders(root):
        path = folder / METRICS
        info = path.stat()
        rows.append({"path": folder.relative_to(root).as_posix() or ".",
                     "bytes": info.st_size, "modified": info.st_mtime})
    rows.sort(key=lambda row: -row["modified"])
    return rows


def group_of(name: str) -> str:
    """The chart a metric goes on: a group of one quantity, else a chart of its own."""
    lowered = name.lower()
    for group, words in GROUPS:
        if any(word in lowered for word in words):
            return group
    return name


def read_run(folder: Path) -> dict[str, Any]:
    """Every metric of a run as a curve: ``{"curves": {name: [[step, value], ...]}, "groups":
    {group: [names]}, "skipped": lines that were not metrics}``."""
    path = folder / METRICS
    if not is_regular_file(path):
        raise GamepitError(f"{folder.name}: no {METRICS}")
    curves: dict[str, list[list[float]]] = {}
    skipped = 0
    with path.open("rb") as handle:
        for raw in handle.read(MAX_METRIC_BYTES).splitlines():
            try:
                record = json.loads(raw)
                step = float(record["step"])
            except (ValueError, KeyError, TypeError, RecursionError):
                skipped += 1
                continue
            if not isinstance(record, dict) or not math.isfinite(step):
                skipped += 1
                continue
            for name, value in record.items():
                if name in ("step", "time") or not isinstance(value, (int, float)) or \
                        isinstance(value, bool) or not math.isfinite(value):
                    continue
                curves.setdefault(str(name), []).append([step, float(value)])
    for name, points in curves.items():
        if len(points) > MAX_POINTS:
            every = len(points) / MAX_POINTS
            curves[name] = [points[int(i * every)] for i in range(MAX_POINTS - 1)] + [points[-1]]
    groups: dict[str, list[str]] = {}
    for name in sorted(curves):
        if not name.startswith(HIDDEN):
            groups.setdefault(group_of(name), []).append(name)
    return {"curves": curves, "groups": groups, "skipped": skipped}


def _connect(ledger: Path) -> sqlite3.Connection:
    from gamepit.tournament.ledger import read_only

    return read_only(ledger)


def list_tournaments(ledger: Path) -> list[dict[str, Any]]:
    """(name, game, games recorded) of every tournament in a ledger file."""
    from gamepit.tournament.ledger import tournaments_in

    try:
        connection = _connect(ledger)
        try:
            rows = tournaments_in(connection)
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise GamepitError(f"ledger {ledger}: not a gamepit ledger ({one_line(str(error))})") \
            from None
    return [{"name": name, "game": game, "games": count} for name, game, count in rows]


def standings(ledger: Path, name: str) -> dict[str, Any]:
    """A tournament's leaderboard from its ledger, as ``gamepit tournament`` prints it: Elo
    with 95% intervals for two-player games, mean scores for one-player games."""
    from gamepit.tournament.ledger import GameRecord, loads, stored_anchors, well_formed
    from gamepit.tournament.ratings import rate_games, scale_note

    try:
        connection = _connect(ledger)
        try:
            found = connection.execute("SELECT game, settings FROM tournaments WHERE name = ?",
                                       (name,)).fetchone()
            rows = connection.execute(
                "SELECT pairing, game_index, agents, seed, returns, steps, seconds, "
                "forfeit_seat, forfeit_reason, replay_path, finished FROM results "
                "WHERE tournament = ? ORDER BY id", (name,)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise GamepitError(f"ledger {ledger}: not a gamepit ledger ({one_line(str(error))})") \
            from None
    records = []
    for (pairing, index, agents, seed, returns, steps, seconds, seat, reason, replay,
         finished) in rows:
        record = GameRecord(loads(pairing), index, loads(agents), seed, loads(returns), steps,
                            seconds, seat, reason, replay)
        if well_formed(record):
            records.append((record, finished))
    if found is None:
        raise GamepitError(f"ledger {ledger}: no tournament named {name!r}")
    agents = list(dict.fromkeys(spec for record, _ in records for spec in record.pairing))
    two_player = [record for record, _ in records if len(record.returns) == 2]
    table: list[dict[str, Any]] = []
    scale = ""
    if two_player:
        pinned = stored_anchors(found[1])  # the scale of the command that ran it
        names = {spec for r in two_player for spec in r.pairing}
        board = rate_games(agents, [(r.pairing[0], r.pairing[1], r.score_of(r.pairing[0]))
                                    for r in two_player],
                           {spec: elo for spec, elo in pinned.items() if spec in names})
        scale = scale_note({spec: elo for spec, elo in pinned.items() if spec in names})
        table = [{key: (None if isinstance(value, float) and not math.isfinite(value)
                        else value) for key, value in vars(row).items()} for row in board]
    else:
        scores: dict[str, list[float]] = {}
        for record, _ in records:
            scores.setdefault(record.agents[0], []).append(float(record.returns[0]))
        for rank, (agent, values) in enumerate(
                sorted(scores.items(), key=lambda item: -sum(item[1]) / len(item[1])), 1):
            mean = sum(values) / len(values)
            table.append({"rank": rank, "agent": agent, "mean": mean, "games": len(values)})
    recent = [{"agents": record.agents, "returns": record.returns, "steps": record.steps,
               "forfeit_reason": record.forfeit_reason, "finished": finished}
              for record, finished in records[-10:]][::-1]
    return {"name": name, "game": found[0], "games": len(records),
            "kind": "elo" if two_player else "score", "table": table, "recent": recent,
            "scale": scale,
            "skipped": len(rows) - len(records)}
