"""A person against an agent in the browser: the games being played, one agent per page.

Board games (states with ``board_view()``) are played by clicks. The server works out, for
every legal action, which cells a click names: where a piece lands (tic-tac-toe, go, othello,
connect four's landing cell) or, on a chess-style board, the square a piece leaves and the one
it reaches (every promotion of one pawn move shares its squares, and the page asks which).
Actions that change no cell (pass) are buttons. After each of the agent's moves the page shows
its info (value, policy, visit counts) as the replay view does. Undo takes back the person's
last move and the agent's reply; resign gives the game up.

Screen games (states with ``frame()``: MinAtar, Atari) are played on the keyboard: the page
sends which keys are held, and the game advances at ``fps`` steps a second, the action being
the one of the game's own action set whose name (``UP``, ``LEFTFIRE``...) the keys spell.

Every game is recorded when it ends (won, lost, resigned, or its page gone) through the
match hooks like any match (``gamepit.arena.LiveMatch``), so undo never leaves a trace in the
replay. A page follows its game on one event stream (``PlayStream``). When the stream closes
(a reload, a dropped connection, a closed tab) the game waits ``grace`` seconds for that page
to come back, as online boards do: the page that opened the game first owns it (by a token it
keeps for its tab), and only it may open the stream again; it gets the same position, moves
and agent's thinking, and play goes on (a screen game pauses until a key is pressed again).
Past the grace period the game is recorded with the person's seat forfeiting, reason
"unfinished: the page was closed". At most ``limit`` games are played at once per server; a
game waiting for its page holds its slot, and so does a game whose page left while its agent
thinks, until the agent answers, so the limit also bounds the agents thinking at once.

Must not know any concrete game; board styles are the ``board_view`` ones the page draws.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from gamepit.arena.match import LiveMatch, MatchSettings, fault_reason, read_answer
from gamepit.errors import GamepitError
from gamepit.protocols import HasActionNames, HasBoardView, HasFrame, State, to_json
from gamepit.viewer.live import Hub, Source
from gamepit.viewer.session import SCREEN_LOCK, encode_png, json_safe, names_in_position

MAX_GAMES = 4  # games played at once per server: each holds an agent (maybe a network)
UNCLAIMED = 30.0  # seconds a new game waits for its page before it is dropped
GRACE = 30.0  # seconds a game waits for its page to come back (a reload, a dropped connection)
PAGE_CLOSED = "unfinished: the page was closed"


def checked_page(page: str | None) -> str | None:
    """A page's token as ``new`` and ``attach`` both take it: short printable ASCII, or None."""
    if page is not None and not (0 < len(page) <= 64 and page.isascii() and page.isprintable()):
        raise PlayError("page must be a short token", status=400)
    return page
FPS = 15.0  # steps a second of a screen game (Atari at frameskip 4 runs 15 a second)
HUMAN = "human@browser"  # (not "human": that one is the terminal agent, whose hooks print)
# The directions and the button a screen game's action names are made of, in ALE's order.
_KEY_PARTS = ("UP", "DOWN", "RIGHT", "LEFT", "FIRE")


