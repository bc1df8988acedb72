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
from collections.abc import Callable
from importlib import metadata
from typing import IO, Any

from gamepit.games.go.rules import COLUMNS, MAX_KOMI, MAX_SIZE, format_score
from gamepit.protocols import Agent, split_act_result

PROTOCOL_VERSION = "2"
COMMANDS = (
    "protocol_version", "name", "version", "known_command", "list_commands", "quit",
    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
    "time_settings", "time_left", "list_stones",
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
            text = getattr(self, f"_cmd_{command}")(arguments)
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

    def _cmd_time_settings(self, arguments: list[str]) -> str:
        # Accepted so controllers can send them; agents here think by their own budget.
        _expect(arguments, 3, "time_settings MAIN_TIME BYO_YOMI_TIME BYO_YOMI_STONES")
        for argument in arguments:
            _integer(argument)
        return ""

    def _cmd_time_left(self, arguments: list[str]) -> str:
        _expect(arguments, 3, "time_left COLOUR TIME STONES")
        _colour(arguments[0])
        for argument in arguments[1:]:
            _integer(argument)
        return ""

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
        action, info = split_act_result(self.agent.act(state.clone()))
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
