"""``gtp:cmd=...``: an outside Go engine (GnuGo, Pachi, KataGo, ``gamepit gtp`` itself) seated
as an agent through the Go Text Protocol, version 2.

At each game the engine gets ``boardsize``, ``clear_board`` and ``komi`` (and
``time_settings``); at each move it hears the moves played since it last moved (``play``), then
``genmove`` answers a vertex, ``pass`` or ``resign`` (a resignation ends the game as a
forfeit with the reason "resigned"). It plays any game whose states list their moves
(``state.moves``) and whose game names points as GTP vertices (``game.size``, ``game.komi``,
``game.action_to_string``/``string_to_action``): gamepit's ``go`` at every size.

An engine that knows ``set_random_seed`` (GnuGo) gets, before each move, a seed drawn from the
game's seed and the move number, so a game replays the same from its seed, as gamepit's own
agents do. The engine's strength is set on its own command line (``gnugo --mode gtp --level 5``,
``pachi -t =2000``); the engine is told the move time of the match as byo-yomi (or
``time_settings=MAIN BYO STONES`` as given) and its clock before each move (``time_left``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gamepit.agents.engine_process import EngineAgent, EngineError
from gamepit.errors import GamepitError, SpecError
from gamepit.protocols import ActResult, Game, Resign, State


class GtpAgent(EngineAgent):
    protocol = "gtp"

    def __init__(self, cmd: str = "", time_settings: str = "", timeout: float = 60.0) -> None:
        self.clock = _time_settings(time_settings)
        self._id = 0
        self.told: list[int] = []
        self.told_time: tuple[float, float, int] | None = None
        self.used = 0.0  # seconds the engine thought this game, for time_left
        self.seeded = False  # the engine takes set_random_seed (GnuGo does)
        self.game_seed = 0
        super().__init__(cmd, timeout)

    def handshake(self, deadline: float) -> None:
        version = self.command("protocol_version", deadline)
        if version.strip() != "2":
            raise EngineError(f"answered protocol_version with {version!r}, not 2")
        self.seeded = self.command("known_command set_random_seed", deadline) == "true"

    def check_fit(self, game: Game) -> None:
        if not all(hasattr(game, name) for name in ("size", "komi", "pass_action",
                                                     "string_to_action")):
            raise GamepitError(f"gtp: plays Go (go:size=N), not {game.spec or game.name}")
        try:
            self.ensure_started()
            self.command(f"boardsize {game.size}", self.move_deadline())
        except EngineError as error:
            self.close()
            raise GamepitError(f"gtp: {self.label} cannot play {game.spec or game.name}: "
                               f"{error}") from None

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        self.game_seed = 0 if seed is None else int(seed) % 2**63
        try:
            self.ensure_started()
            deadline = self.move_deadline()
            self.command(f"boardsize {game.size}", deadline)  # type: ignore[attr-defined]
            self.command("clear_board", deadline)
            self.command(f"komi {game.komi:g}", deadline)  # type: ignore[attr-defined]
        except EngineError as error:
            raise self.fault(error) from None
        self.told, self.told_time, self.used = [], None, 0.0

    def act(self, state: State) -> ActResult:
        game: Any = self.game
        colour = "BW"[state.current_player]
        try:
            self.tell_moves(list(state.moves))  # type: ignore[attr-defined]
            deadline = self.move_deadline()
            self.tell_time(colour, deadline)
            if self.seeded:  # GnuGo: its randomness keyed by the game's seed and the move
                self.command(f"set_random_seed {self.move_seed(len(self.told))}", deadline)
            started = time.monotonic()
            answer = self.command(f"genmove {colour}", deadline).strip()
            self.used += time.monotonic() - started
        except EngineError as error:
            raise self.fault(error) from None
        if answer.lower() == "resign":
            raise Resign("resigned")
        try:
            action = int(game.string_to_action(answer))
        except ValueError:
            raise self.fault(EngineError(f"{self.label} answered genmove with {answer!r}")
                             ) from None
        if not state.legal_mask()[action]:
            raise self.fault(EngineError(f"{self.label} played the illegal move {answer}"))
        self.told.append(action)
        return action, {"move": answer}

    def move_seed(self, move: int) -> int:
        """The engine's seed for the move at ``move``: from the game's seed and the move alone,
        so a game plays the same however it was reached (resumed, batched, replayed)."""
        return int(np.random.default_rng([self.game_seed, move]).integers(2**31 - 1))

    # ------------------------------------------------------------------ the protocol

    def command(self, line: str, deadline: float) -> str:
        """Send one command and return its answer's text; EngineError for ``? ...``."""
        engine = self.engine
        assert engine is not None
        self._id += 1
        engine.send(f"{self._id} {line}")
        first = ""
        while not first:  # engines may print blank lines between answers
            first = engine.read_line(deadline).strip()
        status, _, text = first.partition(" ") if first[:1] in "=?" else ("", "", "")
        if status not in (f"={self._id}", f"?{self._id}"):
            raise EngineError(f"{self.label} answered {line.split()[0]} with {first[:80]!r}")
        lines = [text]
        while True:  # an answer ends with an empty line
            more = engine.read_line(deadline)
            if not more.strip():
                break
            lines.append(more)
        answer = "\n".join(lines).strip()
        if status.startswith("?"):
            raise EngineError(f"{self.label} refused {line!r}: {answer}")
        return answer

    def tell_moves(self, moves: list[int]) -> None:
        """Bring the engine's board to ``moves``: play the new ones, or start over if the game
        it knows is not a beginning of this one."""
        game: Any = self.game
        deadline = self.move_deadline()
        if moves[:len(self.told)] != self.told:
            self.command("clear_board", deadline)
            self.told = []
        for index in range(len(self.told), len(moves)):
            action = moves[index]
            self.command(f"play {'BW'[index % 2]} {game.action_to_string(action)}", deadline)
            self.told.append(action)

    def tell_time(self, colour: str, deadline: float) -> None:
        """``time_settings`` (the match's move time as byo-yomi unless set) and the clock."""
        # GTP's times are whole seconds: a match's move time is told with a margin, so an
        # engine that thinks to its limit is still in time
        clock = self.clock or ((0.0, float(max(1, int(self.move_time * 0.8))), 1)
                               if self.move_time else None)
        if clock is None:
            return
        if clock != self.told_time:
            main, byo, stones = clock
            self.command(f"time_settings {main:g} {byo:g} {stones}", deadline)
            self.told_time = clock
            self.used = 0.0
        main, byo, stones = clock
        left = main - self.used
        if left > 0:
            self.command(f"time_left {colour} {int(left)} 0", deadline)
        else:
            self.command(f"time_left {colour} {int(byo)} {stones}", deadline)


def _time_settings(text: str) -> tuple[float, float, int] | None:
    """``MAIN BYO STONES`` (GTP's time_settings, seconds) or '' for none."""
    if not text.strip():
        return None
    parts = text.split()
    try:
        main, byo, stones = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or min(main, byo, stones) < 0:
            raise ValueError
    except (ValueError, IndexError):
        raise SpecError(f"gtp: time_settings={text!r}: expected three numbers MAIN BYO "
                           "STONES, e.g. time_settings=0 5 1 (5 seconds a move)") from None
    return main, byo, stones
