"""Replays: written as matches are played, read back, re-simulated and verified; damaged
files get a clear error naming the problem."""

import json

import pytest

from gamepit.arena import play_match
from gamepit.errors import ReplayError
from gamepit.replay import read_replay, simulate, verify


@pytest.fixture
def recorded(registry, manager, tmp_path):
    game = registry.make_game("connect_four")
    agents = [registry.make_agent("alphabeta:depth=2"), registry.make_agent("random")]
    result = play_match(game, agents, seed=7, agent_specs=["alphabeta:depth=2", "random"],
                        replay_dir=str(tmp_path), manager=manager)
    return result, result.replay_path


def lines_of(path):
    return open(path).read().splitlines()


def test_round_trip(registry, recorded):
    result, path = recorded
    replay = read_replay(path)
    header = replay.header
    assert header["format"] == "gamepit-replay" and header["version"] == 1
    assert header["game"] == "connect_four" and header["seed"] == 7
    assert header["agents"] == ["alphabeta:depth=2", "random"]
    assert "numpy" in header["versions"] and header["created"].endswith("+00:00")
    assert len(replay.steps) == result.steps
    assert replay.end["returns"] == result.returns
    assert "value" in replay.steps[0]["info"]  # alphabeta's info travels with its moves
    state, checked = simulate(replay, registry)
    assert state.returns() == result.returns
    assert checked == result.steps // 10
    assert verify(path, registry).startswith("ok:")


def test_edited_action_is_caught(registry, recorded):
    _, path = recorded
    lines = lines_of(path)
    step = json.loads(lines[1])
    step["action"] = (step["action"] + 1) % 7
    lines[1] = json.dumps(step)
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(ReplayError, match="differs|illegal|player|returns"):
        verify(path, registry)


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines[:-1], "truncated after"),
    (lambda lines: lines[:1] + ["{not json"] + lines[2:], "line 2 is not valid JSON"),
    (lambda lines: [lines[0].replace('"version":1', '"version":99')] + lines[1:],
     "version 99 is not supported"),
    (lambda lines: lines[1:], "not a gamepit replay"),
    (lambda lines: lines[:1] + lines[2:], "is not step 0"),
])
def test_damaged_files(registry, recorded, damage, message):
    _, path = recorded
    damaged = damage(lines_of(path))
    open(path, "w").write("\n".join(damaged) + "\n")
    with pytest.raises(ReplayError, match=message):
        verify(path, registry)


def test_cut_mid_line_reads_as_truncated(recorded):
    _, path = recorded
    text = open(path).read()
    open(path, "w").write(text[: len(text) - 20])
    with pytest.raises(ReplayError, match="truncated"):
        read_replay(path)
    assert read_replay(path, allow_truncated=True).end is None


def test_cli_list_show_verify(cli, recorded, tmp_path):
    _, path = recorded
    listed = cli("replay", "list", str(tmp_path))
    assert listed.returncode == 0 and "alphabeta:depth=2 vs random" in listed.stdout
    shown = cli("replay", "show", path, "--step", "3")
    assert shown.returncode == 0
    assert "after 3 of" in shown.stdout and "0 1 2 3 4 5 6" in shown.stdout
    verified = cli("replay", "verify", path)
    assert verified.returncode == 0 and verified.stdout.startswith("ok:")
    open(path, "a").write("garbage\n")
    broken = cli("replay", "verify", path)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert broken.stderr.count("\n") == 1 and "not valid JSON" in broken.stderr
