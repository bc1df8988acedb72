"""The results ledger: an embedded SQLite file that every finished game is appended to.

A tournament writes each result the moment its game ends, one committed transaction a game, in
WAL mode, so killing the process loses only the games still being played. Re-running the same
tournament reads back which (pairing, game index) slots are filled and plays only the others;
a unique key on (tournament, pairing, game index) makes a duplicate impossible even if two runs
overlap. Ratings are computed from the ledger, never from memory.

Only the driver writes; workers (processes or Ray actors) hand their results back to it.
Standard library only.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gamepit.errors import GamepitError

DEFAULT_LEDGER = "gamepit_ledger.sqlite"
SCHEMA_VERSION = 2  # 2: the node column

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tournaments (
    name TEXT PRIMARY KEY,
    game TEXT NOT NULL,           -- game spec string
    seed INTEGER NOT NULL,        -- base seed: game i of a pairing uses a seed derived from it
    settings TEXT NOT NULL,       -- JSON of the settings of the first run, for the record
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    tournament TEXT NOT NULL REFERENCES tournaments(name),
    game TEXT NOT NULL,           -- game spec string
    pairing TEXT NOT NULL,        -- JSON list of the agent specs of the pairing, in its order
    game_index INTEGER NOT NULL,  -- index of the game within the pairing
    agents TEXT NOT NULL,         -- JSON list of agent specs by seat
    seed INTEGER NOT NULL,
    returns TEXT NOT NULL,        -- JSON list of returns by seat
    outcome TEXT NOT NULL,        -- 'seat N won', 'draw', or 'score X' (single player)
    forfeit_seat INTEGER,
    forfeit_reason TEXT NOT NULL DEFAULT '',
    steps INTEGER NOT NULL,
    seconds REAL NOT NULL,        -- wall time of the game
    replay_path TEXT,
    finished REAL NOT NULL,       -- unix time the result was written
    node TEXT NOT NULL DEFAULT '', -- the Ray node the game ran on ('' off Ray)
    UNIQUE (tournament, pairing, game_index)
);
CREATE INDEX IF NOT EXISTS results_by_tournament ON results (tournament);
"""
_COLUMNS = {"tournaments": {"name", "game", "seed", "settings", "created"},
            "results": {"id", "tournament", "game", "pairing", "game_index", "agents", "seed",
                        "returns", "outcome", "forfeit_seat", "forfeit_reason", "steps",
                        "seconds", "replay_path", "finished", "node"}}


@dataclass
class GameRecord:
    """One finished game, as workers hand it back and as the ledger stores it."""

    pairing: list[str]
    game_index: int
    agents: list[str]  # by seat
    seed: int
    returns: list[float]  # by seat
    steps: int
    seconds: float
    forfeit_seat: int | None = None
    forfeit_reason: str = ""
    replay_path: str | None = None
    node: str = ""  # the Ray node id the game ran on; '' in this process or a local worker

    @property
    def outcome(self) -> str:
        if len(self.returns) == 1:
            return f"score {self.returns[0]:g}"
        best = max(self.returns)
        winners = [seat for seat, value in enumerate(self.returns) if value == best]
        return "draw" if len(winners) == len(self.returns) else f"seat {winners[0]} won"

    def score_of(self, agent: str) -> float:
        """1 win, 0.5 draw, 0 loss for ``agent`` (two-player games)."""
        seat = self.agents.index(agent)
        mine = self.returns[seat]
        others = max(value for i, value in enumerate(self.returns) if i != seat)
        return 1.0 if mine > others else 0.0 if mine < others else 0.5


