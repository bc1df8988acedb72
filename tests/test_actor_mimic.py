"""Actor-mimic on real MinAtar: a tiny distillation from a PPO, a DQN and a search expert, the
student playing several games from one checkpoint, resuming after SIGKILL, one-line errors, and
dqn/ppo starting from the student's trunk (``init``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("minatar")

from gamepit.arena import MatchSettings, play_lockstep  # noqa: E402
from gamepit.cli import main  # noqa: E402
from gamepit.errors import GamepitError  # noqa: E402
from gamepit.learners import toolkit  # noqa: E402
from gamepit.learners.actor_mimic import learner as mimic  # noqa: E402
from gamepit.learners.dqn import learner as dqn  # noqa: E402
from gamepit.learners.ppo import learner as ppo  # noqa: E402
from gamepit.plugins.manager import PluginManager  # noqa: E402
from gamepit.training.settings import merge  # noqa: E402
from tests.conftest import kill_when

GAMES = "minatar:breakout;minatar:space_invaders;minatar:freeway"
QUIET = {"eval_episodes": 0, "device": "cpu"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread, as training runs use: on a busy 2-core machine torch's default threads
    spin against each other and a tiny network's forward pass takes 50x longer."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Two tiny experts (PPO on breakout, DQN on space invaders) and a student distilled from
    them and from the planner (visit counts) on freeway."""
    root = tmp_path_factory.mktemp("mimic")
    manager = PluginManager(autoload=False)
    ppo.train(merge(ppo.PPOArgs, "ppo", {
        "game": "minatar:breakout", "total_steps": 512, "num_envs": 4, "num_steps": 128,
        "run_dir": str(root / "ppo"), **QUIET}), manager)
    dqn.train(merge(dqn.DQNArgs, "dqn", {
        "game": "minatar:space_invaders", "total_steps": 400, "learning_starts": 200,
        "buffer_size": 1000, "run_dir": str(root / "dqn"), **QUIET}), manager)
    experts = (f"ppo:checkpoint={root / 'ppo' / 'checkpoint.pt'};"
               f"dqn:checkpoint={root / 'dqn' / 'checkpoint.pt'};planner:sims=4")
    mimic.train(merge(mimic.ActorMimicArgs, "actor_mimic", {
        "game": GAMES, "experts": experts, "total_steps": 1500, "num_envs": 4,
        "learning_starts": 300, "beta": 0.5, "log_every": 256,
        "run_dir": str(root / "student"), **QUIET}),
        manager)
    return {"root": root, "student": root / "student" / "checkpoint.pt", "experts": experts}


