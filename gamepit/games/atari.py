"""Atari 2600 games on the Arcade Learning Environment, for one player and for several.

Two games are registered:

- ``atari:game=NAME`` (or ``atari:NAME``): any ROM that ale-py ships, played by one agent. Its
  simulator State steps a shared ``ale_py.ALEInterface`` with the Nature DQN preprocessing
  (no-op starts, frame skip with a max over the last two frames, 84x84 grayscale, a frame
  stack, fire on reset) and clones by emulator snapshot, so planners can search it. The
  Gymnasium and vector faces (``gamepit.games.atari_gym``) apply the same options, plus the
  training-only episodic life and reward clipping.
- ``atari_mp:game=NAME`` (or ``atari_mp:NAME``): PettingZoo's multi-player Atari games (Pong,
  Boxing, Tennis...), with ROMs read from ale-py's folder. Players choose in turn; the emulator
  steps once every player has chosen, so two agents can play each other at Pong in the arena.

The simulator draws sticky actions itself, from a generator whose state lives in each State:
the ALE's snapshots leave out the action that stickiness repeats, so with the ALE's own sticky
actions a restored state would not re-simulate what the original did. All states of one ROM
share one emulator (a ROM takes most of a second to load), so states are not thread-safe.

ROMs are never downloaded: both games read them from the folder ale-py installs. This module
imports only numpy and the kernel; ale-py, PettingZoo and OpenCV are imported when a game is
built, so listing plugins stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
from typing import Any

import numpy as np

from gamepit.errors import GamepitError, SpecError
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game, Option
from gamepit.protocols import game as game_entry

SCREEN_SIZE = 84
# Option ranges, declared once on the Options below so the spec parser checks them.
MAX_FRAME_SKIP = 100
MAX_NOOPS = 10_000
MAX_FRAMES = 100_000_000
MAX_FRAME_STACK = 64

ATARI_OPTIONS = (
    Option("game", str, "pong", "ROM name as ale-py ships it, snake_case (pong, ms_pacman...)"),
    Option("sticky", float, 0.25, "probability of repeating the previous action (ALE v5)",
           low=0.0, high=1.0),
    Option("full_action_space", bool, False, "all 18 joystick actions, not the game's minimal set"),
    Option("frame_skip", int, 4, "emulator frames per action; screen max of the last two",
           low=1, high=MAX_FRAME_SKIP),
    Option("noop_max", int, 30, "up to this many no-op frames at the start (seeded)",
           low=0, high=MAX_NOOPS),
    Option("max_frames", int, 108000, "episode cap in emulator frames (108000 = 30 minutes)",
           low=1, high=MAX_FRAMES),
    Option("fire_reset", bool, True, "press FIRE at the start in games that need it"),
    Option("frame_stack", int, 4, "frames stacked in the observation",
           low=1, high=MAX_FRAME_STACK),
    Option("episodic_life", bool, True, "training faces only: a lost life ends the episode"),
    Option("clip_rewards", bool, True, "training faces only: rewards clipped to their sign"),
)

ATARI_MP_OPTIONS = (
    Option("game", str, "pong", "PettingZoo Atari game without version (pong, boxing, tennis...)"),
    Option("sticky", float, 0.0, "probability of repeating a player's previous action",
           low=0.0, high=1.0),
    Option("full_action_space", bool, False, "all 18 joystick actions, not the game's minimal set"),
    Option("frame_skip", int, 4, "emulator frames per joint action; screen max of the last two",
           low=1, high=MAX_FRAME_SKIP),
    Option("noop_max", int, 30, "up to this many no-op frames at the start (seeded)",
           low=0, high=MAX_NOOPS),
    Option("max_frames", int, 108000, "episode cap in emulator frames",
           low=1, high=MAX_FRAMES),
    Option("frame_stack", int, 4, "frames stacked in the observation",
           low=1, high=MAX_FRAME_STACK),
)

# Random and human reference scores for Atari, keyed by ALE game name, as tabulated in the
# appendices of the Nature DQN paper (Mnih et al. 2015) and Agent57 (Badia et al. 2020).
# A single-player game offers its pair as ``reference_scores``, for human-normalised scores.
ATARI_REFERENCES: dict[str, tuple[float, float]] = {  # name: (random, human)
    "alien": (227.8, 7127.7),
    "amidar": (5.8, 1719.5),
    "assault": (222.4, 742.0),
    "asterix": (210.0, 8503.3),
    "asteroids": (719.1, 47388.7),
    "atlantis": (12850.0, 29028.1),
    "bank_heist": (14.2, 753.1),
    "battle_zone": (2360.0, 37187.5),
    "beam_rider": (363.9, 16926.5),
    "bowling": (23.1, 160.7),
    "boxing": (0.1, 12.1),
    "breakout": (1.7, 30.5),
    "centipede": (2090.9, 12017.0),
    "chopper_command": (811.0, 7387.8),
    "crazy_climber": (10780.5, 35829.4),
    "demon_attack": (152.1, 1971.0),
    "enduro": (0.0, 860.5),
    "fishing_derby": (-91.7, -38.7),
    "freeway": (0.0, 29.6),
    "frostbite": (65.2, 4334.7),
    "gopher": (257.6, 2412.5),
    "hero": (1027.0, 30826.4),
    "ice_hockey": (-11.2, 0.9),
    "kangaroo": (52.0, 3035.0),
    "montezuma_revenge": (0.0, 4753.3),
    "ms_pacman": (307.3, 6951.6),
    "pong": (-20.7, 14.6),
    "private_eye": (24.9, 69571.3),
    "qbert": (163.9, 13455.0),
    "riverraid": (1338.5, 17118.0),
    "road_runner": (11.5, 7845.0),
    "seaquest": (68.4, 42054.7),
    "space_invaders": (148.0, 1668.7),
    "tennis": (-23.8, -8.3),
    "venture": (0.0, 1187.5),
    "zaxxon": (32.5, 9173.3),
}


# --------------------------------------------------------------------------- ROMs


def rom_folder() -> str:
    """The folder of ROMs that ale-py ships; the only place gamepit reads ROMs from."""
    from ale_py import roms

    return os.path.dirname(roms.__file__)


def rom_names() -> list[str]:
    """Every ROM name ale-py ships (``pong``, ``ms_pacman``...)."""
    from ale_py import roms

    return sorted(roms.get_all_rom_ids())


def _snake_case(name: str) -> str:
    """``MsPacman``, ``ms-pacman`` and ``ms_pacman`` all name the same ROM."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip())
    return name.replace("-", "_").lower()


