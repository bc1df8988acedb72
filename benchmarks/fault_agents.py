"""Test plugin: agents that fail in every way a process can (for the fault tests and the
fault benchmark; load it with --plugins, it is never part of the package).

Each plays uniformly random legal moves and, on a share ``p`` of its games (chosen by the
game's seed, so the same seeds fault the same games), fails at its move ``at``:

- ``exiter``: ``sys.exit(code)``;          - ``crasher``: a segfault (SIGSEGV to itself);
- ``quitter``: ``os._exit(7)``;             - ``hanger``: spins forever;
- ``liar``: returns the string "3" (or, with ``kind=illegal``, a full column / out of range);
- ``forger``: returns an answer that raises when it is read: an int whose ``int()`` raises
  (``kind=int``), a tuple whose iteration raises (``iter``), info whose ``str()`` raises
  (``str``);
- ``spawner``: starts a child process that sleeps an hour (marked by ``code``), then plays on;
- ``stuck``: hangs in ``reset`` (on its share ``p`` of games);
- ``slowstart``: hangs while it is built (``__init__``);
- ``meddler``: changes the game object it is given (one action, one player), then plays on.
"""

import os
import signal
import sys

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, Option, agent


class FaultyAgent(Agent):
    fault = ""

    def __init__(self, p: float = 1.0, at: int = 0, code: int = 0, kind: str = "str") -> None:
        self.p, self.at, self.code, self.kind = p, at, code, kind

    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)
        self.moves = 0
        game_seed = (seed or 0) // 1000  # the engine resets with game seed * 1000 + seat
        self.faulty = self.p >= 1 or (game_seed * 0.6180339887) % 1 < self.p  # evenly spread

    def act(self, state):
        legal = state.legal_actions()
        if self.faulty and self.moves == self.at:
            return self.fail(state)
        self.moves += 1
        return int(legal[self.rng.integers(len(legal))])

    def fail(self, state):
        raise NotImplementedError


class Exiter(FaultyAgent):
    def fail(self, state):
        sys.exit(self.code)


class Quitter(FaultyAgent):
    def fail(self, state):
        os._exit(7)


class Crasher(FaultyAgent):
    def fail(self, state):
        os.kill(os.getpid(), signal.SIGSEGV)


class Hanger(FaultyAgent):
    def fail(self, state):
        while True:
            pass


class Liar(FaultyAgent):
    def fail(self, state):
        if self.kind == "illegal":
            illegal = np.flatnonzero(~np.asarray(state.legal_mask()))
            return int(illegal[0]) if illegal.size else len(state.legal_mask())
        return {"str": "3", "float": 3.7, "bool": True, "bytes": b"3",
                "npfloat": np.float64(3.0)}[self.kind]


class BadInt(int):
    def __int__(self):
        raise RuntimeError("no int for you")

    __index__ = __int__


class BadTuple(tuple):
    def __iter__(self):
        raise RuntimeError("no iteration for you")

    def __len__(self):
        return 2


class BadStr:
    def __str__(self):
        raise RuntimeError("no str for you")


class Forger(FaultyAgent):
    def fail(self, state):
        legal = int(state.legal_actions()[0])
        if self.kind == "int":
            return BadInt(legal)
        if self.kind == "iter":
            return BadTuple((legal, {}))
        return legal, {"note": BadStr()}


class Spawner(FaultyAgent):
    def fail(self, state):
        import subprocess

        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)",
                          f"gamepit-spawned-{self.code}"])
        self.moves += 1
        return int(state.legal_actions()[0])


class Stuck(FaultyAgent):
    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)
        while self.faulty:
            pass


class SlowStart(FaultyAgent):
    def __init__(self, **options) -> None:
        super().__init__(**options)
        while True:
            pass


class Meddler(FaultyAgent):
    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)
        game.num_actions, game.num_players = 1, 1
        self.faulty = False  # its moves are honest


OPTIONS = (Option("p", float, 1.0, "share of games it fails in", low=0, high=1),
           Option("at", int, 0, "the move it fails at", low=0),
           Option("code", int, 0, "exit code (exiter)"),
           Option("kind", str, "str", "what a liar or a forger returns",
                  ("str", "float", "bool", "bytes", "npfloat", "illegal", "int", "iter")))


@hookimpl
def gamepit_add_agents():
    return [agent(name, cls, f"test agent: {name}", OPTIONS) for name, cls in (
        ("exiter", Exiter), ("quitter", Quitter), ("crasher", Crasher), ("hanger", Hanger),
        ("liar", Liar), ("forger", Forger), ("spawner", Spawner), ("stuck", Stuck),
        ("slowstart", SlowStart), ("meddler", Meddler))]
