"""Replay recording: a step observer that the engine builds for a match when its settings name
a replay folder, writing the match to a JSON Lines file as it is played (format in
``gamepit.replay.format``), flushed a line at a time, so a crash mid-match leaves every finished
step on disk. A replay that cannot be written is removed and its error kept, so no summary
counts it."""

from __future__ import annotations

import json
import platform
import re
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from gamepit.protocols import MatchInfo, MatchResult, StepRecord, to_json
from gamepit.replay.format import FORMAT, SUFFIX, VERSION


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("gamepit", "numpy", "pluggy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Recorder:
    """Writes one match to ``folder``: the header now, a line a step, the end; ``path`` is the
    file while it is being written, ``error`` why it could not be (then there is no file)."""

    def __init__(self, match: MatchInfo, folder: str) -> None:
        self.match, self.error = match, ""
        self.handle: IO[str] | None = None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        who = "-vs-".join(re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec)[:40]
                          for spec in match.agent_specs)
        game_name = re.sub(r"[^A-Za-z0-9_]+", "_", match.game.name)
        path = Path(folder) / f"{stamp}_{game_name}_{who}_{match.match_id}{SUFFIX}"
        self.path: str | None = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = path.open("w", encoding="utf-8")
        except OSError as error:
            self.path, self.error = None, error.strerror or str(error)
            return
        self._write({
            "format": FORMAT, "version": VERSION, "match_id": match.match_id,
            "game": match.game_spec, "game_name": match.game.name,
            "num_players": match.game.num_players, "seed": match.seed,
            "agents": list(match.agent_specs), "hash_every": match.hash_every,
            "move_time": match.move_time,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
        })

    def step(self, step: StepRecord) -> None:
        record = {"type": "step", "i": step.index, "player": step.player,
                  "action": step.action, "rewards": step.rewards, "seconds": step.seconds,
                  "info": step.info}
        if step.hash:
            record["hash"] = step.hash
        self._write(record)

    def end(self, result: MatchResult) -> tuple[str | None, str]:
        """Write the end and close: (the replay's path or None, why it could not be written)."""
        self._write({"type": "end", "returns": result.returns, "steps": result.steps,
                     "forfeit_seat": result.forfeit_seat,
                     "forfeit_reason": result.forfeit_reason,
                     "final_hash": result.final_hash})
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError as error:
                self._give_up(error)
            self.handle = None
        return self.path, self.error

    def _write(self, record: dict[str, Any]) -> None:
        # The one place records become JSON: an agent's info holding a set, a numpy array or
        # any object is converted (lists, numbers, strings), so no step is ever dropped.
        if self.handle is None:
            return
        try:
            self.handle.write(json.dumps(to_json(record), separators=(",", ":")) + "\n")
            self.handle.flush()  # a crash mid-match leaves every finished step on disk
        except OSError as error:  # a full disk, a file size limit: this replay is lost, and said
            self._give_up(error)

    def _give_up(self, error: OSError) -> None:
        """A replay that cannot be written: its partial file is removed and the error kept."""
        try:
            if self.handle is not None:
                self.handle.close()
        except OSError:
            pass
        self.handle = None
        if self.path:
            Path(self.path).unlink(missing_ok=True)
        self.path, self.error = None, error.strerror or str(error)
