"""Strength check: gamepit's ``mcts`` agent against OpenSpiel's C++ MCTS on connect four, with
the same budget (1000 simulations, UCT c=2, one random rollout per leaf), sides alternating.
Equal algorithms should score near 50%; a large deviation means a bug to find.

    python benchmarks/search_strength.py --games 100
    python benchmarks/search_strength.py --games 20 --agent mcts:sims=1000,rule=puct
"""

from __future__ import annotations

import argparse
import time

import pyspiel

from gamepit.arena import MatchSettings, play_series
from gamepit.games.connect_four import ConnectFour, ConnectFourState
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import ActResult, Agent, Game


class OpenSpielMCTS(Agent):
    """OpenSpiel's C++ ``MCTSBot`` playing on gamepit connect four states.

    The bot keeps its own pyspiel state. Before each move it finds the opponent's reply as the
    column whose height grew since its last look and replays it there, so both games stay in
    step move by move (OpenSpiel numbers the columns 0..6 as gamepit does).
    """

    def __init__(self, sims: int = 1000, uct_c: float = 2.0, rollouts: int = 1) -> None:
        self.sims, self.uct_c, self.rollouts = sims, uct_c, rollouts
        self.spec = f"openspiel-cpp-mcts:sims={sims},uct_c={uct_c}"
        self.spiel_game = pyspiel.load_game("connect_four")

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        seed = int(self.rng.integers(2**31))
        evaluator = pyspiel.RandomRolloutEvaluator(self.rollouts, seed)
        self.bot = pyspiel.MCTSBot(self.spiel_game, evaluator, self.uct_c, self.sims, 1000, False,
                                   seed, False)
        self.mirror = self.spiel_game.new_initial_state()
        self.heights = ConnectFourState().heights[:]

    def act(self, state: ConnectFourState) -> ActResult:  # type: ignore[override]
        self._follow(state)
        action = int(self.bot.step(self.mirror))
        self.mirror.apply_action(action)
        self.heights[action] += 1
        return action

    def _follow(self, state: ConnectFourState) -> None:
        pairs = zip(state.heights, self.heights, strict=True)
        grown = [col for col, (now, before) in enumerate(pairs) for _ in range(now - before)]
        for col in grown:
            self.mirror.apply_action(col)
        self.heights = state.heights[:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--sims", type=int, default=1000, help="simulations for OpenSpiel")
    parser.add_argument("--agent", default="mcts:sims=1000", help="gamepit agent spec")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    manager = PluginManager(autoload=False)
    game = ConnectFour()
    ours = manager.registry.make_agent(args.agent)
    theirs = OpenSpielMCTS(args.sims)
    started = time.perf_counter()

    def progress(index: int, result) -> None:
        seat = 1 if index % 2 else 0
        outcome = {1.0: "win", 0.5: "draw", 0.0: "loss"}[result.outcome(seat)]
        print(f"game {index + 1:>3}: {args.agent} as {'XO'[seat]}: {outcome} in "
              f"{result.steps} moves ({time.perf_counter() - started:.0f}s)", flush=True)

    series = play_series(game, [ours, theirs], args.games, args.seed, [args.agent, theirs.spec],
                         on_result=progress, settings=MatchSettings(manager=manager))
    print(series.summary())
    for line in series.forfeits:
        print(line)


if __name__ == "__main__":
    main()
