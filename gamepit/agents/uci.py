"""``uci:cmd=...``: an outside chess engine (Stockfish, or any UCI engine) seated as an agent.

The engine hears ``uci`` (answered by ``uciok``) and the ``setoption`` lines of ``options``
once when it starts, ``ucinewgame`` at each game, and for each move ``position startpos moves
...`` with the game so far, then ``go`` with the limit given (``movetime`` in milliseconds,
``nodes`` or ``depth``; 100 ms a move when none is), and its ``bestmove`` is played.

It plays the games whose states give their moves in UCI notation (``state.uci_moves()``):
``openspiel:chess`` and ``pettingzoo:classic.chess_v6``. A move is mapped to an action by
trying the legal actions on clones, so no bridge's action numbering is assumed.

python-chess has a UCI client, but it owns the engine's process; ours shares one process
handling with the GTP agent (own process group, parent-death signal, bounded reads), and UCI
needs only these few lines of it.
"""

from __future__ import annotations

from gamepit.agents.engine_process import EngineAgent, EngineError
from gamepit.errors import GamepitError, SpecError
from gamepit.protocols import ActResult, Game, State


class UciAgent(EngineAgent):
    protocol = "uci"

    def __init__(self, cmd: str = "", options: str = "", movetime: int = 0, nodes: int = 0,
                 depth: int = 0, timeout: float = 60.0) -> None:
        self.options = _options(options)
        limits = [f"movetime {movetime}" if movetime else "", f"nodes {nodes}" if nodes else "",
                  f"depth {depth}" if depth else ""]
        self.go = "go " + (" ".join(limit for limit in limits if limit) or "movetime 100")
        super().__init__(cmd, timeout)

    def handshake(self, deadline: float) -> None:
        engine = self.engine
        assert engine is not None
        engine.send("uci")
        names = set()
        while (line := engine.read_line(deadline).strip()) != "uciok":
            if line.startswith("option name "):
                names.add(line[len("option name "):].split(" type ")[0].strip().lower())
        for name, value in self.options:
            if name.lower() not in names:
                raise EngineError(f"it has no option {name!r} (it has: "
                                  f"{', '.join(sorted(names)) or 'none'})")
            engine.send(f"setoption name {name} value {value}")
        self.ready(deadline)

    def ready(self, deadline: float) -> None:
        engine = self.engine
        assert engine is not None
        engine.send("isready")
        while engine.read_line(deadline).strip() != "readyok":
            pass

    def check_fit(self, game: Game) -> None:
        if not hasattr(game.new_state(0), "uci_moves"):
            raise GamepitError(f"uci: plays chess (openspiel:chess, "
                               f"pettingzoo:classic.chess_v6), not {game.spec or game.name}")

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        try:
            engine = self.ensure_started()
            engine.send("ucinewgame")
            self.ready(self.move_deadline())
        except EngineError as error:
            raise self.fault(error) from None

    def act(self, state: State) -> ActResult:
        moves = state.uci_moves()  # type: ignore[attr-defined]
        try:
            engine = self.ensure_started()
            deadline = self.move_deadline()
            engine.send("position startpos" + (" moves " + " ".join(moves) if moves else ""))
            engine.send(self.go)
            while not (line := engine.read_line(deadline).strip()).startswith("bestmove"):
                pass
        except EngineError as error:
            raise self.fault(error) from None
        words = line.split()
        best = words[1] if len(words) > 1 else ""
        action = action_of(state, best)
        if action is None:
            raise self.fault(EngineError(f"{self.label} answered bestmove {best!r}, not a "
                                         "legal move"))
        return action, {"move": best}


def action_of(state: State, move: str) -> int | None:
    """The legal action that plays ``move`` (UCI notation) in ``state``, or None."""
    for action in state.legal_actions():
        child = state.clone()
        child.apply(action)
        if child.uci_moves()[-1:] == [move]:  # type: ignore[attr-defined]
            return int(action)
    return None


def _options(text: str) -> list[tuple[str, str]]:
    """``Name=Value;Name=Value`` (``Skill Level=3;Threads=1``) as (name, value) pairs."""
    pairs = []
    for item in text.split(";"):
        if not item.strip():
            continue
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise SpecError(f"uci: options={text!r}: expected Name=Value;Name=Value, e.g. "
                            "options=Skill Level=3;Threads=1")
        pairs.append((name.strip(), value.strip()))
    return pairs
