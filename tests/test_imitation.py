"""Imitation: the on-disk dataset (round trip, resume after SIGKILL), beta schedules, labels
from replays (soft and hard), tiny bc and dagger runs on tic-tac-toe with a perfect alpha-beta
expert whose students play matches, and one-line errors before training."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.authoring.checks import check_agent
from gamepit.learners import toolkit
from gamepit.learners.imitation.learner import (
    Dataset,
    ImitationArgs,
    Rows,
    beta_for,
    label,
    make_agent,
    rows_from_replays,
)
from gamepit.training.settings import ConfigError, merge
from tests.conftest import kill_when

QUICK = ["--set", "eval_episodes=2", "--set", "epochs=2", "--device", "cpu"]


def _rows(count: int, offset: int = 0) -> dict[str, np.ndarray]:
    rows = Rows(9)
    for i in range(count):
        mask = np.ones(9, dtype=bool)
        rows.add(np.full((3, 3, 3), i + offset, dtype=np.float32), mask, (i + offset) % 9,
                 None, soft=True)
    return rows.arrays((3, 3, 3), np.float32)


def test_shards_round_trip_append_only(tmp_path):
    dataset = Dataset(tmp_path / "d")
    assert len(dataset) == 0 and dataset.load() == {}
    dataset.append(_rows(3))
    dataset.append(_rows(0))  # an empty round is still a round
    dataset.append(_rows(2, offset=3))
    assert [p.name for p in dataset.shards()] == ["shard_00000.npz", "shard_00001.npz",
                                                   "shard_00002.npz"]
    data = Dataset(tmp_path / "d").load()
    assert data["actions"].tolist() == [0, 1, 2, 3, 4]
    assert data["observations"][:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(data["targets"].sum(axis=1), 1) and data["weights"].tolist() == [1] * 5
    assert not list((tmp_path / "d").glob(".*partial*"))  # no temporaries left behind


def test_a_damaged_shard_is_one_line(tmp_path):
    dataset = Dataset(tmp_path)
    dataset.append(_rows(2))
    dataset.shards()[0].write_bytes(b"not a zip")
    with pytest.raises(toolkit.GamepitError, match="shard_00000.npz is damaged"):
        dataset.load()


def test_beta_schedules():
    def args(**sets):
        return merge(ImitationArgs, "dagger", {"game": "tictactoe", "expert": "random",
                                            "rounds": 4, **sets})

    assert [beta_for(r, args()) for r in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert [beta_for(r, args(beta_rounds=2)) for r in range(4)] == [1.0, 0.5, 0.0, 0.0]
    assert [beta_for(r, args(beta_schedule="exponential", beta_decay=0.5))
            for r in range(3)] == [1.0, 0.5, 0.25]
    assert beta_for(3, args(beta_schedule="fixed", beta=0.3)) == 0.3
    with pytest.raises(ConfigError, match="beta_schedule"):
        args(beta_schedule="cosine")
    with pytest.raises(ConfigError):
        args(beta=1.5)


def test_labels_soft_from_policy_or_visit_counts_hard_otherwise():
    mask = np.array([True, False, True, True])
    hard = label(2, {"value": 0.3}, mask, 4)
    assert hard.tolist() == [0, 0, 1, 0]
    soft = label(2, {"policy": [0.5, 0.2, 0.2, 0.1]}, mask, 4)  # illegal mass dropped
    assert np.allclose(soft, [0.625, 0, 0.25, 0.125])
    counts = label(0, {"visit_counts": [3, 0, 1, 0]}, mask, 4)
    assert np.allclose(counts, [0.75, 0, 0.25, 0])
    assert label(3, {"policy": [1, 2]}, mask, 4).tolist() == [0, 0, 0, 1]  # does not fit


def test_labels_from_replays_soft_and_hard_and_by_seat(registry, tmp_path):
    game = registry.make_game("tictactoe")
    mcts = registry.make_agent("mcts:sims=20")
    alphabeta = registry.make_agent("alphabeta:depth=9")
    replays = tmp_path / "replays"
    play_lockstep(game, [[mcts, alphabeta]], [3], [["mcts:sims=20", "alphabeta:depth=9"]],
                  settings=MatchSettings(replay_dir=str(replays)))
    files = sorted(replays.rglob("*.jsonl"))
    assert len(files) == 1
    everything, skipped = rows_from_replays(files, game, registry, "", soft=True)
    searched, _ = rows_from_replays(files, game, registry, "mcts", soft=True)
    played, _ = rows_from_replays(files, game, registry, "alphabeta", soft=True)
    assert skipped == 0 and len(everything) == len(searched) + len(played)
    assert len(searched) >= 3 and len(played) >= 2
    # mcts stored visit counts: soft targets; alpha-beta only its move: one-hots
    assert any((t > 0).sum() > 1 for t in searched.targets)
    assert all(sorted(t.tolist())[-1] == 1.0 and t.sum() == 1.0 for t in played.targets)
    hard, _ = rows_from_replays(files, game, registry, "mcts", soft=False)
    assert [int(np.argmax(t)) for t in hard.targets] == hard.actions == searched.actions
    first = np.asarray(game.new_state(3).observation(0))
    assert np.array_equal(searched.observations[0], first)  # mcts played seat 0 first


def _students_score(registry, checkpoint: Path | str, opponent: str, games: int = 4,
                    game_spec: str = "tictactoe") -> float:
    game = registry.make_game(game_spec)
    student = make_agent(str(checkpoint))
    other = registry.make_agent(opponent)
    seatings = [[student, other] if i % 2 == 0 else [other, student] for i in range(games)]
    results = play_lockstep(game, seatings, list(range(games)))
    assert all(result.forfeit_seat is None for result in results)
    return float(np.mean([(r.returns[i % 2] + 1) / 2 for i, r in enumerate(results)]))


def test_tiny_bc_run_writes_a_checkpoint_whose_student_plays(cli, registry, tmp_path):
    run = tmp_path / "bc"
    started = time.perf_counter()
    result = cli("train", "bc", "--game", "tictactoe", "--run", str(run), "--set",
                 "expert=alphabeta:depth=9", "--set", "episodes=8", "--set", "rounds=2",
                 *QUICK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60
    assert f"trained agent: student:checkpoint={run / 'checkpoint.pt'}" in result.stdout
    assert len(Dataset(run / "dataset")) == 2
    assert toolkit.load_checkpoint(run / "checkpoint.pt")["algorithm"] == "bc"
    # student.pt: the same network without the optimizer, so it is smaller and plays the same
    slim = run / "student.pt"
    assert "optimizer" not in toolkit.load_checkpoint(slim)
    assert slim.stat().st_size < (run / "checkpoint.pt").stat().st_size
    game = registry.make_game("tictactoe")
    states = [game.new_state(seed) for seed in range(3)]
    assert ([make_agent(str(slim)).act(state)[0] for state in states]
            == [make_agent(str(run / "checkpoint.pt")).act(state)[0] for state in states])
    assert list((run / "replays").rglob("*.jsonl"))  # evaluation games recorded
    assert 0.0 <= _students_score(registry, run / "checkpoint.pt", "random") <= 1.0
    check_agent(make_agent(str(run / "checkpoint.pt")), registry.make_game("tictactoe"),
                games=2)  # the conformance checks, act_batch against act included
    match = cli("match", "tictactoe", f"student:checkpoint={run / 'checkpoint.pt'}", "random",
                "-n", "2", cwd=tmp_path)
    assert match.returncode == 0, match.stderr
    other = cli("match", "connect_four", f"student:checkpoint={run / 'checkpoint.pt'}",
                "random", "-n", "2", cwd=tmp_path)
    assert other.returncode == 2 and "was trained on tictactoe" in other.stderr
    assert other.stderr.strip().count("\n") == 0, other.stderr


def test_bc_from_a_folder_of_replays_learns_the_named_seats(cli, registry, tmp_path):
    replays = tmp_path / "recorded"
    match = cli("match", "tictactoe", "mcts:sims=20", "alphabeta:depth=9", "-n", "4",
                "--replays", str(replays), cwd=tmp_path)
    assert match.returncode == 0, match.stderr
    files = sorted(replays.rglob("*.jsonl"))
    expected, _ = rows_from_replays(files, registry.make_game("tictactoe"), registry,
                                    "alphabeta", soft=True)
    run = tmp_path / "bc"
    result = cli("train", "bc", "--game", "tictactoe", "--run", str(run), "--set",
                 f"replays={replays}", "--set", "learn_from=alphabeta", "--set", "rounds=2",
                 "--set", "board_channels=8", "--set", "board_features=16", *QUICK,
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = Dataset(run / "dataset").load()
    assert len(Dataset(run / "dataset")) == 2
    assert data["actions"].tolist() == expected.actions
    assert make_agent(str(run / "checkpoint.pt")).network.torso.fc[0].out_features == 16


def test_tiny_dagger_run_learns_from_its_own_states(cli, registry, tmp_path):
    run = tmp_path / "dagger"
    result = cli("train", "dagger", "--game", "tictactoe", "--run", str(run), "--set",
                 "expert=alphabeta:depth=9", "--set", "episodes=16", "--set", "rounds=3",
                 "--set", "epochs=30", "--set", "eval_episodes=0", "--device", "cpu",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = [m for m in _metrics(run) if "dagger/beta" in m]
    assert [m["dagger/beta"] for m in metrics] == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert metrics[0]["dagger/student_moves"] == 0 and metrics[2]["dagger/student_moves"] > 0
    queries = [m["dagger/expert_queries"] for m in metrics]
    assert queries == sorted(queries) and queries[0] > 0
    sizes = [m["data/size"] for m in _metrics(run) if "data/size" in m]
    assert sizes == sorted(sizes) and sizes[-1] == queries[-1]
    # a perfect expert's student, 30 epochs on its states: it beats a random mover
    assert _students_score(registry, run / "checkpoint.pt", "random", games=8) >= 0.6


def test_a_human_expert_at_the_terminal_labels_and_resigns(cli, tmp_path):
    run = tmp_path / "human"
    result = cli("train", "bc", "--game", "tictactoe", "--run", str(run), "--set",
                 "expert=human", "--set", "episodes=1", "--set", "opening_moves=0",
                 "--set", "rounds=1", "--set", "eval_episodes=0", "--device", "cpu",
                 cwd=tmp_path,
                 input="b2\nzz\na3\nc1\nresign\n")
    assert result.returncode == 0, result.stderr
    assert "not a move" in result.stdout  # a bad move asked again
    data = Dataset(run / "dataset").load()
    assert data["actions"].tolist() == [4, 8]  # X's moves b2 and c1; O resigned
    assert "round 1/1: 2 labelled states" in result.stdout


def test_labels_per_round_caps_each_shard(cli, tmp_path):
    run = tmp_path / "cap"
    result = cli("train", "dagger", "--game", "tictactoe", "--run", str(run), "--set",
                 "expert=alphabeta:depth=2", "--set", "episodes=6", "--set", "rounds=2",
                 "--set", "labels_per_round=7", "--set", "eval_episodes=0", "--device", "cpu",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dataset = Dataset(run / "dataset")
    sizes = [len(np.load(path)["actions"]) for path in dataset.shards()]
    assert sizes == [7, 7]


def _metrics(run: Path) -> list[dict]:
    import json
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_killed_dagger_run_continues_its_dataset_and_rounds(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "gamepit", "train", "dagger", "--game", "tictactoe",
               "--run", str(run), "--set", "expert=alphabeta:depth=9", "--set", "episodes=6",
               "--set", "rounds=12", "--set", "eval_episodes=0", "--device", "cpu"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shards = run / "dataset"
    kill_when(process, lambda: len(list(shards.glob("shard_*.npz"))) >= 2, "two shards",
              seconds=120)
    killed_with = len(Dataset(shards))
    assert 2 <= killed_with < 12, "the run was not killed mid-way"
    before = {p.name: p.read_bytes() for p in Dataset(shards).shards()}

    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(Dataset(shards)) == 12
    for name, data in before.items():  # append-only: the shards written before are untouched
        assert (shards / name).read_bytes() == data
    assert toolkit.load_checkpoint(run / "checkpoint.pt")["step"] == 12
    rounds = [int(m["train/round"]) for m in _metrics(run) if "train/round" in m]
    assert rounds[-(12 - killed_with):] == list(range(killed_with, 12))
    assert f"round {killed_with + 1}/12" in result.stdout
    assert "round 1/12" not in result.stdout


@pytest.mark.parametrize("arguments, message", [
    (["dagger", "--set", "expert=alphabeta:depth=nope"], "expert: agent 'alphabeta'"),
    (["dagger", "--set", "expert=nosuchagent"], "expert:"),
    (["dagger"], "expert: dagger needs an expert"),
    (["bc"], "set exactly one of expert and replays"),
    (["dagger", "--set", "expert=random", "--set", "replays=x"], "learn replays with bc"),
    (["dagger", "--set", "expert=random", "--set", "beta_schedule=cosine"], "beta_schedule"),
])
def test_bad_settings_are_one_line_before_training(cli, tmp_path, arguments, message):
    result = cli("train", arguments[0], "--game", "tictactoe", "--run", str(tmp_path / "r"),
                 *arguments[1:], cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
    assert not list((tmp_path / "r").glob("*"))  # at most the empty run folder: nothing built


def test_student_refuses_other_checkpoints_in_one_line(registry, tmp_path):
    with pytest.raises(toolkit.GamepitError, match="no such checkpoint"):
        registry.make_agent(f"student:checkpoint={tmp_path / 'none.pt'}")
    toolkit.save_checkpoint(tmp_path / "dqn.pt", {"algorithm": "dqn"})
    with pytest.raises(toolkit.GamepitError, match="not a bc or dagger student"):
        registry.make_agent(f"student:checkpoint={tmp_path / 'dqn.pt'}")


def test_the_shipped_connect_four_student_beats_random(registry):
    assert _students_score(registry, "builtin:connect_four", "random", 4, "connect_four") >= 0.75
    with pytest.raises(toolkit.GamepitError, match="no built-in student checkpoint 'go'; "
                       "shipped: connect_four"):
        registry.make_agent("student:checkpoint=builtin:go")


def test_registering_imitation_imports_no_torch():
    code = ("import sys, gamepit.learners.imitation\n"
            "from gamepit.plugins.manager import PluginManager\n"
            "registry = PluginManager(autoload=False).registry\n"
            "assert {'bc', 'dagger'} <= set(registry.names('learner'))\n"
            "assert 'student' in registry.names('agent')\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[1])


def test_a_failing_expert_costs_its_game_not_the_run(cli, tmp_path):
    """Issue 26: labelling runs on the engine, so an expert that raises (here on its first move
    as the second player: half the games) forfeits that game, which is counted and said, and
    the run goes on with the labels of the others."""
    plugin = tmp_path / "flaky.py"
    plugin.write_text("""
from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, agent

class Flaky(Agent):
    def act(self, state):
        legal = state.legal_actions()
        if len(legal) == 8:  # one mark on the board: it moves second
            raise RuntimeError("flaky expert")
        return int(legal[0])

@hookimpl
def gamepit_add_agents():
    return [agent("flaky", Flaky, "raises on its first move as the second player")]
""")
    run = tmp_path / "faulty"
    result = cli("--plugins", str(plugin), "train", "dagger", "--game", "tictactoe", "--run",
                 str(run), "--set", "expert=flaky", "--set", "opponent=random", "--set",
                 "opening_moves=0", "--set", "episodes=8", "--set", "rounds=2", "--set",
                 "epochs=2", "--set", "eval_episodes=0", "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "lost: game" in result.stdout and "flaky expert" in result.stdout
    lost = [m["dagger/lost_games"] for m in _metrics(run) if "dagger/lost_games" in m]
    assert lost == [4.0, 4.0], lost  # the games where it sat second
    assert len(Dataset(run / "dataset").load()["actions"]) > 0