def _choose(kind: str, name: str, known: list[str]) -> str:
    wanted = _snake_case(name)
    if wanted in known:
        return wanted
    close = difflib.get_close_matches(wanted, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    raise SpecError(f"{kind}: no game named {name!r}{hint}")


def _require(condition: bool, message: str) -> None:
    """Bad option values are user mistakes; the registry turns ValueError into SpecError."""
    if not condition:
        raise ValueError(message)


# --------------------------------------------------------------------------- emulators
# Two small adapters give the one state class the same verbs over ale-py's single-player
# interface and PettingZoo's multi-agent one. Joint actions are tuples of action indices.
# Emulators are shared by every game built with the same ROM and action set (loading a ROM
# takes a good part of a second, more for PettingZoo's); states restore their own snapshot
# whenever ``holder`` shows that someone else moved the emulator. Not thread-safe.

_EMULATORS: dict[tuple[Any, ...], Any] = {}


def _shared_emulator(key: tuple[Any, ...], build: Any) -> Any:
    if key not in _EMULATORS:
        _EMULATORS[key] = build()
    return _EMULATORS[key]


class _Emulator:
    """What both adapters keep beside the emulator: who it holds now, and its boot."""

    holder: Any = None  # the snapshot the emulator holds now (by identity), if known

    def _capture_boot(self) -> None:
        # Restoring a snapshot brings back neither the screen nor (multi-agent ALE) a fresh
        # RAM copy, so the boot keeps its own for a start that emulates no frame.
        gray = np.zeros(self.screen_shape, dtype=np.uint8)
        self.grayscale(gray)
        self.boot = (self.snapshot(), self.ram(), np.array(self.rgb(), dtype=np.uint8), gray)


class _SingleEmulator(_Emulator):
    """ale-py's ALEInterface, one player, without the ALE's own sticky actions: its snapshots
    leave out the previous action that stickiness repeats, so a restored state would not
    re-simulate identically. The state does sticky actions itself (``AtariBase._press``)."""

    num_players = 1

    def __init__(self, rom: str, full_action_space: bool) -> None:
        import ale_py
        from ale_py import roms

        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # before the banner prints
        self.ale = ale_py.ALEInterface()
        self.ale.setFloat("repeat_action_probability", 0.0)
        self.ale.setInt("random_seed", 0)  # the same boot in every process
        self.ale.loadROM(str(roms.get_rom_path(rom)))
        self.actions = (self.ale.getLegalActionSet() if full_action_space
                        else self.ale.getMinimalActionSet())
        self.action_names = [action.name for action in self.actions]
        self.screen_shape = tuple(self.ale.getScreenDims())
        self._capture_boot()

    def reset(self) -> None:
        self.ale.reset_game()

    def snapshot(self) -> Any:
        return self.ale.cloneState()

    def restore(self, snapshot: Any) -> None:
        self.ale.restoreState(snapshot)

    def act(self, joint: tuple[int, ...]) -> tuple[float, ...]:
        return (float(self.ale.act(self.actions[joint[0]])),)

    def grayscale(self, out: np.ndarray) -> None:
        self.ale.getScreenGrayscale(out)

    def rgb(self) -> np.ndarray:
        return self.ale.getScreenRGB()

    def ram(self) -> bytes:
        return self.ale.getRAM().tobytes()

    def game_over(self) -> bool:
        return bool(self.ale.game_over())

    def lives(self) -> tuple[int, ...]:
        return (int(self.ale.lives()),)


class _MultiEmulator(_Emulator):
    """PettingZoo's multi-player Atari emulator (multi-agent ALE), ROM from ale-py's folder.

    Only PettingZoo's emulator and action mapping are used; the stepping, preprocessing and
    snapshots are ours, so the State clones like the single-player one.
    """

    def __init__(self, module: Any, full_action_space: bool) -> None:
        import ale_py

        parallel = module.raw_env(auto_rom_install_path=rom_folder(), seed=0,
                                  full_action_space=full_action_space).unwrapped
        self.parallel = parallel
        self.ale = parallel.ale
        self.num_players = int(parallel.num_players)
        self.mapping = np.asarray(parallel.action_mapping, dtype=np.intc)
        self.action_names = [ale_py.Action(int(code)).name for code in self.mapping]
        width, height = self.ale.getScreenDims()
        self.screen_shape = (int(height), int(width))
        self.ale.reset_game()
        self._capture_boot()

    def reset(self) -> None:
        self.ale.reset_game()

    def snapshot(self) -> Any:
        return self.parallel.clone_full_state()  # an encoded array: freed with the state

    def restore(self, snapshot: Any) -> None:
        self.parallel.restore_full_state(snapshot)

    def act(self, joint: tuple[int, ...]) -> tuple[float, ...]:
        return tuple(float(r) for r in self.ale.act(self.mapping[list(joint)]))

    def grayscale(self, out: np.ndarray) -> None:
        self.ale.getScreenGrayscale(out)

    def rgb(self) -> np.ndarray:
        return np.asarray(self.ale.getScreenRGB()).reshape(*self.screen_shape, 3)

    def ram(self) -> bytes:
        return np.asarray(self.ale.getRAM()).tobytes()

    def game_over(self) -> bool:
        return bool(self.ale.game_over())

    def lives(self) -> tuple[int, ...]:
        return tuple(int(life) for life in self.ale.allLives())


# --------------------------------------------------------------------------- the state

# Sticky actions draw from a 64-bit linear congruential generator whose state is one int in
# each AtariState: cloning copies it, so a clone's future is the original's (replays and
# planners rely on that), and a draw costs a multiply, not a numpy call per frame.
_LCG_MULTIPLIER = 6364136223846793005
_LCG_INCREMENT = 1442695040888963407
_LCG_MASK = (1 << 64) - 1


class AtariState(BaseState):
    """A position in an Atari game: an emulator snapshot plus the preprocessed frame stack.

    All states of one game share one emulator. ``apply`` restores this state's snapshot into
    it (skipped when the emulator already holds it), steps, and takes a new snapshot, so a
    clone costs a few attribute copies: snapshots and frame stacks are never changed in place,
    only replaced. In multi-player games players choose in turn and the emulator steps when
    the last player of the round has chosen; until then the choices wait in ``pending``.
    """

    __slots__ = ("game", "snapshot", "sticky_rng", "held", "stack", "ram", "frames", "score",
                 "lives", "over", "pending", "screen", "parent")

    def __init__(self, game: AtariBase, seed: int) -> None:
        self.game = game
        self.snapshot: Any = None
        self.sticky_rng = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
        self.held = (0,) * game.num_players  # the actions in force, that stickiness repeats
        self.stack: np.ndarray = np.zeros(game.observation_shape, dtype=np.uint8)
        self.ram = b""
        self.frames = 0
        self.score = [0.0] * game.num_players
        self.lives: tuple[int, ...] = ()
        self.over = False
        self.pending: tuple[int, ...] = ()
        self.screen: np.ndarray | None = None  # only start states keep their screen
        # (snapshot, sticky_rng, held, joint action) before the last step, to redraw it
        self.parent: tuple[Any, int, tuple[int, ...], tuple[int, ...]] | None = None

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else len(self.pending)

    def is_terminal(self) -> bool:
        return self.over or self.frames >= self.game.max_frames

    def legal_mask(self) -> np.ndarray:
        return np.full(self.game.num_actions, not self.is_terminal(), dtype=bool)

    def legal_actions(self) -> list[int]:
        return [] if self.is_terminal() else list(range(self.game.num_actions))

    def apply(self, action: int) -> None:
        if self.is_terminal():
            raise ValueError(f"{self.game.name}: the episode is over")
        if not 0 <= action < self.game.num_actions:
            raise ValueError(f"{self.game.name}: action {action} is not in "
                             f"0..{self.game.num_actions - 1}")
        joint = self.pending + (int(action),)
        if len(joint) < self.game.num_players:
            self.pending = joint
            return
        self.pending = ()
        self.game._step(self, joint)

    def clone(self) -> AtariState:
        other = AtariState.__new__(AtariState)
        for name in AtariState.__slots__:
            setattr(other, name, getattr(self, name))
        other.score = self.score[:]
        return other

    def reseed(self, seed: int) -> None:
        """Draw the future sticky actions from a new stream started by ``seed``: the same
        position with another future, for planners that sample chance (``planner``)."""
        seed = int(seed) & (2 ** 63 - 1)
        self.sticky_rng = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])

    def returns(self) -> list[float]:
        """The game's own score per player, summed since the start (never clipped)."""
        return self.score[:]

    def observation(self, player: int) -> np.ndarray:
        """The stacked frames (frame_stack, 84, 84) uint8, oldest first; every player sees
        the same screen. Read-only: states share it."""
        return self.stack

    def render(self) -> str:
        scores = " : ".join(f"{s:g}" for s in self.score)
        text = f"{self.game.rom} frame {self.frames} score {scores}"
        if self.lives and max(self.lives) > 0:
            text += " lives " + " : ".join(str(life) for life in self.lives)
        if self.over:
            text += " (game over)"
        elif self.is_terminal():
            text += " (time limit)"
        elif self.game.num_players > 1:
            text += f", player {len(self.pending)} to choose"
        return text

    def fingerprint(self) -> bytes:
        numbers = np.array([self.frames, self.over, *self.score, *self.lives, *self.pending,
                            *self.held], dtype=np.float64)
        return (self.ram + numbers.tobytes() + self.sticky_rng.to_bytes(8, "little")
                + self.stack.tobytes())

    def frame(self) -> np.ndarray:
        """The RGB screen (210, 160, 3) uint8, for the replay viewer.

        Emulator snapshots hold no screen, so this replays the last joint action from the
        snapshot before it (with the same sticky draws) and reads the screen.
        """
        if self.screen is not None:
            return self.screen
        return self.game._redraw(self)


