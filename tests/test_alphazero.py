"""AlphaZero: tiny smoke runs of every shipped config, kill and resume, weights-only checkpoints,
the agent in matches and over GTP, and tic-tac-toe learned from scratch to perfect play."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gamepit.arena import play_series
from gamepit.errors import GamepitError
from gamepit.files import load_yaml
from gamepit.learners import toolkit
from gamepit.learners.alphazero import learner as alphazero
from gamepit.plugins import hookimpl
from gamepit.protocols import split_act_result
from tests.conftest import learn

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("alphazero_*.yaml"))

# Shrinks any config to a seconds-long run: a tiny net, two games, two simulations a move.
TINY = {"iterations": 2, "selfplay_games": 2, "sims": 2, "filters": 8, "blocks": 1,
        "value_hidden": 8, "train_steps": 2, "min_buffer": 1, "batch_size": 8,
        "buffer_size": 4096, "max_moves": 12, "gate_every": 1, "gate_games": 2, "gate_sims": 2,
        "gate_random_moves": 1, "eval_games": 0, "device": "cpu", "threads": 1}


def train_tiny(config: Path, run_dir: Path, **overrides) -> str:
    settings = {**load_yaml(config), **TINY, "run_dir": str(run_dir), **overrides}
    return learn(alphazero, settings)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """Every shipped config trained at tiny size once (gating on, so it is exercised too)."""
    runs = {}
    for config in CONFIGS:
        run_dir = tmp_path_factory.mktemp(config.stem)
        spec = train_tiny(config, run_dir, gating=True)
        assert spec == f"alphazero:checkpoint={run_dir / 'best.pt'}"
        runs[config.stem] = run_dir
    return runs


def test_every_game_has_a_config():
    names = {config.stem for config in CONFIGS}
    assert {"alphazero_tictactoe", "alphazero_connect_four", "alphazero_othello",
            "alphazero_go9"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_smoke_run_of_each_config(tiny_runs, registry, config):
    run_dir = tiny_runs[config.stem]
    metrics = [line for line in (run_dir / "metrics.jsonl").read_text().splitlines()
               if "selfplay/positions_per_second" in line]
    assert len(metrics) == 2 and '"gate/score"' in metrics[-1] and "losses/policy" in metrics[-1]
    game_spec = load_yaml(config)["game"]
    game = registry.make_game(game_spec)
    agent = registry.make_agent(f"alphazero:checkpoint={run_dir / 'best.pt'},sims=4")
    agent.reset(game, 0, seed=1)
    state = game.new_state(1)
    action, info = split_act_result(agent.act(state.clone()))
    assert state.legal_mask()[action]
    assert set(info) == {"policy", "visit_counts", "value", "top_moves"}


def test_checkpoints_load_with_weights_only(tiny_runs):
    run_dir = tiny_runs["alphazero_connect_four"]
    for name in ("checkpoint.pt", "best.pt"):
        data = torch.load(run_dir / name, weights_only=True)
        assert data["algorithm"] == "alphazero" and data["game"] == "connect_four"
        assert data["shape"]["filters"] == 8 and "best_network" in data
    assert "optimizer" not in torch.load(run_dir / "best.pt", weights_only=True)
    with np.load(run_dir / "replay_buffer.npz", allow_pickle=False) as buffer:
        # two games, each position stored with its left-right mirror
        assert len(buffer["outcomes"]) > 0 and len(buffer["outcomes"]) % 2 == 0
        assert set(np.unique(buffer["outcomes"])) <= {-1.0, 0.0, 1.0}
        assert np.allclose(buffer["policies"].sum(axis=1), 1.0, atol=1e-5)
    assert not list(run_dir.glob(".*tmp*")), "temporary files were left behind"


def test_killed_run_resumes_from_its_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    sets = [f"--set={key}={value}" for key, value in {**TINY, "iterations": 1000,
                                                      "max_moves": 0}.items()]
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "train", "alphazero", "--game", "tictactoe",
         "--run", str(run_dir), *sets], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    checkpoint = run_dir / "checkpoint.pt"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.is_file() and torch.load(checkpoint,
                                                   weights_only=True)["iteration"] >= 3:
                break
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    saved = torch.load(checkpoint, weights_only=True)  # complete despite the kill
    done, positions = int(saved["iteration"]), int(saved["step"])
    assert done >= 3

    spec = learn(alphazero,
        {**TINY, "game": "tictactoe", "max_moves": 0, "run_dir": str(run_dir),
         "iterations": done + 1})
    resumed = torch.load(checkpoint, weights_only=True)
    assert int(resumed["iteration"]) == done + 1 and int(resumed["step"]) > positions
    with np.load(run_dir / "replay_buffer.npz", allow_pickle=False) as buffer:
        assert len(buffer["outcomes"]) > 8 * 5 * (done + 1)  # kept, not started afresh
    assert spec.endswith("best.pt")


def test_a_resumed_run_is_the_run_that_never_stopped(tmp_path):
    """Networks, optimizer, buffer and random states (torch's and the run's numpy Generator)
    are all checkpointed: stopping after each iteration changes nothing."""
    settings = {**TINY, "game": "tictactoe", "max_moves": 0, "gating": True}
    learn(alphazero, {**settings, "iterations": 3, "run_dir": str(tmp_path / "once")})
    for iterations in (1, 2, 3):
        learn(alphazero, {**settings, "iterations": iterations,
                                   "run_dir": str(tmp_path / "stopped")})
    once, stopped = (torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)
                     for name in ("once", "stopped"))
    assert (once["iteration"], once["step"]) == (stopped["iteration"], stopped["step"])
    assert once["rng"]["numpy"] == stopped["rng"]["numpy"]
    for key in ("network", "best_network"):
        assert all(torch.equal(once[key][name], stopped[key][name]) for name in once[key])


def test_a_resumed_run_takes_a_new_learning_rate(tmp_path):
    """The checkpoint gives the optimizer its moments; the settings give it its step size (the
    checkpoint's would otherwise win, silently)."""
    settings = {**TINY, "game": "tictactoe", "run_dir": str(tmp_path)}
    learn(alphazero, {**settings, "iterations": 1, "learning_rate": 0.002})
    learn(alphazero, {**settings, "iterations": 2, "learning_rate": 0.0005,
                      "weight_decay": 0.001})
    group = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["optimizer"][
        "param_groups"][0]
    assert (group["lr"], group["weight_decay"]) == (0.0005, 0.001)


def test_resume_refuses_a_different_network(tmp_path):
    learn(alphazero, {**TINY, "game": "tictactoe", "iterations": 1,
                               "run_dir": str(tmp_path)})
    with pytest.raises(GamepitError, match="another --run folder"):
        learn(alphazero, {**TINY, "game": "tictactoe", "iterations": 2,
                                   "filters": 16, "run_dir": str(tmp_path)})


def test_tictactoe_from_scratch_never_loses_to_alphabeta(tmp_path, registry):
    """The tic-tac-toe config, as shipped, learns perfect play: against perfect alpha-beta
    every game from either seat is a draw."""
    config = load_yaml(ROOT / "configs" / "alphazero_tictactoe.yaml")
    spec = learn(alphazero,
        {**config, "eval_games": 0, "device": "cpu", "run_dir": str(tmp_path)})
    game = registry.make_game("tictactoe")
    trained = registry.make_agent(f"{spec},sims=50")
    perfect = registry.make_agent("alphabeta:depth=9")
    series = play_series(game, [trained, perfect], 8, 3)
    assert series.losses == 0, series.summary()


def test_agent_is_batched_and_searches_many_positions_at_once(tiny_runs, registry):
    checkpoint = tiny_runs["alphazero_tictactoe"] / "best.pt"
    agent = registry.make_agent(f"alphazero:checkpoint={checkpoint},sims=8")
    game = registry.make_game("tictactoe")
    agent.reset(game, 0, seed=0)
    assert agent.batched
    states = [game.new_state(i) for i in range(3)]
    states[1].apply(4)
    results = [split_act_result(r) for r in agent.act_batch(states)]
    assert len(results) == 3 and results[1][0] != 4
    assert all(info["visit_counts"].sum() == 8 for _, info in results)


def test_agent_refuses_another_game_before_playing(tiny_runs, registry):
    checkpoint = tiny_runs["alphazero_tictactoe"] / "best.pt"
    connect_four = registry.make_game("connect_four")
    message = re.escape(f"alphazero checkpoint {checkpoint} was trained on tictactoe "
                        "(observation (2, 3, 3), 9 actions), not connect_four "
                        "(observation (2, 6, 7), 7 actions)") + "$"
    with pytest.raises(GamepitError, match=message):
        registry.make_agent(f"alphazero:checkpoint={checkpoint}", connect_four)
    agent = registry.make_agent(f"alphazero:checkpoint={checkpoint}")
    with pytest.raises(GamepitError, match=message):  # reset checks too: a forfeit says why
        agent.reset(connect_four, 0)



class MatchLog:
    """A plugin on the match hooks: each game's seed, seating, moves and result."""

    def __init__(self) -> None:
        self.games: dict[str, dict] = {}

    @hookimpl
    def gamepit_match_start(self, match) -> None:
        self.games[match.match_id] = {"seed": match.seed, "seats": list(match.agent_specs),
                                      "moves": []}

    @hookimpl
    def gamepit_match_step(self, match, step) -> None:
        self.games[match.match_id]["moves"].append((step.action, bool(step.info.get("opening"))))

    @hookimpl
    def gamepit_match_end(self, match, result) -> None:
        self.games[match.match_id]["result"] = result


def test_gating_plays_each_seed_from_both_seats_after_random_openings(manager, registry):
    log = MatchLog()
    manager.register(log, name="match-log")
    spec = "alphazero:checkpoint=builtin:tictactoe,sims=8"
    candidate, best = registry.make_agent(spec), registry.make_agent(spec)
    score = alphazero.gate(registry.make_game("tictactoe"), candidate, best, 6, 40, 2, manager)
    games = list(log.games.values())
    assert [game["seed"] for game in games] == [40, 40, 41, 41, 42, 42]
    assert [game["seats"] for game in games] == [["candidate", "best"], ["best", "candidate"]] * 3
    for first, second in zip(games[::2], games[1::2], strict=True):
        assert first["moves"][:2] == second["moves"][:2]  # one opening, played from both seats
        assert [opening for _, opening in first["moves"]] == [True, True] + [False] * (
            len(first["moves"]) - 2)
    outcomes = [game["result"].outcome(game["seats"].index("candidate")) for game in games]
    assert score == pytest.approx(np.mean(outcomes))


def test_bad_checkpoints_are_one_line_errors(cli, tmp_path):
    missing = cli("match", "tictactoe", f"alphazero:checkpoint={tmp_path}/none.pt", "random")
    assert missing.returncode == 2 and "no such checkpoint" in missing.stderr
    assert "Traceback" not in missing.stderr
    builtin = cli("match", "tictactoe", "alphazero:checkpoint=builtin:nope", "random")
    assert builtin.returncode == 2 and "no built-in alphazero checkpoint 'nope'" in builtin.stderr
    setting = cli("train", "alphazero", "--game", "tictactoe", "--set", "sims=0",
                  "--run", str(tmp_path / "r"))
    assert setting.returncode == 2 and "sims=0 must be at least 1" in setting.stderr


def test_plays_go_over_gtp(tiny_runs, cli):
    checkpoint = tiny_runs["alphazero_go9"] / "best.pt"
    answer = cli("gtp", "--size", "9", "--agent", f"alphazero:checkpoint={checkpoint},sims=4",
                 input="boardsize 9\nclear_board\nplay b E5\ngenmove w\nquit\n")
    assert answer.returncode == 0, answer.stderr
    replies = [line for line in answer.stdout.splitlines() if line.startswith("=")]
    move = replies[3][1:].strip().upper()
    assert move == "PASS" or (move[0] in "ABCDEFGHJ" and 1 <= int(move[1:]) <= 9), answer.stdout
    assert move != "E5"


@pytest.mark.parametrize("name", ["tictactoe", "connect_four"])
def test_shipped_checkpoints_load(registry, name):
    agent = registry.make_agent(f"alphazero:checkpoint=builtin:{name},sims=8")
    game = registry.make_game(name)
    agent.reset(game, 0, seed=0)
    action, info = split_act_result(agent.act(game.new_state(0)))
    assert game.new_state(0).legal_mask()[action] and info["visit_counts"].sum() == 8
    assert (alphazero.BUILTIN_DIR / f"{name}.pt").stat().st_size < 5_000_000


@pytest.mark.parametrize("search", ["puct", "gumbel"])
def test_self_play_on_array_rows_equals_self_play_on_states(monkeypatch, registry, search):
    """Connect four self-play searches the array model's rows, valued by the network from the
    rows' observations (``NetworkRows``): the same positions, policies and outcomes as
    searching States, so the same training data, only faster."""
    from gamepit.search import mcts as mcts_module
    from gamepit.search.network import NetworkEvaluator

    game = registry.make_game("connect_four")
    args = alphazero.AlphaZeroArgs(game="connect_four", sims=12, filters=8, blocks=1,
                                   search=search, dirichlet_alpha=0.3, temperature_moves=4)
    torch.manual_seed(0)
    network = alphazero.build_network(alphazero.network_shape(game, args)).eval()

    def play() -> alphazero.SelfPlayBatch:
        return alphazero.self_play(game, NetworkEvaluator(network), alphazero.searches_of(args),
                                   6, args, np.random.default_rng(3))

    assert mcts_module.network_rows_for([game.new_state()], NetworkEvaluator(network), 8)
    rows = play()
    used = []
    monkeypatch.setattr(mcts_module, "network_rows_for",
                        lambda *a: used.append(1))  # records the call, returns None: States
    states = play()
    assert used and rows.moves == states.moves > 6 * 7
    np.testing.assert_array_equal(rows.observations, states.observations)
    np.testing.assert_array_equal(rows.policies, states.policies)
    np.testing.assert_array_equal(rows.outcomes, states.outcomes)


def test_evaluations_keep_the_top_scoring_network(tmp_path, registry):
    run_dir = tmp_path / "run"
    train_tiny(ROOT / "configs" / "alphazero_tictactoe.yaml", run_dir, iterations=3,
               eval_every=1, eval_games=4, eval_opponent="random", eval_sims=2)
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    scores = [line["eval/score_vs_random"] for line in lines if "eval/score_vs_random" in line]
    assert len(scores) == 3
    top = torch.load(run_dir / "top.pt", weights_only=True)
    assert top["eval_score"] == max(scores)
    assert top["iteration"] == 1 + scores.index(max(scores))  # the first to reach it
    assert top["train_seconds"] > 0  # what best.pt says of itself, too
    assert top["evaluation"] == ("eval_games=4, eval_opponent=random, eval_sims=2, "
                                 "evaluation_search=puct")
    agent = registry.make_agent(f"alphazero:checkpoint={run_dir / 'top.pt'},sims=2")
    agent.close()


def test_a_top_network_is_replaced_only_by_a_higher_score_of_the_same_evaluation(tmp_path):
    run = SimpleNamespace(folder=tmp_path)
    args = alphazero.AlphaZeroArgs(eval_games=4, eval_opponent="random", eval_sims=2)
    written = []

    def save(path, facts):
        toolkit.save_checkpoint(path, facts)
        written.append(facts["eval_score"])

    assert toolkit.keep_top(run, args, {"eval/score_vs_random": 0.5}, save)
    assert not toolkit.keep_top(run, args, {"eval/score_vs_random": 0.5}, save)
    assert toolkit.keep_top(run, args, {"eval/score_vs_random": 0.75}, save)
    assert not toolkit.keep_top(run, args, {"eval/score_vs_random": 0.625}, save)
    # another evaluation's scores do not compare: its first one replaces the file
    assert toolkit.keep_top(run, replace(args, eval_games=8), {"eval/score_vs_random": 0.25},
                            save)
    assert not toolkit.keep_top(run, args, {"eval/wins": 3.0}, save)  # no score in it
    (tmp_path / toolkit.TOP).write_bytes(b"damaged")  # a damaged file is replaced
    assert toolkit.keep_top(run, args, {"eval/return": 1.5}, save)
    assert written == [0.5, 0.75, 0.25, 1.5]