def gamepit(capsys, *arguments: str) -> tuple[int, str, str]:
    """The command line in this process (no second torch import): exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_distillation_learns_each_expert(trained):
    meta = toolkit.load_checkpoint(trained["student"])
    assert meta["algorithm"] == "actor_mimic" and meta["step"] >= 1500
    assert meta["games"] == ["minatar:game=breakout", "minatar:game=space_invaders",
                             "minatar:game=freeway"]
    assert meta["observation_shape"] == [7, 10, 10]  # freeway's 7 planes, the widest
    kls = [m for m in _metrics(trained["student"].parent)
           if "losses/kl/minatar_breakout" in m]
    assert len(kls) >= 2
    # The PPO expert's policy is soft: the student's KL to it falls as it learns.
    assert kls[-1]["losses/kl/minatar_breakout"] < kls[0]["losses/kl/minatar_breakout"]
    assert "losses/features/minatar_space_invaders" in kls[-1]


def test_one_checkpoint_plays_two_games_batched(trained, registry, manager):
    spec = f"actor_mimic:checkpoint={trained['student']}"
    for name, head in (("minatar:breakout", 0), ("minatar:freeway", 2)):
        game = registry.make_game(name)
        agent = registry.make_agent(spec, game)
        assert agent.batched
        results = play_lockstep(game, [[agent] for _ in range(3)], [1, 2, 3], [[spec]] * 3,
                                settings=MatchSettings(manager=manager, max_steps=200))
        assert agent.network.head == head
        assert len(results) == 3 and all(result.steps > 0 for result in results)
    # act_batch answers with the head of the game the agent was reset for
    game = registry.make_game("minatar:space_invaders")
    agent = registry.make_agent(spec, game)
    agent.reset(game, 0, 1)
    states = [game.new_state(seed) for seed in range(4)]
    with torch.no_grad():
        logits = agent.network.student(torch.as_tensor(np.stack(
            [s.observation(0) for s in states])), 1)
    assert [a for a, _ in agent.act_batch(states)] == logits.argmax(1).tolist()


def test_a_game_the_student_never_saw_is_one_line(trained, registry, capsys):
    spec = f"actor_mimic:checkpoint={trained['student']}"
    with pytest.raises(GamepitError, match="does not play minatar:game=asterix"):
        registry.make_agent(spec, registry.make_game("minatar:asterix"))
    code, _, err = gamepit(capsys, "match", "minatar:seaquest", spec, "random", "-n", "1")
    assert code == 2
    assert err.strip().count("\n") == 0 and "does not play" in err


@pytest.mark.parametrize("experts, message", [
    ("random", "3 games but 1 experts"),
    ("random;;random", "an empty spec"),
    ("random;random;nosuchagent", "unknown agent 'nosuchagent'"),
])
def test_bad_pair_lists_are_one_line(capsys, tmp_path, experts, message):
    code, out, err = gamepit(capsys, "train", "actor_mimic", "--game", GAMES, "--set",
                             f"experts={experts}", "--run", str(tmp_path / "r"), "--device",
                             "cpu")
    assert code == 2, out
    assert err.strip().count("\n") == 0 and message in err


def test_killed_run_resumes_its_step_count(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "gamepit", "train", "actor_mimic", "--game",
               "minatar:breakout;minatar:asterix", "--set", "experts=random;random",
               "--run", str(run), "--device", "cpu", "--set", "num_envs=2",
               "--set", "learning_starts=100", "--set", "checkpoint_every=400",
               "--set", "log_every=100", "--set", "eval_episodes=0"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command + ["--set", "total_steps=1000000"], cwd=tmp_path,
                               env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    kill_when(process, (run / "checkpoint.pt").is_file, "a checkpoint", seconds=120)
    killed_at = int(toolkit.load_checkpoint(run / "checkpoint.pt")["step"])
    assert 400 <= killed_at < 1_000_000
    result = subprocess.run(command + ["--set", f"total_steps={killed_at + 400}"],
                            cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"from step {killed_at}" in result.stdout
    assert toolkit.load_checkpoint(run / "checkpoint.pt")["step"] == killed_at + 400
    steps = [m["step"] for m in _metrics(run) if "progress/total_steps" in m]
    assert steps[-1] == killed_at + 400 and killed_at + 100 in steps


def _trunk(path: Path, planes: int) -> dict[str, torch.Tensor]:
    weights = toolkit.load_checkpoint(path)["network"]
    trunk = {key[len("torso."):]: value for key, value in weights.items()
             if key.startswith("torso.")}
    trunk["convs.0.weight"] = trunk["convs.0.weight"][:, :planes]
    return trunk


def test_dqn_starts_from_the_student_trunk(trained, capsys, tmp_path):
    run = tmp_path / "dqn"
    code, _, err = gamepit(capsys, "train", "dqn", "--game", "minatar:asterix", "--run",
                           str(run), "--device", "cpu", "--init", str(trained["student"]),
                           "--set", "total_steps=8", "--set", "learning_starts=100",
                           "--set", "buffer_size=100", "--set", "eval_episodes=0")
    assert code == 0, err
    saved = toolkit.load_checkpoint(run / "checkpoint.pt")
    for key, value in _trunk(trained["student"], 4).items():  # asterix has 4 planes
        assert torch.equal(saved["network"][f"torso.{key}"], value), key
        assert torch.equal(saved["target_network"][f"torso.{key}"], value), key


def test_ppo_starts_from_the_student_trunk(trained, capsys, tmp_path):
    network = ppo.build_network({"observation_shape": [4, 10, 10], "num_actions": 6,
                                 "args": {"hidden": 64}})
    toolkit.load_trunk(network.torso, trained["student"])
    for key, value in _trunk(trained["student"], 4).items():
        assert torch.equal(network.torso.state_dict()[key], value), key
    code, _, err = gamepit(capsys, "train", "ppo", "--game", "minatar:breakout", "--run",
                           str(tmp_path / "p"), "--device", "cpu", "--set",
                           f"init={trained['student']}", "--set", "total_steps=64", "--set",
                           "num_envs=2", "--set", "num_steps=32", "--set", "eval_episodes=0")
    assert code == 0, err


def test_init_from_the_shipped_student(capsys, tmp_path):
    """``--init builtin:minatar`` starts from the shipped student's trunk (10 planes: breakout
    keeps the first 4 of its first convolution)."""
    run = tmp_path / "dqn"
    code, _, err = gamepit(capsys, "train", "dqn", "--game", "minatar:breakout", "--run",
                           str(run), "--device", "cpu", "--init", "builtin:minatar",
                           "--set", "total_steps=8", "--set", "learning_starts=100",
                           "--set", "buffer_size=100", "--set", "eval_episodes=0")
    assert code == 0, err
    saved = toolkit.load_checkpoint(run / "checkpoint.pt")
    shipped = Path(mimic.__file__).parent / "checkpoints" / "minatar.pt"
    for key, value in _trunk(shipped, 4).items():
        assert torch.equal(saved["network"][f"torso.{key}"], value), key


@pytest.mark.parametrize("learner, init, message", [
    ("muzero", "x.pt", "muzero has no setting 'init'"),
    ("dqn", "builtin:nope", "no built-in"),
    ("dqn", "missing.pt", "missing.pt: no such checkpoint"),
    ("ppo", str(Path(mimic.__file__).parents[1] / "alphazero" / "checkpoints" / "tictactoe.pt"),
     "('alphazero') has no trunk"),
])
def test_a_bad_init_is_one_line(capsys, tmp_path, learner, init, message):
    code, out, err = gamepit(capsys, "train", learner, "--game", "minatar:breakout", "--run",
                             str(tmp_path / "r"), "--device", "cpu", "--init", init)
    assert code == 2, out
    assert err.strip().count("\n") == 0 and message in err, err
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


@pytest.mark.parametrize("game, message", [
    ("minatar:seaquest", "does not fit the network: convs.0.weight"),  # 10 planes > 7
    ("gym:CartPole-v1", "does not fit the network"),
])
def test_a_trunk_that_does_not_fit_is_one_line(trained, capsys, tmp_path, game, message):
    code, out, err = gamepit(capsys, "train", "ppo", "--game", game, "--run",
                             str(tmp_path / "p"), "--device", "cpu", "--set",
                             f"init={trained['student']}", "--set", "total_steps=64", "--set",
                             "num_envs=2", "--set", "num_steps=32", "--set", "eval_episodes=0")
    assert code == 2, out
    assert err.strip().count("\n") == 0 and message in err


def test_the_shipped_student_plays_its_four_games(registry):
    spec = "actor_mimic:checkpoint=builtin:minatar"
    for head, name in enumerate(("asterix", "freeway", "seaquest", "space_invaders")):
        game = registry.make_game(f"minatar:{name}")
        agent = registry.make_agent(spec, game)
        agent.reset(game, 0, 1)
        assert agent.network.head == head
        states = [game.new_state(seed) for seed in range(3)]
        assert all(0 <= action < game.num_actions for action, _ in agent.act_batch(states))
    with pytest.raises(GamepitError, match="does not play minatar:game=breakout"):
        registry.make_agent(spec, registry.make_game("minatar:breakout"))
    with pytest.raises(GamepitError, match="no built-in actor_mimic checkpoint 'atari'"):
        registry.make_agent("actor_mimic:checkpoint=builtin:atari")


MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")


def test_the_shipped_experts_are_small_and_play_their_games(registry):
    """``ppo:checkpoint=builtin:minatar_GAME``: weights and metadata only (no optimizer, no
    random states), each the network of its own game."""
    for name in MINATAR_GAMES:
        path = ppo.BUILTIN_DIR / f"minatar_{name}.pt"
        data = toolkit.load_checkpoint(path)
        assert not {"optimizer", "rng"} & set(data), name
        assert data["step"] >= 4_999_168 and data["game"] == f"minatar:game={name}"
        game = registry.make_game(f"minatar:{name}")
        agent = registry.make_agent(f"ppo:checkpoint=builtin:minatar_{name}", game)
        agent.reset(game, 0, 1)
        states = [game.new_state(seed) for seed in range(3)]
        assert all(0 <= action < game.num_actions for action, _ in agent.act_batch(states))
    with pytest.raises(GamepitError, match="no built-in ppo checkpoint 'minatar_pong'; "
                       "shipped: minatar_asterix, minatar_breakout"):
        registry.make_agent("ppo:checkpoint=builtin:minatar_pong")


def test_the_shipped_breakout_expert_beats_random(registry):
    game = registry.make_game("minatar:breakout")
    specs = ["ppo:checkpoint=builtin:minatar_breakout", "random"]
    means = []
    for spec in specs:
        agents = [[registry.make_agent(spec, game)] for _ in range(4)]
        results = play_lockstep(game, agents, list(range(4)), [[spec]] * 4,
                                settings=MatchSettings(max_steps=2_000))
        means.append(np.mean([result.returns[0] for result in results]))
    assert means[0] >= 3 * max(means[1], 1.0), means


def test_the_student_conforms_on_each_of_its_games(registry):
    from gamepit.authoring.checks import check_agent

    for name in ("freeway", "space_invaders"):
        game = registry.make_game(f"minatar:{name}")
        check_agent(registry.make_agent("actor_mimic:checkpoint=builtin:minatar", game), game,
                    games=1, max_steps=60)
    with pytest.raises(GamepitError, match="name a checkpoint"):
        registry.make_agent("actor_mimic")
    with pytest.raises(GamepitError, match="does not play nope"):
        registry.make_agent("actor_mimic:checkpoint=builtin:minatar,game=nope")


@pytest.mark.parametrize("actor", ["expert", "student"])
def test_who_acts_while_states_are_gathered(registry, actor):
    """``actor=expert``: every recorded move is the expert's (a random agent, labelled by a
    one-hot of its move); ``actor=student``: the student's greedy move."""
    game = registry.make_game("minatar:breakout")
    agent = registry.make_agent("random", game)
    agent.reset(game, 0, 1)
    args = merge(mimic.ActorMimicArgs, "actor_mimic", {
        "game": "minatar:breakout", "experts": "random", "num_envs": 4, "buffer_size": 400,
        "actor": actor})
    player = mimic.GamePlayer(0, game, mimic.Expert(agent, "random", False, 1.0), args,
                              np.random.default_rng(0), 0, 1)
    student = mimic.StudentNetwork((4, 10, 10), [game.num_actions], [])
    experts, students = [], []
    for _ in range(20):
        slots = (player.buffer.position - 1) % player.buffer.ring
        with torch.no_grad():
            students.append(student(torch.as_tensor(player.observations()), 0).argmax(1))
        player.step(student, torch.device("cpu"), 0.0, args.actor == "expert")
        envs = np.arange(4)
        experts.append(player.targets[envs, slots].argmax(1))
        if actor == "expert":
            assert (player.buffer.actions[envs, slots] == experts[-1]).all()
        else:
            assert (player.buffer.actions[envs, slots] == students[-1].numpy()).all()
    assert not np.array_equal(np.concatenate(experts), torch.cat(students).numpy())