# --------------------------------------------------------------------------- games


class AtariBase(Game):
    """What single- and multi-player Atari share: emulator stepping and preprocessing."""

    observation_dtype = np.uint8
    observation_bounds = (0, 255)
    rom = ""
    # (random, human) scores of the published reference players, for human-normalised
    # scores; None where none were published for this game and number of players.
    reference_scores: tuple[float, float] | None = None

    def _setup(self, emulator: Any, sticky: float, frame_skip: int, noop_max: int,
               max_frames: int, frame_stack: int, fire_reset: bool) -> None:
        _require(0.0 <= sticky <= 1.0, "sticky must be a probability in [0, 1]")
        _require(frame_skip >= 1, "frame_skip must be at least 1")
        _require(noop_max >= 0, "noop_max must be 0 or more")
        _require(max_frames >= 1, "max_frames must be at least 1")
        _require(frame_stack >= 1, "frame_stack must be at least 1")
        import cv2

        self._resize = cv2.resize
        self._area = cv2.INTER_AREA
        self._emulator = emulator
        self.num_players = emulator.num_players
        self.num_actions = len(emulator.action_names)
        self.action_names = list(emulator.action_names)
        self.sticky = sticky
        self._sticky_below = int(sticky * 2.0 ** 64)  # a draw below this repeats the action
        self.frame_skip = frame_skip
        self.noop_max = noop_max
        self.max_frames = max_frames
        self.observation_shape = (frame_stack, SCREEN_SIZE, SCREEN_SIZE)
        names = self.action_names
        self._fire = fire_reset and len(names) >= 3 and names[1] == "FIRE"
        self._buffers = [np.zeros(emulator.screen_shape, dtype=np.uint8) for _ in range(2)]
        self._pooled = np.zeros(emulator.screen_shape, dtype=np.uint8)
        self._boot_frame = self._shrink(emulator.boot[3])

    # ------------------------------------------------------------------ states

    def new_state(self, seed: int | None = None) -> AtariState:
        """The start of an episode: a seeded number of no-op frames, then FIRE where the game
        needs it. The seed also starts the sticky-action draws, so a seed and an action
        sequence always give the same game (replays rely on it)."""
        if seed is None:
            seed = int(np.random.default_rng().integers(2 ** 31))
        seed = int(seed) & (2 ** 63 - 1)  # numpy seeds must not be negative
        emulator = self._emulator
        emulator.restore(emulator.boot[0])
        state = AtariState(self, int(seed))
        noop = (0,) * self.num_players
        rng = np.random.default_rng(seed)
        for _ in range(int(rng.integers(1, self.noop_max + 1)) if self.noop_max else 0):
            self._add(state.score, emulator.act(self._press(state, noop)))
            state.frames += 1
            if emulator.game_over():
                emulator.reset()
        frame = None
        for press in ((1,), (2,)) if self._fire else ():
            rewards, frame, frames = self._advance(state, press, process=True)
            self._add(state.score, rewards)
            state.frames += frames
        if state.frames == 0:
            _, state.ram, state.screen, _ = emulator.boot
            frame = self._boot_frame
        else:
            state.ram = emulator.ram()
            state.screen = np.array(emulator.rgb(), dtype=np.uint8)
        if frame is None:
            emulator.grayscale(self._pooled)
            frame = self._shrink(self._pooled)
        # Older frames start black, as in ale-py's vector env that learners train on.
        state.stack = np.zeros(self.observation_shape, dtype=np.uint8)
        state.stack[-1] = frame
        state.stack.flags.writeable = False
        state.snapshot = emulator.snapshot()
        emulator.holder = state.snapshot
        state.lives = emulator.lives()
        state.over = emulator.game_over()
        return state

    def _step(self, state: AtariState, joint: tuple[int, ...]) -> None:
        emulator = self._emulator
        if emulator.holder is not state.snapshot:
            emulator.restore(state.snapshot)
        state.parent = (state.snapshot, state.sticky_rng, state.held, joint)
        rewards, frame, frames = self._advance(state, joint, process=True)
        state.snapshot = emulator.snapshot()
        emulator.holder = state.snapshot
        self._add(state.score, rewards)
        state.frames += frames
        stack = np.concatenate((state.stack[1:], frame[None]))
        stack.flags.writeable = False
        state.stack = stack
        state.ram = emulator.ram()
        state.lives = emulator.lives()
        state.over = emulator.game_over()
        state.screen = None

    def _press(self, state: AtariState, joint: tuple[int, ...]) -> tuple[int, ...]:
        """The actions in force this frame: each player's previous one with probability
        ``sticky`` (ALE v5's sticky actions), else the chosen one."""
        if not self._sticky_below:
            return joint
        rng, held = state.sticky_rng, list(state.held)
        for player, action in enumerate(joint):
            rng = (rng * _LCG_MULTIPLIER + _LCG_INCREMENT) & _LCG_MASK
            if rng >= self._sticky_below:
                held[player] = action
        state.sticky_rng, state.held = rng, tuple(held)
        return state.held

    def _advance(self, state: AtariState, joint: tuple[int, ...], process: bool
                 ) -> tuple[list[float], np.ndarray | None, int]:
        """Hold ``joint`` for frame_skip frames (fewer if the game ends); returns the rewards
        per player, the 84x84 max of the last two screens (if ``process``), and the frames."""
        emulator = self._emulator
        rewards = [0.0] * self.num_players
        last = previous = None
        frames = 0
        for i in range(self.frame_skip):
            self._add(rewards, emulator.act(self._press(state, joint)))
            frames += 1
            over = emulator.game_over()
            if process and (i >= self.frame_skip - 2 or over):
                buffer = self._buffers[i % 2]
                emulator.grayscale(buffer)
                previous, last = last, buffer
            if over:
                break
        if not process:
            return rewards, None, frames
        screen = last if previous is None else np.maximum(last, previous, out=self._pooled)
        return rewards, self._shrink(screen), frames

    def _shrink(self, screen: np.ndarray) -> np.ndarray:
        return self._resize(screen, (SCREEN_SIZE, SCREEN_SIZE), interpolation=self._area)

    @staticmethod
    def _add(total: list[float], rewards: tuple[float, ...] | list[float]) -> None:
        for i, reward in enumerate(rewards):
            total[i] += reward

    def _redraw(self, state: AtariState) -> np.ndarray:
        assert state.parent is not None
        snapshot, sticky_rng, held, joint = state.parent
        scratch = state.clone()
        scratch.sticky_rng, scratch.held = sticky_rng, held
        self._emulator.restore(snapshot)
        self._advance(scratch, joint, process=False)
        self._emulator.holder = None  # equal to state.snapshot in content, not the same object
        return np.array(self._emulator.rgb(), dtype=np.uint8)

    # ------------------------------------------------------------------ names

    def action_to_string(self, action: int) -> str:
        return self.action_names[action]

    def string_to_action(self, text: str) -> int:
        text = text.strip()
        if text.isdigit() and int(text) < self.num_actions:
            return int(text)
        if text.upper() in self.action_names:
            return self.action_names.index(text.upper())
        raise ValueError(f"expected an action number 0..{self.num_actions - 1} or one of "
                         + ", ".join(self.action_names))