def loads(text: Any) -> Any:
    """A JSON column of a ledger row, None where it is not JSON (or nested past reason)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None


def well_formed(record: GameRecord) -> bool:
    """Whether a ledger row read back has the shape ``Ledger.record`` writes: the pairing's
    agents (names), the same agents by seat, a finite return per seat, whole numbers where
    numbers are whole, a forfeit seat that is a seat."""
    pairing, agents, returns = record.pairing, record.agents, record.returns
    whole = all(isinstance(value, int) and not isinstance(value, bool)
                for value in (record.game_index, record.seed, record.steps))
    seat = record.forfeit_seat
    return (whole and isinstance(pairing, list) and isinstance(agents, list)
            and isinstance(returns, list) and 1 <= len(pairing) == len(agents) == len(returns)
            and all(isinstance(name, str) for name in pairing)
            and all(isinstance(name, str) for name in agents)
            and sorted(agents) == sorted(pairing)
            and all(isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value) for value in returns)
            and (seat is None or (isinstance(seat, int) and 0 <= seat < len(agents)))
            and isinstance(record.forfeit_reason, str)
            and isinstance(record.seconds, (int, float)))


def pairing_key(pairing: list[str]) -> str:
    return json.dumps(pairing, separators=(",", ":"))


class Ledger:
    """A results ledger file. Use as a context manager or call ``close``."""

    def __init__(self, path: str | Path = DEFAULT_LEDGER) -> None:
        self.path = Path(path)
        if self.path.is_symlink():  # SQLite would write its journal beside the link's target
            raise GamepitError(f"ledger {self.path} is a symbolic link; give the file itself")
        if self.path.exists() and not self.path.is_file():
            raise GamepitError(f"ledger {self.path} is not a regular file")
        if self.path.parent and not self.path.parent.exists():
            raise GamepitError(f"ledger {self.path}: folder {self.path.parent} does not exist")
        try:
            self.connection = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT)
            self._check_foreign()  # before anything is written into someone else's file
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.executescript(_SCHEMA)
            columns = {row[1] for row in self.connection.execute("PRAGMA table_info(results)")}
            if "node" not in columns:  # a ledger from before the node column
                self.connection.execute(
                    "ALTER TABLE results ADD COLUMN node TEXT NOT NULL DEFAULT ''")
            self.connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.connection.commit()
        except sqlite3.OperationalError as error:
            raise ledger_error(self.path, error) from None
        except sqlite3.DatabaseError as error:
            raise GamepitError(f"ledger {self.path}: not a usable SQLite file ({error})") from None

    def _check_foreign(self) -> None:
        """A file with triggers, or with a ``tournaments`` or ``results`` table of other columns,
        is some other program's database: refused in one line, and left as it was."""
        triggers = self.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        if triggers:
            raise GamepitError(f"ledger {self.path}: not a gamepit ledger (it has triggers, "
                               f"{', '.join(row[0] for row in triggers)}, which gamepit never "
                               "writes)")
        for table, columns in _COLUMNS.items():
            found = {row[1] for row in self.connection.execute(f"PRAGMA table_info({table})")}
            missing = columns - found - {"node"}  # node: added to ledgers from before it
            if found and missing:
                raise GamepitError(f"ledger {self.path}: not a gamepit ledger (its table "
                                   f"{table} lacks {', '.join(sorted(missing))})")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    # ------------------------------------------------------------------ tournaments

    def open_tournament(self, name: str, game: str, seed: int, settings: dict[str, Any]) -> bool:
        """Register a tournament, or check that a re-run matches it. Returns True when it is
        new. A re-run on another game or base seed would mix incomparable games, so it is an
        error that asks for another name."""
        with self.writing():
            return self._open_tournament(name, game, seed, settings)

    def _open_tournament(self, name: str, game: str, seed: int, settings: dict[str, Any]
                         ) -> bool:
        row = self.connection.execute("SELECT game, seed FROM tournaments WHERE name = ?",
                                      (name,)).fetchone()
        if row is None:
            self.connection.execute(
                "INSERT INTO tournaments (name, game, seed, settings, created) "
                "VALUES (?, ?, ?, ?, ?)", (name, game, seed, json.dumps(settings), time.time()))
            self.connection.commit()
            return True
        if row[0] != game:
            raise GamepitError(f"tournament {name!r} in {self.path} was played on {row[0]}, not "
                               f"{game}; choose another --name")
        if row[1] != seed:
            raise GamepitError(f"tournament {name!r} in {self.path} was started with seed "
                               f"{row[1]}, not {seed}; use --seed {row[1]} or another --name")
        return False

    def set_anchors(self, name: str, anchors: dict[str, float]) -> None:
        """Keep the ratings' anchors of this run in the tournament's settings, so every reader
        of the ledger (the viewer) rates it on the same scale as the command that ran it."""
        with self.writing():
            self._set_anchors(name, anchors)

    def _set_anchors(self, name: str, anchors: dict[str, float]) -> None:
        row = self.connection.execute("SELECT settings FROM tournaments WHERE name = ?",
                                      (name,)).fetchone()
        settings = _settings(row[0] if row else "")
        if settings.get("anchors") != anchors:
            settings["anchors"] = anchors
            self.connection.execute("UPDATE tournaments SET settings = ? WHERE name = ?",
                                    (json.dumps(settings), name))
            self.connection.commit()

    def tournaments(self) -> list[tuple[str, str, int]]:
        """(name, game, games recorded) for every tournament in the ledger."""
        return tournaments_in(self.connection)

    # ------------------------------------------------------------------ results

    def record(self, tournament: str, game: str, result: GameRecord) -> bool:
        """Append one result and commit it. Returns False if that slot was already filled. A
        ledger locked past the busy timeout, or a full disk, is one line (GamepitError): the
        games committed before stay, and the same command resumes later."""
        with self.writing():
            return self._record(tournament, game, result)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write: a locked ledger or a full disk becomes one line (GamepitError)."""
        try:
            yield
        except sqlite3.OperationalError as error:
            try:
                self.connection.rollback()
            except sqlite3.Error:
                pass
            raise ledger_error(self.path, error) from None

    def _record(self, tournament: str, game: str, result: GameRecord) -> bool:
        cursor = self.connection.execute(
            "INSERT OR IGNORE INTO results (tournament, game, pairing, game_index, agents, seed, "
            "returns, outcome, forfeit_seat, forfeit_reason, steps, seconds, replay_path, "
            "finished, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (tournament, game, pairing_key(result.pairing), result.game_index,
             json.dumps(result.agents), result.seed, json.dumps(result.returns), result.outcome,
             result.forfeit_seat, result.forfeit_reason, result.steps, result.seconds,
             result.replay_path, time.time(), result.node))
        self.connection.commit()
        return cursor.rowcount == 1

    def done(self, tournament: str) -> set[tuple[str, int]]:
        """The (pairing key, game index) slots already played in a tournament."""
        return {(row[0], row[1]) for row in self.connection.execute(
            "SELECT pairing, game_index FROM results WHERE tournament = ?", (tournament,))}

    def results(self, tournament: str) -> list[GameRecord]:
        """Every result of a tournament, in the order they were written. A row that is not
        what ``record`` writes (edited by hand, or by another program) is one line naming the
        ledger and the row, never a traceback."""
        try:
            rows = self.connection.execute(
                "SELECT id, pairing, game_index, agents, seed, returns, steps, seconds, "
                "forfeit_seat, forfeit_reason, replay_path, node FROM results "
                "WHERE tournament = ? ORDER BY id", (tournament,)).fetchall()
        except sqlite3.Error as error:
            raise GamepitError(f"ledger {self.path}: cannot read its results ({error})"
                               ) from None
        records = []
        for (row_id, pairing, index, agents, seed, returns, steps, seconds, forfeit_seat,
             reason, replay, node) in rows:
            record = GameRecord(loads(pairing), index, loads(agents), seed, loads(returns),
                                steps, seconds, forfeit_seat, reason, replay, node)
            if not well_formed(record):
                raise GamepitError(f"ledger {self.path}: row {row_id} of tournament "
                                   f"{tournament!r} is damaged (not as gamepit writes it); "
                                   f"delete it (DELETE FROM results WHERE id = {row_id}) or "
                                   "use another --name")
            records.append(record)
        return records

    def count(self, tournament: str) -> int:
        return self.connection.execute("SELECT COUNT(*) FROM results WHERE tournament = ?",
                                       (tournament,)).fetchone()[0]


BUSY_TIMEOUT = 30.0  # seconds to wait for a ledger another process holds


def tournaments_in(connection: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(name, game, games recorded) for every tournament in a ledger, oldest first."""
    return [tuple(row) for row in connection.execute(
        "SELECT t.name, t.game, COUNT(r.id) FROM tournaments t LEFT JOIN results r "
        "ON r.tournament = t.name GROUP BY t.name ORDER BY t.created")]


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that can only read the ledger at ``path`` (listing, the viewer), which must
    exist. On read-only media, where SQLite cannot make the WAL's index beside the file, it
    reads the file as immutable: games still in an uncheckpointed ``-wal`` file are not seen
    there. One line (GamepitError) if it cannot be opened at all."""
    if not path.exists():
        raise GamepitError(f"ledger {path}: not created yet (a tournament creates it)")
    if path.is_symlink() or not path.is_file():
        raise GamepitError(f"ledger {path}: not a regular file")
    uri = path.resolve().as_uri()
    try:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as error:
            connection.close()
            if "unable to open" not in str(error):  # not the WAL's files: locked, say
                raise ledger_error(path, error) from None
            connection = sqlite3.connect(f"{uri}?immutable=1", uri=True)
        return connection
    except sqlite3.Error as error:
        raise GamepitError(f"ledger {path}: cannot open: {' '.join(str(error).split())}") \
            from None


def ledger_error(path: Path, error: sqlite3.OperationalError) -> GamepitError:
    """A ledger that cannot be written now, in one true line."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return GamepitError(f"ledger {path}: locked by another process for over "
                            f"{BUSY_TIMEOUT:g} s; the games recorded so far are kept: run the "
                            "same command again when it is free")
    if "full" in text:
        return GamepitError(f"ledger {path}: the disk is full; the games recorded so far are "
                            "kept: free some space and run the same command again")
    return GamepitError(f"ledger {path}: {text}")


def _settings(text: str) -> dict[str, Any]:
    settings = loads(text)
    return settings if isinstance(settings, dict) else {}


def stored_anchors(settings_text: str) -> dict[str, float]:
    """The anchors a ledger's settings column holds ({} if none, or unreadable)."""
    anchors = _settings(settings_text).get("anchors")
    if not isinstance(anchors, dict):
        return {}
    return {str(spec): float(elo) for spec, elo in anchors.items()
            if isinstance(elo, (int, float)) and not isinstance(elo, bool)
            and math.isfinite(elo)}