@pytest.fixture(scope="module")
def kinds_student(tmp_path_factory) -> Path:
    """A tiny student that reads asterix's and seaquest's planes as shared object kinds."""
    root = tmp_path_factory.mktemp("kinds")
    mimic.train(merge(mimic.ActorMimicArgs, "actor_mimic", {
        "game": "minatar:asterix;minatar:seaquest", "experts": "random;random", "kinds": True,
        "total_steps": 300, "num_envs": 2, "learning_starts": 100, "run_dir": str(root),
        **QUIET}), PluginManager(autoload=False))
    return root / "checkpoint.pt"


def test_every_minatar_plane_has_a_shared_kind(registry):
    games = {name: registry.make_game(f"minatar:{name}") for name in
             ("asterix", "breakout", "freeway", "seaquest", "space_invaders")}
    for game in games.values():
        assert len(game.plane_kinds) == game.observation_shape[0]
        assert set(game.plane_kinds) <= set(game.object_kinds)
        assert game.plane_kinds[0] == "player"
    assert games["breakout"].plane_kinds == ("player", "prize", "trail", "enemy")
    # the kinds a held-out breakout reads are all among the other four games' kinds
    others = {kind for name, game in games.items() if name != "breakout"
              for kind in game.plane_kinds}
    assert set(games["breakout"].plane_kinds) <= others