class PlayError(GamepitError):
    """A request the game refuses (an illegal move, undo with nothing to undo): the page shows
    the message; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def click_targets(state: State, legal: list[int],
                  name_of: Any = None) -> list[dict[str, Any]]:
    """For each legal action: its name and the clicks that choose it, as lists of cell
    indices (one cell, or the from and to squares on a chess-style board); no clicks for an
    action that changes no cell. Names come from the state where it names moves by position
    (chess), else from ``name_of`` (the game's ``action_to_string``)."""
    before = state.board_view()
    cells_before, style = before["cells"], before.get("style", "grid")
    name = state.action_to_string if isinstance(state, HasActionNames) else name_of
    moves = []
    for action in legal:
        child = state.clone()
        child.apply(action)
        after = child.board_view()["cells"]
        emptied = [i for i, (b, a) in enumerate(zip(cells_before, after, strict=False))
                   if b and not a]
        filled = [i for i, (b, a) in enumerate(zip(cells_before, after, strict=False))
                  if a and a != b]
        clicks: list[list[int]] = []
        if style == "chess" and emptied and filled:
            clicks = [[f, t] for f in emptied for t in filled if cells_before[f] == after[t]]
            if not clicks:  # a promotion: the pawn became another piece
                clicks = [[emptied[0], filled[0]]]
        elif filled:
            placed = [i for i in filled if not cells_before[i]]
            clicks = [[(placed or filled)[0]]]
        try:
            label = str(name(action)) if callable(name) else str(action)
        except Exception:  # noqa: BLE001 - a name is a nicety; the number still works
            label = str(action)
        moves.append({"action": int(action), "label": label, "clicks": clicks})
    return moves


def action_for_keys(names: list[str], keys: list[str]) -> int:
    """The action whose name the held keys spell (``up`` + ``left`` + ``fire`` is
    ``UPLEFTFIRE``), dropping the button, then the vertical direction, until the game has
    such an action; NOOP (or action 0) when nothing fits."""
    held = {key.upper() for key in keys}
    if "UP" in held and "DOWN" in held:
        held -= {"UP", "DOWN"}
    if "LEFT" in held and "RIGHT" in held:
        held -= {"LEFT", "RIGHT"}
    index = {name.upper(): action for action, name in enumerate(names)}
    for drop in ((), ("FIRE",), ("UP", "DOWN"), ("UP", "DOWN", "FIRE"), ("RIGHT", "LEFT"),
                 ("RIGHT", "LEFT", "FIRE")):
        wanted = "".join(part for part in _KEY_PARTS if part in held and part not in drop)
        if wanted in index:
            return index[wanted]
    return index.get("NOOP", 0)


class PlayStream(Source):
    """One page's event stream of one game, and what that page has been sent. A game has at
    most one: the same page's next stream replaces it (this one then says ``replaced`` and
    the hub closes it)."""

    def __init__(self, game: PlayGame, page: str) -> None:
        self.game, self.page = game, page
        self.version = 0  # the version of the game's view this page has
        self.frame = -1  # the step of the screen it has
        self.replaced = False

    def poll(self) -> list[dict[str, Any]]:
        return self.game.events_for(self)

    def closed(self) -> None:
        self.game.detach(self)

    def start(self) -> None:
        self.game.start()


class PlayGame:
    """One game in one page. Thread-safe: request threads, the agent's thread, the screen
    loop, the grace timer and the hub share it through ``lock``. ``owner``: the token of the
    page that may follow it (the first to open its stream, unless the page that asked for
    the game named itself)."""

    def __init__(self, table: PlayTable, game_spec: str, agent_spec: str, human_seat: int,
                 seed: int, owner: str | None = None) -> None:
        registry = table.registry
        # the id is an unguessable 64-bit token: it is all a request names a game by
        self.table, self.id, self.owner = table, secrets.token_hex(8), owner
        if agent_spec.partition(":")[0].strip() == "human":
            raise GamepitError("play: 'human' is the terminal agent (it would wait on the "
                               "server's terminal); choose an agent to play against")
        with SCREEN_LOCK:
            self.game = registry.make_game(game_spec)
            self.state = self.game.new_state(seed)
        self.has_frames = isinstance(self.state, HasFrame)
        if not self.has_frames and not isinstance(self.state, HasBoardView):
            raise GamepitError(f"play: {self.game.name} has neither a board view nor screens "
                               "to play in the browser; play it at the terminal")
        players = self.game.num_players
        if self.has_frames and players != 1:
            raise GamepitError(f"play: {self.game.name} is a {players}-player screen game; "
                               "the browser plays screen games alone")
        if not self.has_frames and players != 2:
            raise GamepitError(f"play: {self.game.name} has {players} players; the browser "
                               "seats a person and one agent")
        if not 0 <= human_seat < players:
            raise GamepitError(f"play: seat must be between 0 and {players - 1}")
        self.seed, self.human_seat = seed, human_seat
        self.agent_spec = agent_spec
        self.specs = [HUMAN] if players == 1 else [
            HUMAN if seat == human_seat else agent_spec for seat in range(2)]
        self.agent = None if players == 1 else registry.make_agent(agent_spec, self.game)
        if self.agent is not None:
            self.agent.reset(self.game, 1 - human_seat, seed * 1000 + 1 - human_seat)
        self.lock = threading.RLock()
        # (player, action, info, seconds, name) per step; names of moves need the position
        self.history: list[tuple[int, int, dict[str, Any], float, dict[str, str]]] = []
        self.status = "ready"
        self.created = time.monotonic()
        self.result = ""
        self.replay_path: str | None = None
        self.forfeit: tuple[int, str] | None = None
        self._stream: PlayStream | None = None  # the page's stream, while it is there
        self._away = 0  # times the page left: a grace timer ends the game only for its own
        self._grace: threading.Timer | None = None
        self._acting = False  # the agent's thread is in act(); the game's slot waits for it
        self._ended = False  # recorded; the slot is let go once the agent is not acting
        self.keys: list[str] = []
        self._first_key = threading.Event()  # a screen game waits for the player's first key
        self.fps = table.fps
        self._version = 0
        self._view: dict[str, Any] = {}
        self._frame: dict[str, Any] | None = None
        self.names = [str(self.game.action_to_string(a)) for a in range(self.game.num_actions)] \
            if self.has_frames else []

    # ------------------------------------------------------------------ page requests

    def start(self) -> None:
        """The page is listening: the agent moves if it is first; a screen game starts."""
        with self.lock:
            if self.status != "ready":
                return
            self.status = "playing"
        if self.has_frames:
            threading.Thread(target=self._screen_loop, name=f"gamepit-play-{self.id}",
                             daemon=True).start()
        else:
            self._changed()
            self._agent_if_its_turn()

    def move(self, action: int) -> None:
        with self.lock:
            if self.status != "playing" or self.has_frames:
                raise PlayError("the game is not waiting for a move")
            if self.state.is_terminal() or self.state.current_player != self.human_seat:
                raise PlayError("it is not your turn")
            if not (0 <= action < self.game.num_actions) or \
                    not self.state.legal_mask()[action]:
                raise PlayError(f"illegal move {action}")
            self._apply(self.human_seat, action, {}, 0.0)
        self._agent_if_its_turn()

    def undo(self) -> None:
        """Take back the person's last move and the agent's reply to it."""
        with self.lock:
            if self.has_frames or self.status != "playing" or self.state.is_terminal():
                raise PlayError("undo: only during a board game, on your turn")
            if self.state.current_player != self.human_seat:
                raise PlayError("undo: wait for the agent's move")
            mine = [i for i, entry in enumerate(self.history) if entry[0] == self.human_seat]
            if not mine:
                raise PlayError("undo: you have not moved yet")
            del self.history[mine[-1]:]
            self.state = self.game.new_state(self.seed)
            for entry in self.history:
                self.state.apply(entry[1])
            self.agent.reset(self.game, 1 - self.human_seat, self.seed * 1000 + 1 -
                             self.human_seat)
            self._changed()

    def resign(self) -> None:
        with self.lock:
            if self.status == "over":
                raise PlayError("the game is over")
            self.forfeit = (self.human_seat, "resigned")
        self._end()

    def hold(self, keys: list[str]) -> None:
        if not self.has_frames:
            raise PlayError("keys are for screen games")
        self.keys = [str(key) for key in keys[:8]]
        self._first_key.set()

    @property
    def streaming(self) -> bool:
        """Whether the page is following the game now."""
        return self._stream is not None

    def attach(self, page: str | None) -> PlayStream:
        """A page opens the game's stream (first, or again after a reload or a dropped
        connection): it gets the position, the moves and the agent's last thinking. Only the
        owner may follow a game being played; a page without a token gets one of its own, so
        it can never come back. A game that is over shows any page how it ended."""
        page = checked_page(page) or secrets.token_hex(8)
        with self.lock:
            if self.status == "over":
                return PlayStream(self, page)
            if self.owner is None:
                self.owner = page
            elif page != self.owner:
                raise PlayError("this game is being played in another tab: only the tab that "
                                "started it can play it (it is listed with the replays once "
                                "it ends)", status=409)
            replaced, self._stream = self._stream, PlayStream(self, page)
            self._cancel_grace()
            stream = self._stream
        if replaced is not None:  # (a reload the hub has not noticed, or a dead connection)
            replaced.replaced = True
            self.table.hub.wake()
        return stream

    def detach(self, stream: PlayStream) -> None:
        """``stream`` closed. If it was the page's, the game waits ``table.grace`` seconds for
        the page to come back, then ends as the person's forfeit; a screen game pauses."""
        with self.lock:
            if stream is not self._stream:
                return  # replaced already
            self._stream = None
            if self.status in ("over", "ending"):
                return
            self._away += 1
            pause = self.has_frames and self._first_key.is_set()
            self.keys = []
            self._first_key.clear()  # a screen game waits for a key again
            grace = self.table.grace
            if grace > 0:
                self._grace = threading.Timer(grace, self._grace_over, args=(self._away,))
                self._grace.daemon = True
                self._grace.start()
        if pause:
            self._changed()  # the page that comes back is asked for a key
        if grace <= 0:
            self.abandon()

    def _grace_over(self, away: int) -> None:
        self.abandon(away=away)

    def _cancel_grace(self) -> None:
        """(caller holds the lock)"""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def abandon(self, reason: str = PAGE_CLOSED, wait: bool = False,
                away: int | None = None) -> None:
        """End the game now, unfinished: recorded as the person's forfeit for ``reason``. The
        hub's and the timer's threads call this, and recording a long screen game must not
        hold them up, so the game is recorded in a thread of its own unless ``wait`` (the
        server is stopping). A game already won on the board is left to be recorded so.
        ``away`` (from the grace timer): the departure the timer was started for; the game
        ends only if its page has not come back since, checked under the same lock as the
        ending, so a page back at the last moment keeps its game."""
        with self.lock:
            if away is not None and (self._stream is not None or away != self._away):
                return  # the page came back (and may have left again since)
            self._cancel_grace()
            if self.status in ("over", "ending"):
                return
            self.forfeit = (self.human_seat, reason)
        if wait:
            self._end()
        else:
            threading.Thread(target=self._end, daemon=True).start()

    def describe(self, page: str | None) -> dict[str, Any]:
        """Why a page may not be able to follow the game: whether it is over, whether the
        page may play it (``yours``), whether a page follows it now."""
        with self.lock:
            return {"id": self.id, "status": self.status, "result": self.result,
                    "yours": self.status == "over" or self.owner in (None, page),
                    "attached": self._stream is not None}

    # ------------------------------------------------------------------ the hub asks

    def events_for(self, stream: PlayStream) -> list[dict[str, Any]]:
        """What ``stream``'s page has not been sent yet: the latest screen and position."""
        events: list[dict[str, Any]] = []
        with self.lock:
            if stream.replaced:
                stream.done = True
                return [{"type": "replaced", "id": self.id}]
            if self._frame is not None and self._frame["step"] != stream.frame:
                events.append(self._frame)
                stream.frame = self._frame["step"]
            if self._version != stream.version:
                events.append(self._view)
                stream.version = self._version
        return events

    # ------------------------------------------------------------------ playing

    def _apply(self, player: int, action: int, info: dict[str, Any], seconds: float) -> None:
        """Play an action (caller holds the lock)."""
        names = names_in_position(self.state, {"action": action, "info": info})
        if str(action) not in names:
            try:
                names[str(action)] = str(self.game.action_to_string(action))
            except Exception:  # noqa: BLE001 - a name is a nicety; the number still shows
                pass
        self.state.apply(action)
        self.history.append((player, action, info, seconds, names))
        if self.state.is_terminal():
            self.status = "ending"
        self._changed()

    def _agent_if_its_turn(self) -> None:
        with self.lock:
            if self.status == "ending":
                threading.Thread(target=self._end, daemon=True).start()
                return
            if self.status != "playing" or self.state.current_player == self.human_seat:
                return
            self.status = "thinking"
            self._acting = True
            self._changed()
        threading.Thread(target=self._agent_moves, name=f"gamepit-agent-{self.id}",
                         daemon=True).start()

    def _agent_moves(self) -> None:
        with self.lock:
            view = self.state.clone()
        started = time.perf_counter()
        action, info, problem = -1, {}, ""
        try:
            answer = self.agent.act(view)
        except Exception as error:  # noqa: BLE001 - the agent forfeits, the server goes on
            problem = fault_reason("act", error)
        if not problem:
            try:
                action, info = read_answer(answer)
            except ValueError as error:  # the reason, in read_answer's words
                problem = str(error)
        if not problem and not (0 <= action < self.game.num_actions
                                and view.legal_mask()[action]):
            problem = f"illegal action {action}"
        seconds = time.perf_counter() - started
        let_go = False
        with self.lock:
            self._acting = False
            if self.status != "thinking":  # the page left (or resigned) meanwhile
                let_go = self._ended  # recorded while the agent thought: free its slot now
            elif problem:
                self.forfeit = (1 - self.human_seat, problem)
                self.status = "ending"
            else:
                self.status = "playing"
                self._apply(1 - self.human_seat, action, json_safe(to_json(info)), seconds)
        if let_go:
            self._let_go()
        elif self.status == "ending":
            self._end()

    def _screen_loop(self) -> None:
        self._publish_frame()
        self._changed()
        period = 1.0 / self.fps
        tick = time.perf_counter()
        while True:
            if not self._first_key.is_set():  # before the first key, and while the page is away
                if not self._first_key.wait(0.5):
                    if self.status != "playing":
                        return
                    continue
                self._changed()  # the page hears the game has started (or goes on)
                tick = time.perf_counter()
            tick += period
            delay = tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                tick = time.perf_counter()  # fell behind: do not rush to catch up
            with self.lock:
                if self.status != "playing":
                    return
                action = action_for_keys(self.names, self.keys)
                if not self.state.legal_mask()[action]:
                    action = self.state.legal_actions()[0]
                with SCREEN_LOCK:
                    self.state.apply(action)
                self.history.append((0, action, {}, 0.0, {}))
                over = self.state.is_terminal()
            self._publish_frame()
            if over:
                self._end()
                return

    def _publish_frame(self) -> None:
        with self.lock, SCREEN_LOCK:
            png = encode_png(self.state.frame())
            score = float(self.state.returns()[0])
            self._frame = {"type": "frame", "step": len(self.history), "score": score,
                           "image": base64.b64encode(png).decode("ascii"),
                           "sent": time.time()}
        self.table.hub.wake()

    def _end(self) -> None:
        """Record the game and tell the page (once)."""
        with self.lock:
            if self.status == "over":
                return
            self.status = "over"
            history, forfeit = list(self.history), self.forfeit
        try:
            if history or forfeit == (self.human_seat, "resigned"):  # not one left unplayed
                self.replay_path, self.result = self.table.record(self, history, forfeit)
            else:
                self.result = "ended before any move (not recorded)"
        except Exception as error:  # noqa: BLE001 - the page must hear the game ended
            self.result = f"ended; not recorded: {type(error).__name__}: {error}"
        finally:
            self.table.over(self)
            with self.lock:
                self._ended = True
                acting = self._acting
            if not acting:  # else the agent's thread lets go once act() returns
                self._let_go()
        self._changed()

    def _let_go(self) -> None:
        """Free the game's slot and close its agent (once it is no longer thinking)."""
        self.table.release(self)
        if self.agent is not None:
            self.agent.close()

    def _changed(self) -> None:
        with self.lock:
            self._version += 1
            self._view = self.view()
        self.table.hub.wake()

    def view(self) -> dict[str, Any]:
        """Everything the page draws, JSON-ready (caller holds the lock)."""
        state = self.state
        over = self.status == "over"
        data: dict[str, Any] = {
            "type": "position", "id": self.id, "game": self.game.spec or self.game.name,
            "agents": self.specs, "human_seat": self.human_seat, "status": self.status,
            "steps": len(self.history), "result": self.result, "replay": self.replay_path,
            "kind": "frames" if self.has_frames else "board",
            "player_names": [str(n) for n in getattr(self.game, "player_names", ()) or ()],
        }
        if self.has_frames:
            data["keys"] = self.names
            data["started"] = self._first_key.is_set()
            data["score"] = float(state.returns()[0])
            data["fps"] = self.fps
            return data
        data["board"] = state.board_view()
        data["to_move"] = None if state.is_terminal() else int(state.current_player)
        data["your_turn"] = (self.status == "playing" and not state.is_terminal()
                             and state.current_player == self.human_seat)
        data["moves"] = click_targets(state, state.legal_actions(), self.game.action_to_string) \
            if data["your_turn"] else []
        data["history"] = [{"player": p, "label": names.get(str(a), str(a))}
                           for p, a, _, _, names in self.history]
        agent_moves = [i for i, entry in enumerate(self.history) if entry[0] != self.human_seat]
        if agent_moves:
            player, action, info, seconds, names = self.history[agent_moves[-1]]
            board = self.game.new_state(self.seed)
            for entry in self.history[:agent_moves[-1]]:
                board.apply(entry[1])
            data["agent_move"] = {"action": action, "info": info, "names": names,
                                  "seconds": round(seconds, 3), "board": board.board_view(),
                                  "label": names.get(str(action), str(action))}
        data["can_undo"] = data["your_turn"] and any(
            entry[0] == self.human_seat for entry in self.history)
        if over and not self.result:
            data["result"] = "over"
        return data


class PlayTable:
    """The games of one server, at most ``limit`` at once. ``grace``: seconds a game waits
    for its page to come back (0: it ends as soon as its page's stream closes)."""

    def __init__(self, registry: Any, manager: Any, replay_dir: str | Path | None, hub: Hub,
                 limit: int = MAX_GAMES, fps: float = FPS, grace: float = GRACE) -> None:
        self.registry, self.manager, self.hub = registry, manager, hub
        self.replay_dir = None if replay_dir is None else str(replay_dir)
        self.limit, self.fps, self.grace = limit, fps, grace
        self._games: dict[str, PlayGame] = {}
        self._lock = threading.Lock()
        self.finished: list[PlayGame] = []  # in the order they ended (``gamepit play`` waits)
        self.ended = threading.Condition(self._lock)

    def new(self, game_spec: str, agent_spec: str, human_seat: int = 0,
            seed: int | None = None, page: str | None = None) -> PlayGame:
        """A new game; ``page``: the token of the page asking, which alone may follow it."""
        page = checked_page(page)
        with self._lock:
            unclaimed = [game for game in self._games.values() if game.status == "ready"
                         and not game.streaming
                         and time.monotonic() - game.created > UNCLAIMED]
        for game in unclaimed:  # made, but no page ever opened them
            game.abandon()
        with self._lock:
            if len(self._games) >= self.limit:
                raise PlayError(f"{self.limit} games are being played on this server; finish "
                                "one first", status=429)
        game = PlayGame(self, game_spec, agent_spec, human_seat,
                        secrets.randbelow(2**31) if seed is None else seed, page)
        with self._lock:
            if len(self._games) >= self.limit:
                if game.agent is not None:
                    game.agent.close()
                raise PlayError(f"{self.limit} games are being played on this server; finish "
                                "one first", status=429)
            self._games[game.id] = game
        return game

    def get(self, game_id: str) -> PlayGame:
        with self._lock:
            game = self._games.get(game_id)
            if game is None:
                game = next((g for g in self.finished if g.id == game_id), None)
        if game is None:
            raise PlayError("no such game (it ended, or the server restarted)", status=404)
        return game

    def over(self, game: PlayGame) -> None:
        """The game is recorded (``gamepit play`` waits for this)."""
        with self.ended:
            self.finished = [*self.finished[-20:], game]
            self.ended.notify_all()

    def release(self, game: PlayGame) -> None:
        """The game's slot is free: it is over and its agent is not thinking any more."""
        with self._lock:
            self._games.pop(game.id, None)

    def record(self, game: PlayGame, history: list[tuple[Any, ...]],
               forfeit: tuple[int, str] | None) -> tuple[str | None, str]:
        """Write the finished game as a replay through the match hooks; (path, result)."""
        from gamepit.agents.human import result_in_words

        match = LiveMatch(game.game, game.seed, game.specs,
                          MatchSettings(replay_dir=self.replay_dir, manager=self.manager))
        with SCREEN_LOCK:
            for player, action, info, seconds, _ in history:
                match.play(player, action, info, seconds)
            if forfeit is not None:
                match.forfeit(*forfeit)
            result = match.finish()
        return result.replay_path, result_in_words(game.game, result)

    def close(self) -> None:
        """The server stops: every game still on (waiting for its page too) is recorded,
        unfinished; a game another thread is recording is waited for, a while."""
        with self._lock:
            games = list(self._games.values())
        for game in games:
            game.abandon("unfinished: the server stopped", wait=True)
        deadline = time.monotonic() + 30.0
        with self.ended:
            while any(not game._ended for game in games) and time.monotonic() < deadline:
                self.ended.wait(0.1)
