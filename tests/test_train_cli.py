"""``gamepit train``: settings merged defaults < YAML < --set, one-line errors, metrics and
TensorBoard files, atomic checkpoints, and a killed run resumed from its last checkpoint."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamepit.errors import GamepitError
from gamepit.files import load_yaml
from gamepit.learners import toolkit
from gamepit.training.settings import ConfigError, merge, parse_sets
from tests.conftest import kill_when

ROOT = Path(__file__).resolve().parents[1]
QUICK_PPO = ["--set", "num_envs=2", "--set", "num_steps=64", "--set", "eval_episodes=2",
             "--set", "checkpoint_every=128", "--device", "cpu"]


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_learner_modules_import_without_torch():
    code = ("import sys, gamepit.training.command, gamepit.training.settings, "
            "gamepit.learners.dqn, gamepit.learners.ppo, gamepit.learners.alphazero, "
            "gamepit.games.gym_bridge\n"
            "from gamepit.plugins.manager import PluginManager\n"
            "registry = PluginManager(autoload=False).registry\n"
            "assert {'dqn', 'ppo', 'alphazero'} <= set(registry.names('learner'))\n"
            "assert {'dqn', 'ppo', 'alphazero'} <= set(registry.names('agent'))\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_settings_merge_defaults_yaml_then_set(tmp_path):
    from gamepit.learners.dqn.learner import DQNArgs

    config = tmp_path / "run.yaml"
    config.write_text("game: gym:CartPole-v1\nlearning_rate: 0.01\nbatch_size: 16\n"
                      "dueling: yes\n")
    args = merge(DQNArgs, "dqn", load_yaml(config), parse_sets(["batch_size=64",
                                                                "total_steps=1e4"]))
    assert (args.learning_rate, args.batch_size, args.dueling) == (0.01, 64, True)
    assert args.total_steps == 10_000 and args.gamma == DQNArgs.gamma
    with pytest.raises(ConfigError, match="no setting 'batchsize'"):
        merge(DQNArgs, "dqn", {"batchsize": 3})
    with pytest.raises(ConfigError, match="n_step: expected int"):
        merge(DQNArgs, "dqn", {"n_step": "2.5"})
    with pytest.raises(ConfigError, match="n_step=0 must be at least 1"):
        merge(DQNArgs, "dqn", {"game": "gym:CartPole-v1", "n_step": 0})
    with pytest.raises(ConfigError, match="game: a value is required"):
        merge(DQNArgs, "dqn", {"n_step": 2})
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_sets(["lr"])


@pytest.mark.parametrize("arguments, message", [
    (["train", "dqn", "--game", "gym:CartPole-v1", "--set", "foo=1"], "no setting 'foo'"),
    (["train", "ppo", "--game", "gym:CartPole-v1", "--set", "gamma=high"],
     "gamma: expected float"),
    (["train", "nope", "--game", "tictactoe"], "unknown learner 'nope'"),
    (["train", "dqn", "--game", "tictactoe", "--config", "missing.yaml"], "no such config"),
    (["train", "dqn", "--game", "nosuchgame"], "unknown game 'nosuchgame'"),
    (["train", "dqn"], "name a game"),
    (["train", "dqn", "--game", "tictactoe", "--set", "total_steps=10"], "2 players"),
    (["train", "alphazero", "--game", "tictactoe", "--set", "eval_search=beam"],
     "eval_search must be one of puct, gumbel or empty, not 'beam'"),
])
def test_user_mistakes_are_one_line_errors(cli, tmp_path, arguments, message):
    result = cli(*arguments, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_settings_listing(cli):
    result = cli("train", "ppo", "--settings")
    assert result.returncode == 0
    assert "gae_lambda = 0.95" in result.stdout
    assert "lambda of generalized advantage estimation" in result.stdout


def test_train_writes_metrics_checkpoint_replays_and_agent_plays(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "ppo", "--game", "gym:CartPole-v1", "--run", str(run),
                 "--set", "total_steps=512", *QUICK_PPO, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = f"ppo:checkpoint={run / 'checkpoint.pt'}"
    assert f"trained agent: {spec}" in result.stdout
    metrics = _metrics(run)
    names = set().union(*metrics)
    assert {"episode/return", "episode/length", "speed/steps_per_second", "losses/policy",
            "losses/value", "losses/entropy", "eval/return", "checkpoint/step"} <= names
    assert len(list((run / "replays").glob("*.jsonl"))) == 2
    assert not list(run.glob(".*tmp"))  # no temporary checkpoint left behind
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))  # a declared dependency
    replay = next((run / "replays").glob("*.jsonl"))
    verified = cli("replay", "verify", str(replay), cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr


def test_a_run_folder_in_use_by_another_train_is_one_line(cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    held = os.open(run, os.O_RDONLY)  # the lock a training process still running holds
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = cli("train", "ppo", "--game", "gym:CartPole-v1", "--run", str(run),
                     "--set", "total_steps=512", *QUICK_PPO, cwd=tmp_path)
    finally:
        os.close(held)
    assert second.returncode == 2, second.stderr
    assert "is in use by another gamepit train" in second.stderr
    assert second.stderr.strip().count("\n") == 0, second.stderr
    assert not list(run.iterdir())  # nothing written


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "gamepit", "train", "ppo", "--game", "gym:CartPole-v1",
               "--run", str(run), "--set", "total_steps=6400", *QUICK_PPO]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def checkpoint_steps() -> list[int]:  # observers hear of a checkpoint once it is on disk
        try:
            return [m["step"] for m in _metrics(run) if "checkpoint/step" in m]
        except (OSError, ValueError):  # not written yet, or a line being written
            return []

    kill_when(process, lambda: bool(checkpoint_steps()), "a checkpoint", seconds=120)
    killed_at = checkpoint_steps()[-1]
    assert killed_at < 6400, "the run finished before it could be killed"
    lines_before = len(_metrics(run))

    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    resumed_at = int(result.stdout.split("from step ")[1].split()[0])
    assert resumed_at >= killed_at and resumed_at % 128 == 0
    assert toolkit.load_checkpoint(run / "checkpoint.pt")["step"] == 6400
    steps = [m["step"] for m in _metrics(run)[lines_before:] if "losses/policy" in m]
    assert steps == list(range(resumed_at + 128, 6401, 128))  # every update once, in order


def test_dqn_resume_continues_the_step_count(registry, tmp_path):
    from gamepit.learners.dqn.learner import DQNArgs, train

    settings = dict(game="gym:CartPole-v1", learning_starts=200, buffer_size=2000,
                    checkpoint_every=500, eval_episodes=0, device="cpu", run_dir=str(tmp_path))
    train(DQNArgs(total_steps=1000, **settings))
    before = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    train(DQNArgs(total_steps=1500, **settings))
    after = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert (before["step"], after["step"]) == (1000, 1500)
    agent = registry.make_agent(f"dqn:checkpoint={tmp_path / 'checkpoint.pt'}")
    from gamepit.authoring.checks import check_agent

    check_agent(agent, registry.make_game("gym:CartPole-v1"))


def test_agent_specs_reject_bad_checkpoints(registry, tmp_path):
    from gamepit.errors import GamepitError

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    for name in ("dqn", "ppo"):
        with pytest.raises(GamepitError, match="is not a gamepit checkpoint"):
            registry.make_agent(f"{name}:checkpoint={broken}")
        with pytest.raises(GamepitError, match="no such checkpoint"):
            registry.make_agent(f"{name}:checkpoint={tmp_path / 'missing.pt'}")
        with pytest.raises(GamepitError, match="name a checkpoint"):
            registry.make_agent(name)


def test_a_checkpoint_for_another_game_is_one_line_before_any_game(cli, tmp_path):
    """A CartPole DQN sat at connect four: exit 2 and one line naming what the checkpoint was
    trained on and what the game offers, before any game is played (no replay folder)."""
    from gamepit.learners.dqn.learner import DQNArgs, train

    spec = train(DQNArgs(game="gym:CartPole-v1", total_steps=64, learning_starts=32,
                         buffer_size=64, batch_size=8, eval_episodes=0, device="cpu",
                         run_dir=str(tmp_path / "run")))
    result = cli("match", "connect_four", spec, "random", cwd=tmp_path)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"gamepit: error: dqn checkpoint {checkpoint} was trained on gym:env_id=CartPole-v1 "
        "(observation (4,), 2 actions), not connect_four (observation (2, 6, 7), 7 actions)"]
    assert result.stdout == "" and not (tmp_path / "replays").exists()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text, message", [
    ("seed: !!int 'x'\n", "line 1: bad value 'x'"),
    ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested deeper than"),
    ("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
     + "".join(f"{c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 9)}]\n" for c in "bcdefghi"),
     "line 2: aliases (*name) are not allowed"),
    ("a: !!python/object/apply:os.system ['echo hi']\n", "line 1:"),
    ("learning_rate: [1\n", "bad YAML at line 2"),
    ("- 1\n- 2\n", "expected a mapping"),
])
def test_bad_yaml_is_one_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(GamepitError) as caught:
        load_yaml(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_huge_yaml_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("a: 1\n" + "# padding\n" * 200_000)
    with pytest.raises(GamepitError, match="larger than"):
        load_yaml(path)


@pytest.mark.parametrize("learner, key, value, message", [
    ("dqn", "seed", -1, "seed=-1 must be at least 0"),
    ("dqn", "learning_rate", -1, "learning_rate=-1.0 must be above 0"),
    ("dqn", "learning_rate", "nan", "learning_rate=nan must be a finite number"),
    ("dqn", "gamma", "inf", "gamma=inf must be a finite number"),
    ("dqn", "hidden", -1, "hidden=-1 must be at least 1"),
    ("dqn", "threads", 100_000, "threads=100000 must be at most 256"),
    ("dqn", "threads", 0, "threads=0 must be at least 1"),
    ("dqn", "buffer_size", 10**12, "buffer_size=1000000000000 must be at most"),
    ("dqn", "total_steps", 10**30, "total_steps=" + str(10**30) + " is too large"),
    ("ppo", "seed", -1, "seed=-1 must be at least 0"),
    ("ppo", "ent_coef", -0.5, "ent_coef=-0.5 must be at least 0"),
    ("ppo", "total_steps", 256, "total_steps=256 is less than one rollout"),
    ("alphazero", "seed", -1, "seed=-1 must be at least 0"),
    ("alphazero", "c_puct", "nan", "c_puct=nan must be a finite number"),
    ("alphazero", "dirichlet_epsilon", 2, "dirichlet_epsilon=2.0 must be at most 1"),
    ("alphazero", "filters", 0, "filters=0 must be at least 1"),
])
def test_settings_out_of_range_are_one_line(learner, key, value, message):
    from gamepit.learners.alphazero.learner import AlphaZeroArgs
    from gamepit.learners.dqn.learner import DQNArgs
    from gamepit.learners.ppo.learner import PPOArgs

    args_class = {"dqn": DQNArgs, "ppo": PPOArgs, "alphazero": AlphaZeroArgs}[learner]
    with pytest.raises(ConfigError) as caught:
        merge(args_class, learner, {"game": "gym:CartPole-v1"}, {key: value})
    assert message in str(caught.value), str(caught.value)


def test_a_bad_eval_opponent_and_a_yaml_bomb_fail_before_training(cli, tmp_path):
    result = cli("train", "alphazero", "--game", "tictactoe", "--set", "eval_games=2",
                 "--set", "eval_opponent=alphabeta:depth=nope", "--run", str(tmp_path / "r"),
                 cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("gamepit: error: eval_opponent: agent 'alphabeta'")
    assert result.stderr.strip().count("\n") == 0 and not (tmp_path / "r").exists()
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a ['x', 'x']\nb: &b [*a, *a]\ngame: tictactoe\n")
    result = cli("train", "dqn", "--config", str(bomb), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "aliases (*name) are not allowed" in result.stderr


def test_settings_list_shows_ranges_and_no_unused_default_game(cli):
    result = cli("train", "dqn", "--settings")
    assert result.returncode == 0
    assert "game = (required)" in result.stdout and "CartPole" not in result.stdout
    assert "seed = 1  in [0..2,147,483,647]" in result.stdout
    assert "learning_rate = 0.0001  in (0..]" in result.stdout


def test_ppo_honours_total_steps_and_reports_the_total_it_trains(tmp_path, capsys):
    from gamepit.learners.ppo.learner import PPOArgs, train

    args = merge(PPOArgs, "ppo", {"game": "gym:CartPole-v1", "total_steps": 300,
                                  "num_envs": 2, "num_steps": 64, "eval_episodes": 0,
                                  "device": "cpu", "run_dir": str(tmp_path)})
    train(args)
    assert "training 256" in capsys.readouterr().out
    assert toolkit.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 256
    totals = {m["progress/total_steps"] for m in _metrics(tmp_path)
              if "progress/total_steps" in m}
    assert totals == {256.0}


def test_evaluation_is_capped_said_and_printed(tmp_path, capsys):
    from gamepit.learners.dqn.learner import DQNArgs, train

    train(DQNArgs(game="gym:CartPole-v1", total_steps=64, learning_starts=32, buffer_size=64,
                  batch_size=8, eval_episodes=2, eval_max_steps=5, device="cpu",
                  run_dir=str(tmp_path)))
    out = capsys.readouterr().out
    assert "evaluation: mean return 5.0 (std 0.0) over 2 episodes" in out
    assert "2 cut at eval_max_steps=5 actions" in out
    evaluation = [m for m in _metrics(tmp_path) if "eval/return" in m]
    assert evaluation[0]["eval/cut_episodes"] == 2.0
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 2


def test_progress_counts_alphazero_iterations(capsys):
    from gamepit.training.progress import ProgressDisplay

    display = ProgressDisplay(every=0.0)
    display.update("run", 13415, {"progress/total_steps": 0.0, "progress/iteration": 3.0,
                                  "progress/total_iterations": 10.0})
    assert capsys.readouterr().err.startswith("iteration 3/10")
    display.update("run", 512, {"progress/total_steps": 1024.0})
    assert ProgressDisplay(every=0.0) is not display  # a fresh display counts steps
    fresh = ProgressDisplay(every=0.0)
    fresh.update("run", 512, {"progress/total_steps": 1024.0})
    assert capsys.readouterr().err.splitlines()[-1].startswith("step 512/1024")


def test_progress_to_a_file_has_a_line_per_iteration_and_the_last_line(capsys):
    """Not a terminal: every iteration is a line however fast it comes (issue 25: a log showed
    iteration 1 and then nothing); steps come every 10 seconds, and the last one at the end."""
    from gamepit.training.progress import ProgressDisplay

    display = ProgressDisplay()
    for iteration in range(1, 6):
        display.update("run", iteration * 100, {"progress/iteration": float(iteration),
                                                "progress/total_iterations": 5.0})
        display.update("run", iteration * 100, {"speed/steps_per_second": 9.0})  # same one
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in lines] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    display.stop()
    steps = ProgressDisplay()
    for step in (100, 200, 300):
        steps.update("run", step, {"progress/total_steps": 300.0})
    steps.stop()
    assert capsys.readouterr().err.splitlines() == ["step 100/300", "step 300/300"]
