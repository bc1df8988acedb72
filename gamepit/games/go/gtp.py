"""The Go Text Protocol (GTP version 2) engine: any gamepit agent plays Go for GTP controllers
(GUIs such as Sabaki or GoGui, servers, referees, other engines).

The protocol logic is ``GtpEngine.handle``, one command line in, one response out, so tests
drive it without processes; ``serve`` is the thin loop over stdin and stdout that
``gamepit gtp`` runs. A malformed command, an illegal move or a failing agent becomes a GTP error
response (``? message``); the engine never stops on one.

The engine imports the Go rules (``gamepit.games.go.rules``), which never import it back. It
works with the ``go`` game plugin's interface (``size``, ``komi``, ``pass_action``, vertex
strings, ``state.area_score()``), built through a factory so the registry stays the only place
games are made.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from importlib import metadata
from typing import IO, Any

from gamepit.games.go.rules import COLUMNS, MAX_KOMI, MAX_SIZE, format_score
from gamepit.protocols import Agent, split_act_result

PROTOCOL_VERSION = "2"
COMMANDS = (
    "protocol_version", "name", "version", "known_command", "list_commands", "quit",
    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
    "time_settings", "time_left", "kgs-time_settings", "list_stones", "fixed_handicap",
    "place_free_handicap", "set_free_handicap",
)
_COLOURS = {"b": 0, "black": 0, "w": 1, "white": 1}
_VERTEX = re.compile(r"^([a-hj-z])([0-9]{1,2})$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class GtpFailure(Exception):
    """A command that cannot be carried out; its message becomes the ``?`` response."""


class GtpEngine:
    """Holds the board the controller set up and answers its commands with an agent.

    ``make_game(size, komi)`` builds a Go game. The controller may play either colour at any
    time; a move out of turn is recorded with a pass for the other colour before it, which is
    how a position with two moves in a row is represented in a game that alternates.
    """

    def __init__(self, make_game: Callable[[int, float], Any], agent: Agent, size: int = 9,
                 komi: float = 7.5, seed: int = 0, name: str = "gamepit") -> None:
        self.make_game = make_game
        self.agent = agent
        self.seed = seed
        self.name = name
        self.finished = False  # set by quit
        self.moves: list[tuple[int, int]] = []  # (player, action) in the order played
        self._agent_seat: int | None = None  # the colour the agent was last reset for
        self.clock: tuple[int, int, int] | None = None  # main, byo-yomi time and stones
        self.left: dict[int, tuple[int, int]] = {}  # time_left by colour: seconds, stones
        self._games = 0
        self._set_game(size, komi)

    # ------------------------------------------------------------------ the protocol

    def handle(self, line: str) -> str | None:
        """Answer one command line; ``None`` for a blank or comment-only line. The answer
        ends with the blank line that GTP uses to close a response."""
        line = _CONTROL.sub("", line).replace("\t", " ").split("#", 1)[0].strip()
        if not line:
            return None
        words = line.split()
        command_id = ""
        if words[0].isdigit():
            command_id = words.pop(0)
            if not words:
                return f"?{command_id} missing command\n\n"
        command, arguments = words[0].lower(), words[1:]
        try:
            if command not in COMMANDS:
                raise GtpFailure("unknown command")
            text = getattr(self, f"_cmd_{command.replace('-', '_')}")(arguments)
        except GtpFailure as failure:
            return f"?{command_id} {failure}\n\n"
        except Exception as error:  # an agent or engine bug must not end the session
            message = " ".join(f"{type(error).__name__}: {error}".split())
            return f"?{command_id} internal error: {message}\n\n"
        return f"={command_id} {text}\n\n"

    def handle_bytes(self, raw: bytes) -> str | None:
        """Answer one command line as read from a byte stream: input that is not UTF-8 gets
        a ``?`` response (with the command's id where one can be read), never an exception."""
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            if _CONTROL.sub("", text).split("#", 1)[0].strip() == "":
                return None  # a blank line or a comment: no response, whatever its bytes
            words = text.split()
            command_id = words[0] if words and words[0].isdigit() else ""
            return f"?{command_id} invalid UTF-8 in the command\n\n"
        return self.handle(line)

    def serve(self, stdin: IO[bytes], stdout: IO[str]) -> int:
        """Answer commands from the byte stream ``stdin`` until ``quit`` or the end of input."""
        for raw in iter(stdin.readline, b""):
            response = self.handle_bytes(raw)
            if response is None:
                continue
            stdout.write(response)
            stdout.flush()
            if self.finished:
                break
        return 0

    # ------------------------------------------------------------------ administrative

    def _cmd_protocol_version(self, arguments: list[str]) -> str:
        return PROTOCOL_VERSION

    def _cmd_name(self, arguments: list[str]) -> str:
        return self.name

    def _cmd_version(self, arguments: list[str]) -> str:
        try:
            version = metadata.version("gamepit")
        except metadata.PackageNotFoundError:
            version = "unknown"
        agent = getattr(self.agent, "spec", "") or type(self.agent).__name__
        return f"{version} agent {agent}"

    def _cmd_known_command(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "known_command COMMAND")
        return "true" if arguments[0].lower() in COMMANDS else "false"

    def _cmd_list_commands(self, arguments: list[str]) -> str:
        return "\n".join(COMMANDS)

    def _cmd_quit(self, arguments: list[str]) -> str:
        self.finished = True
        return ""

    # ------------------------------------------------------------------ setup

    def _cmd_boardsize(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "boardsize SIZE")
        size = _integer(arguments[0])
        if not 2 <= size <= MAX_SIZE:
            raise GtpFailure("unacceptable size")
        self.moves = []
        self._set_game(size, self.game.komi)
        return ""

    def _cmd_clear_board(self, arguments: list[str]) -> str:
        self.moves = []
        self._set_game(self.game.size, self.game.komi)
        return ""

    def _cmd_komi(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "komi VALUE")
        try:
            komi = float(arguments[0])
        except ValueError:
            raise GtpFailure("syntax error (komi not a float)") from None
        if not abs(komi) <= MAX_KOMI:  # NaN fails this too
            raise GtpFailure("syntax error (komi out of range)")
        self._set_game(self.game.size, komi)
        return ""

    # Time: the controller's clock becomes the agent's ``think_time`` for each move (search
    # agents stop simulating when it is spent); agents without one think by their own budget.

    def _cmd_time_settings(self, arguments: list[str]) -> str:
        _expect(arguments, 3, "time_settings MAIN_TIME BYO_YOMI_TIME BYO_YOMI_STONES")
        main, byo, stones = (_integer(argument) for argument in arguments)
        if min(main, byo, stones) < 0:
            raise GtpFailure("syntax error (negative time)")
        # GTP: byo-yomi time with no stones means no time limit
        self.clock = None if byo > 0 and stones == 0 else (main, byo, stones)
        self.left = {}
        return ""

    def _cmd_kgs_time_settings(self, arguments: list[str]) -> str:
        if not arguments:
            raise GtpFailure("syntax error (usage: kgs-time_settings none|absolute|byoyomi|"
                             "canadian ...)")
        kind, numbers = arguments[0].lower(), [_integer(a) for a in arguments[1:]]
        wanted = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in wanted or len(numbers) != wanted[kind] or min(numbers, default=0) < 0:
            raise GtpFailure("syntax error (usage: kgs-time_settings none | absolute MAIN | "
                             "byoyomi MAIN PERIOD PERIODS | canadian MAIN TIME STONES)")
        # Japanese byo-yomi: one period a move (the extra periods are a margin we keep)
        self.clock = (None if kind == "none" else (numbers[0], 0, 0) if kind == "absolute"
                      else (numbers[0], numbers[1], 1) if kind == "byoyomi"
                      else (numbers[0], numbers[1], numbers[2]))
        self.left = {}
        return ""

    def _cmd_time_left(self, arguments: list[str]) -> str:
        _expect(arguments, 3, "time_left COLOUR TIME STONES")
        colour = _colour(arguments[0])
        seconds, stones = (_integer(argument) for argument in arguments[1:])
        self.left[colour] = (max(seconds, 0), max(stones, 0))
        return ""

    def think_time(self, player: int) -> float | None:
        """Seconds for the agent's next move under the clock: in byo-yomi 80% of a period's
        share per stone; in main time the time left over the moves likely left (at least 10),
        plus the byo-yomi share. None without a clock."""
        if self.clock is None:
            return None
        main, byo, stones = self.clock
        seconds, stones_left = self.left.get(player, (main, 0) if main > 0 else (byo, stones))
        if stones_left > 0:
            return max(0.05, 0.8 * seconds / stones_left)
        moves_left = max(10.0, (self.game.size ** 2 - len(self.moves)) / 3)
        extra = 0.8 * byo / stones if byo > 0 and stones > 0 else 0.0
        return max(0.05, seconds / moves_left + extra)

    # Handicap: black's stones with a pass for white between them, so white moves next in a
    # game that alternates (as a move out of turn is recorded).

    def _cmd_fixed_handicap(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "fixed_handicap NUMBER_OF_STONES")
        return self._place_handicap(fixed_handicap(self.game.size, _integer(arguments[0])))

    def _cmd_place_free_handicap(self, arguments: list[str]) -> str:
        # the engine's choice of free placement: the fixed points, which are good shape
        _expect(arguments, 1, "place_free_handicap NUMBER_OF_STONES")
        count = _integer(arguments[0])
        if count < 2 or count > self.game.size ** 2 - 1:
            raise GtpFailure("invalid number of stones")
        return self._place_handicap(fixed_handicap(self.game.size, min(count, 9 if (
            self.game.size % 2 and self.game.size >= 9) else 4)))

    def _cmd_set_free_handicap(self, arguments: list[str]) -> str:
        if len(arguments) < 2:
            raise GtpFailure("bad vertex list")
        points = [self._vertex(argument) for argument in arguments]
        if self.game.pass_action in points or len(set(points)) != len(points):
            raise GtpFailure("bad vertex list")
        self._place_handicap(points)
        return ""

    def _place_handicap(self, points: list[int]) -> str:
        if self.moves:
            raise GtpFailure("board not empty")
        state = self.state
        for point in points:
            state = self._played(state, 0, point)
        self.state = state
        self.moves = [(0, point) for point in points]
        return " ".join(self.game.action_to_string(point) for point in points)

    # ------------------------------------------------------------------ play

    def _cmd_play(self, arguments: list[str]) -> str:
        _expect(arguments, 2, "play COLOUR VERTEX")
        player = _colour(arguments[0])
        action = self._vertex(arguments[1])
        self.state = self._played(self.state, player, action)
        self.moves.append((player, action))
        return ""

    def _cmd_genmove(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "genmove COLOUR")
        player = _colour(arguments[0])
        state = self.state
        if state.is_terminal():
            return "pass"  # nothing is left to play once both sides passed
        if state.current_player != player:
            state = self._played(state, 1 - player, self.game.pass_action)
            if state.is_terminal():
                return "pass"
        if self._agent_seat != player:
            self.agent.reset(self.game, player, self.seed + 2 * self._games + player)
            self._agent_seat = player
        if hasattr(self.agent, "think_time"):
            self.agent.think_time = self.think_time(player)
        started = time.monotonic()
        action, info = split_act_result(self.agent.act(state.clone()))
        if self.clock is not None and player in self.left:  # our clock runs till we get one
            seconds, stones = self.left[player]
            self.left[player] = (max(0, seconds - int(time.monotonic() - started)),
                                 max(0, stones - 1) if stones else 0)
        if info.get("resign"):
            return "resign"
        if not 0 <= action < self.game.num_actions or not state.legal_mask()[action]:
            raise GtpFailure(f"the agent chose an illegal action {action}")
        state = self._played(state, player, action)
        self.state = state
        self.moves.append((player, action))
        return self.game.action_to_string(action)

    def _cmd_undo(self, arguments: list[str]) -> str:
        if not self.moves:
            raise GtpFailure("cannot undo")
        self.moves.pop()
        self._replay()
        return ""

    # ------------------------------------------------------------------ looking

    def _cmd_showboard(self, arguments: list[str]) -> str:
        return "\n" + self.state.render()

    def _cmd_final_score(self, arguments: list[str]) -> str:
        return format_score(self.state.area_score())

    def _cmd_list_stones(self, arguments: list[str]) -> str:
        _expect(arguments, 1, "list_stones COLOUR")
        stones = self.state.board()[_colour(arguments[0])].reshape(-1)
        return " ".join(self.game.action_to_string(int(point)) for point in stones.nonzero()[0])

    # ------------------------------------------------------------------ helpers

    def _set_game(self, size: int, komi: float) -> None:
        """(Re)build the game and replay the moves on it (komi changes keep the position)."""
        self.game = self.make_game(size, komi)
        self._games += 1
        self._agent_seat = None  # the agent must be reset for the new game object
        self._replay()

    def _replay(self) -> None:
        state = self.game.new_state()
        for player, action in self.moves:
            state = self._played(state, player, action)
        self.state = state

    def _played(self, state: Any, player: int, action: int) -> Any:
        """The state after ``player`` plays ``action`` (a pass for the other colour first if
        it is out of turn); ``state`` itself is left as it was."""
        if state.is_terminal():
            raise GtpFailure("illegal move (the game is over)")
        state = state.clone()
        if state.current_player != player:
            state.apply(self.game.pass_action)
            if state.is_terminal():
                raise GtpFailure("illegal move (out of turn right after a pass)")
        if not state.legal_mask()[action]:
            raise GtpFailure("illegal move")
        state.apply(action)
        return state

    def _vertex(self, text: str) -> int:
        if text.lower() == "pass":
            return self.game.pass_action
        match = _VERTEX.match(text)
        if not match:
            raise GtpFailure(f"syntax error (invalid vertex {text!r})")
        size = self.game.size
        column = COLUMNS.find(match.group(1).upper())
        rank = int(match.group(2))
        if not 0 <= column < size or not 1 <= rank <= size:
            raise GtpFailure("illegal move (off the board)")
        return (size - rank) * size + column


def fixed_handicap(size: int, count: int) -> list[int]:
    """GTP's fixed handicap points as actions (row from the top, column): the 4-4 points from
    13x13 up, the 3-3 points below, then the sides and the centre; up to 9 stones on odd boards
    from 9x9, 4 on 7x7, 8x8 and other even boards."""
    if size < 7:
        raise GtpFailure("invalid number of stones (no fixed handicap below 7x7)")
    limit = 9 if size % 2 and size >= 9 else 4
    if not 2 <= count <= limit:
        raise GtpFailure("invalid number of stones")
    low = 3 if size >= 13 else 2
    high, mid = size - 1 - low, size // 2
    # (column, row from the bottom) in GTP's order: corners, then sides, then the centre
    corners = [(low, low), (high, high), (low, high), (high, low)]
    sides = [(low, mid), (high, mid), (mid, low), (mid, high)]
    centre = [(mid, mid)]
    chosen = {2: corners[:2], 3: corners[:3], 4: corners, 5: corners + centre,
              6: corners + sides[:2], 7: corners + sides[:2] + centre, 8: corners + sides,
              9: corners + sides + centre}[count]
    return [(size - 1 - row) * size + column for column, row in chosen]


def _expect(arguments: list[str], count: int, usage: str) -> None:
    if len(arguments) != count:
        raise GtpFailure(f"syntax error (usage: {usage})")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GtpFailure(f"syntax error ({text!r} is not an integer)") from None


def _colour(text: str) -> int:
    try:
        return _COLOURS[text.lower()]
    except KeyError:
        raise GtpFailure(f"syntax error (invalid colour {text!r})") from None