class AtariGame(AtariBase):
    """One player on any ROM ale-py ships, with DQN-style preprocessing on every face."""

    num_players = 1
    # Deterministic given the state: sticky-action draws are part of it (a planner that
    # clones therefore sees the same draws it will meet; seed new states to vary them).
    capabilities = Capabilities(gymnasium=True, vector=True, deterministic=True,
                                perfect_information=False)

    def __init__(self, game: str = "pong", sticky: float = 0.25,
                 full_action_space: bool = False, frame_skip: int = 4, noop_max: int = 30,
                 max_frames: int = 108000, fire_reset: bool = True, frame_stack: int = 4,
                 episodic_life: bool = True, clip_rewards: bool = True) -> None:
        self.rom = _choose("atari", game, rom_names())
        self.name = f"atari_{self.rom}"
        self.reference_scores = ATARI_REFERENCES.get(self.rom)
        self.full_action_space = full_action_space
        self.fire_reset = fire_reset
        self.episodic_life = episodic_life
        self.clip_rewards = clip_rewards
        emulator = _shared_emulator(("ale", self.rom, full_action_space),
                                    lambda: _SingleEmulator(self.rom, full_action_space))
        self._setup(emulator, sticky, frame_skip,
                    noop_max, max_frames, frame_stack, fire_reset)

    def face_options(self, **overrides: Any) -> dict[str, Any]:
        """The game's options as the training faces take them, with ``overrides`` applied."""
        options = {"game": self.rom, "sticky": self.sticky,
                   "full_action_space": self.full_action_space, "frame_skip": self.frame_skip,
                   "noop_max": self.noop_max, "max_frames": self.max_frames,
                   "fire_reset": self.fire_reset, "frame_stack": self.observation_shape[0],
                   "episodic_life": self.episodic_life, "clip_rewards": self.clip_rewards}
        options.update(overrides)
        return options

    def gym_env(self, **kwargs: Any) -> Any:
        """A Gymnasium env with the same preprocessing (see ``gamepit.games.atari_gym``);
        keyword arguments override the game's options (``render_mode`` passes through)."""
        from gamepit.games.atari_gym import make_gym_env

        return make_gym_env(**self.face_options(**kwargs))

    def vector_env(self, num_envs: int, seed: int | None = None, **kwargs: Any) -> Any:
        """ale-py's ``AtariVectorEnv`` with the same options (see ``gamepit.games.atari_gym``);
        keyword arguments override the game's options or pass through to it."""
        from gamepit.games.atari_gym import make_vector_env

        return make_vector_env(num_envs, seed, **self.face_options(**kwargs))