def test_a_kinds_student_adds_each_plane_into_its_kind(kinds_student, registry):
    meta = toolkit.load_checkpoint(kinds_student)
    assert meta["observation_shape"] == [len(meta["object_kinds"]), 10, 10]
    agent = registry.make_agent(f"actor_mimic:checkpoint={kinds_student}",
                                registry.make_game("minatar:seaquest"))
    student = agent.network.student
    game = registry.make_game("minatar:seaquest")
    observations = torch.as_tensor(np.stack([game.new_state(seed).observation(0)
                                             for seed in range(3)]))
    kinds = torch.zeros((3, len(meta["object_kinds"]), 10, 10))
    for plane, kind in enumerate(game.plane_kinds):  # seaquest's fish and subs: both enemies
        kinds[:, meta["object_kinds"].index(kind)] += observations[:, plane]
    with torch.no_grad():
        assert torch.equal(student(observations, 1), student.heads[1](student.torso(kinds)))


def test_a_kinds_trunk_starts_a_held_out_game_exactly(kinds_student, registry, capsys,
                                                      tmp_path):
    """PPO on breakout from a kinds trunk computes what the trunk computes on breakout's planes
    read as kinds: its ball as the asterix gold's and seaquest divers' prize, and so on."""
    meta = toolkit.load_checkpoint(kinds_student)
    student = mimic.build_network(meta)
    toolkit.load_state(student, meta["network"], "student")
    breakout = registry.make_game("minatar:breakout")
    network = ppo.build_network({"observation_shape": [4, 10, 10], "num_actions": 6,
                                 "args": {"hidden": 128}})
    toolkit.load_trunk(network.torso, kinds_student, breakout)
    state = breakout.new_state(5)
    rows = []
    for _ in range(6):
        rows.append(state.observation(0))
        state.apply(3)
    observations = torch.as_tensor(np.stack(rows))
    kinds = torch.zeros((len(rows), len(meta["object_kinds"]), 10, 10))
    for plane, kind in enumerate(breakout.plane_kinds):
        kinds[:, meta["object_kinds"].index(kind)] += observations[:, plane]
    with torch.no_grad():
        assert torch.allclose(network.torso(observations), student.torso(kinds), atol=1e-6)
    with pytest.raises(GamepitError, match="reads object kinds .* names none for its planes"):
        toolkit.load_trunk(network.torso, kinds_student, None)
    code, _, err = gamepit(capsys, "train", "ppo", "--game", "minatar:breakout", "--run",
                           str(tmp_path / "p"), "--device", "cpu", "--set",
                           f"init={kinds_student}", "--set", "total_steps=64", "--set",
                           "num_envs=2", "--set", "num_steps=32", "--set", "eval_episodes=0")
    assert code == 0, err


def test_kinds_need_games_that_name_them(registry, capsys, tmp_path):
    with pytest.raises(GamepitError, match="tictactoe names no object kind"):
        mimic.game_kinds([registry.make_game("tictactoe")], ["tictactoe"])
    code, out, err = gamepit(capsys, "train", "actor_mimic", "--game", GAMES, "--set",
                             "experts=random;random;random", "--set", "kinds=true", "--set",
                             "planes=10", "--run", str(tmp_path / "r"), "--device", "cpu")
    assert code == 2, out
    assert err.strip().count("\n") == 0 and "set planes=0" in err