def multi_player_games() -> dict[str, str]:
    """PettingZoo's multi-player Atari games: name without version -> module name."""
    import pkgutil

    import pettingzoo.atari

    modules = [m.name for m in pkgutil.iter_modules(pettingzoo.atari.__path__)]
    return {re.sub(r"_v\d+$", "", m): m for m in modules if re.search(r"_v\d+$", m)}


class AtariMultiGame(AtariBase):
    """PettingZoo's multi-player Atari games; players choose in turn each round."""

    capabilities = Capabilities(deterministic=True, perfect_information=False)

    def __init__(self, game: str = "pong", sticky: float = 0.0,
                 full_action_space: bool = False, frame_skip: int = 4, noop_max: int = 30,
                 max_frames: int = 108000, frame_stack: int = 4) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # PettingZoo imports pygame
        if importlib.util.find_spec("multi_agent_ale_py") is None:
            raise GamepitError("atari_mp needs PettingZoo's multi-player emulator: "
                               "pip install 'pettingzoo[atari]' (ROMs still come from ale-py)")
        games = multi_player_games()
        self.rom = _choose("atari_mp", game, sorted(games))
        self.name = f"atari_mp_{self.rom}"
        self.full_action_space = full_action_space
        self._module = importlib.import_module(f"pettingzoo.atari.{games[self.rom]}")
        emulator = _shared_emulator(("pettingzoo", self.rom, full_action_space),
                                    lambda: _MultiEmulator(self._module, full_action_space))
        self._setup(emulator, sticky, frame_skip,
                    noop_max, max_frames, frame_stack, fire_reset=False)

    def aec_env(self, render_mode: str | None = None) -> Any:
        """PettingZoo's own AEC environment for this game (raw RGB screens, one emulator
        frame per round), with its ROM from ale-py's folder."""
        return self._module.env(auto_rom_install_path=rom_folder(),
                                full_action_space=self.full_action_space,
                                max_cycles=self.max_frames, render_mode=render_mode)


@hookimpl
def gamepit_add_games() -> list:
    return [
        game_entry("atari", "gamepit.games.atari:AtariGame",
                   "Single-player Atari on any ROM ale-py ships (ALE emulator, DQN preprocessing,"
                   " Gymnasium and vector faces).", ATARI_OPTIONS),
        game_entry("atari_mp", "gamepit.games.atari:AtariMultiGame",
                   "Multi-player Atari from PettingZoo (pong, boxing, tennis...), ROMs from "
                   "ale-py.", ATARI_MP_OPTIONS),
    ]
