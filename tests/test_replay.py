"""Replays: written as matches are played, read back, re-simulated and verified; damaged
files get a clear error naming the problem."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamepit.arena import MatchSettings, play_match
from gamepit.errors import GamepitError, ReplayError
from gamepit.protocols import Agent
from gamepit.replay import read_replay, simulate, verify


@pytest.fixture
def recorded(registry, manager, tmp_path):
    game = registry.make_game("connect_four")
    agents = [registry.make_agent("alphabeta:depth=2"), registry.make_agent("random")]
    result = play_match(game, agents, seed=7, agent_specs=["alphabeta:depth=2", "random"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
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
    with pytest.raises(ReplayError, match="differs|illegal|player|returns|rewards"):
        verify(path, registry)


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines[:-1], "truncated after"),
    (lambda lines: lines[:1] + ["{not json"] + lines[2:], "line 2: not valid JSON"),
    (lambda lines: [lines[0].replace('"version":1', '"version":99')] + lines[1:],
     "version 99 is not supported"),
    (lambda lines: lines[1:], "not a gamepit replay"),
    (lambda lines: lines[:1] + lines[2:], "line 2: is step 1, expected step 0"),
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
    assert broken.stderr.count("\n") == 1 and "follows the end record" in broken.stderr


# --------------------------------------------------------------------------- issue 11


def rewrite(path, edit):
    """Apply ``edit(records)`` to the parsed lines of a replay and write them back."""
    records = [json.loads(line) for line in lines_of(path)]
    edit(records)
    open(path, "w").write("".join(json.dumps(record) + "\n" for record in records))


ODD_INFO_PLUGIN = '''
import numpy as np
from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, agent

class Thing:
    def __str__(self):
        return "a thing"

class OddInfo(Agent):
    def act(self, state):
        legal = state.legal_actions()
        return legal[0], {"seen": {3, 1, 2}, "thing": Thing(), "pair": (1, np.int64(2)),
                          "array": np.arange(3), "scalar": np.float32(0.5), 7: "int key"}

@hookimpl
def gamepit_add_agents():
    return [agent("oddinfo", OddInfo, "info that is not JSON")]
'''


def test_info_that_is_not_json_keeps_every_step(cli, tmp_path):
    plugin = tmp_path / "oddinfo.py"
    plugin.write_text(ODD_INFO_PLUGIN)
    run = cli("--plugins", str(plugin), "match", "tictactoe", "oddinfo", "random", "-n", "2",
              "--replays", str(tmp_path / "r"))
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr
    files = sorted((tmp_path / "r").glob("*.jsonl"))
    assert len(files) == 2
    for file in files:
        replay = read_replay(file)
        assert len(replay.steps) == replay.end["steps"]
        mine = [step["info"] for step in replay.steps if step["info"]]
        assert mine and mine[0] == {"seen": [1, 2, 3], "thing": "a thing", "pair": [1, 2],
                                    "array": [0, 1, 2], "scalar": 0.5, "7": "int key"}
        verified = cli("--plugins", str(plugin), "replay", "verify", str(file))
        assert verified.returncode == 0 and verified.stdout.startswith("ok:"), verified.stderr


def test_a_win_on_the_board_cannot_be_rewritten_as_a_forfeit(registry, recorded):
    result, path = recorded
    winner = result.returns.index(max(result.returns))
    assert result.forfeit_seat is None and max(result.returns) == 1.0

    def lie(records):
        end = records[-1]
        end["forfeit_seat"], end["forfeit_reason"] = winner, "act raised RuntimeError: boom"
        end["returns"] = [-1.0 if seat == winner else 1.0 for seat in range(2)]

    rewrite(path, lie)
    with pytest.raises(ReplayError, match=f"seat {winner} forfeited, but the game was over"):
        verify(path, registry)


@pytest.mark.parametrize("edit, message", [
    (lambda end: end.update(returns=[0.0, 0.0]), "returns .* differ"),
    (lambda end: end.update(steps=end["steps"] - 1), "end record says"),
    (lambda end: end.update(final_hash="0" * 16), "final state hash differs"),
    (lambda end: end.update(forfeit_reason="resigned"), "forfeit reason but no forfeit seat"),
    (lambda end: end.pop("returns"), "line .*: 'returns' is missing"),
    (lambda end: end.pop("final_hash"), "'final_hash' is missing"),
])
def test_every_field_of_the_end_record_is_checked(registry, recorded, edit, message):
    _, path = recorded
    rewrite(path, lambda records: edit(records[-1]))
    with pytest.raises(ReplayError, match=message):
        verify(path, registry)


@pytest.mark.parametrize("edit, message", [
    (lambda step: step.update(hsh=step.pop("hash")), "step 9: its state hash is missing"),
    (lambda step: step.pop("hash"), "step 9: its state hash is missing"),
    (lambda step: step.update(hash="0123456789abcdef"), "step 9: state hash differs"),
    (lambda step: step.update(rewards=[5.0, 0.0]), "step 9: recorded rewards"),
])
def test_hash_records_cannot_be_removed_or_renamed(registry, manager, tmp_path, edit, message):
    game = registry.make_game("connect_four")
    for seed in range(20):  # a game of at least 10 steps has a hash record on step 9
        result = play_match(game, [registry.make_agent("random"), registry.make_agent("random")],
                            seed=seed, agent_specs=["random", "random"],
                            settings=MatchSettings(replay_dir=str(tmp_path / str(seed)),
                                                   manager=manager))
        if result.steps >= 10:
            break
    path = result.replay_path
    assert verify(path, registry).startswith("ok:")
    rewrite(path, lambda records: edit(records[10]))
    with pytest.raises(ReplayError, match=message):
        verify(path, registry)


class Crasher(Agent):
    """Plays the first legal action twice, then raises."""

    moves = 0

    def act(self, state):
        self.moves += 1
        if self.moves > 2:
            raise RuntimeError("out of ideas")
        return state.legal_actions()[0]


def test_a_recorded_forfeit_must_match_seat_reason_and_step(registry, manager, tmp_path):
    game = registry.make_game("connect_four")
    result = play_match(game, [Crasher(), registry.make_agent("random")], seed=1,
                        agent_specs=["crasher", "random"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    assert result.forfeit_seat == 0 and result.steps == 4
    path = result.replay_path
    assert "seat 0 forfeited (act raised RuntimeError" in verify(path, registry)
    original = open(path).read()

    def check(edit, message):
        open(path, "w").write(original)
        rewrite(path, lambda records: edit(records[-1]))
        with pytest.raises(ReplayError, match=message):
            verify(path, registry)

    check(lambda end: end.update(forfeit_seat=1, returns=[1.0, -1.0]), "seat 0 was to move")
    check(lambda end: end.update(forfeit_reason=" "), "forfeited with no reason")
    check(lambda end: end.update(returns=[1.0, -1.0]), "returns .* differ")
    check(lambda end: end.update(forfeit_seat=None, forfeit_reason=""), "returns .* differ")


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines[:1] + ["[" * 100_000 + "]" * 100_000] + lines[2:],
     "line 2: JSON nested too deeply"),
    (lambda lines: [lines[0].replace('"game":"connect_four"', '"game":5')] + lines[1:],
     "line 1: 'game' must be a game spec, got 5"),
    (lambda lines: [lines[0].replace('"seed":7,', '')] + lines[1:], "line 1: 'seed' is missing"),
    (lambda lines: [lines[0].replace('"agents":["alphabeta:depth=2","random"]', '"agents":"x"')]
     + lines[1:], "line 1: 'agents' must be a list"),
    (lambda lines: [lines[0].replace('"num_players":2', '"num_players":3')] + lines[1:],
     "line 1: 2 agents for 3 players"),
    (lambda lines: lines[:1] + [lines[1].replace('"player":0,', '')] + lines[2:],
     "line 2: 'player' is missing"),
    (lambda lines: lines[:1] + [lines[1].replace('"player":0', '"player":2')] + lines[2:],
     "line 2: 'player' must be a seat 0..1"),
    (lambda lines: lines[:2] + [lines[2].replace('"action":', '"action":-')] + lines[3:],
     "line 3: 'action' must be an action number"),
    (lambda lines: lines[:1] + [lines[1].replace('"rewards":[0.0,0.0]', '"rewards":[0.0]')]
     + lines[2:], "line 2: 'rewards' must be a list of 2 numbers"),
    (lambda lines: lines[:-1] + [lines[-1].replace('"returns"', '"r"')],
     "'returns' is missing"),
    (lambda lines: lines[:3] + ['{"type":"note"}'] + lines[3:], "line 4: unknown record type"),
    (lambda lines: ["[1, 2]"] + lines[1:], "line 1: not a JSON object"),
    (lambda lines: [], "empty file"),
])
def test_malformed_replays_are_one_line_naming_file_and_line(cli, recorded, damage, message):
    _, path = recorded
    damaged = damage(lines_of(path))
    open(path, "w").write("".join(line + "\n" for line in damaged))
    for command in ("show", "verify", "export"):
        extra = ["--format", "sgf"] if command == "export" else []
        run = cli("replay", command, path, *extra)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1 and path in run.stderr, run.stderr
        assert __import__("re").search(message, run.stderr), run.stderr


def test_action_out_of_range_and_bad_bytes(cli, registry, recorded):
    _, path = recorded
    original = lines_of(path)
    step = json.loads(original[1])
    step["action"] = 99
    open(path, "w").write("\n".join(original[:1] + [json.dumps(step)] + original[2:]) + "\n")
    with pytest.raises(ReplayError, match=r"line 2: step 0: action 99 is out of range"):
        verify(path, registry)
    run = cli("replay", "show", path)
    assert run.returncode == 2 and "out of range" in run.stderr and run.stderr.count("\n") == 1
    data = "\n".join(original).encode() + b"\n"
    cut = data.index(b"\n", data.index(b"\n") + 1) + 5  # inside line 3
    open(path, "wb").write(data[:cut] + b"\xe9" + data[cut:])
    with pytest.raises(ReplayError, match=r"line 3: not UTF-8 \(byte 0xe9"):
        read_replay(path)


def test_one_bad_file_does_not_stop_the_list(cli, recorded, tmp_path):
    _, path = recorded
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "game5.jsonl").write_text(
        lines_of(path)[0].replace('"game":"connect_four"', '"game":5') + "\n")
    import os

    os.mkfifo(tmp_path / "fifo.jsonl")
    run = cli("replay", "list", str(tmp_path), timeout=60)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    rows = run.stdout.splitlines()
    assert len(rows) == 3, rows  # the FIFO is skipped, not waited on
    assert any("alphabeta:depth=2 vs random" in row for row in rows)
    assert sum("bad replay:" in row for row in rows) == 2
    assert any("deep.jsonl" in row and "nested too deeply" in row for row in rows)


def test_export_refuses_to_write_over_its_input(cli, recorded, tmp_path):
    import shutil

    _, path = recorded
    copy = tmp_path / "game.html"
    shutil.copy(path, copy)
    before = copy.read_bytes()
    run = cli("replay", "export", str(copy), "--format", "html")
    assert run.returncode == 2 and "is the replay itself" in run.stderr, run.stderr
    run = cli("replay", "export", path, "--format", "html", "-o", path)
    assert run.returncode == 2 and "is the replay itself" in run.stderr
    link = tmp_path / "link.html"
    os_link = __import__("os").link
    os_link(copy, link)  # the same file under another name
    run = cli("replay", "export", str(copy), "--format", "html", "-o", str(link))
    assert run.returncode == 2 and "is the replay itself" in run.stderr
    assert copy.read_bytes() == before


def test_to_json_never_fails():
    import numpy as np

    from gamepit.protocols import to_json

    loop: list = []
    loop.append(loop)
    value = to_json({"s": {2, 1}, "f": frozenset(["a"]), "mixed": {1, "a"}, "np": np.bool_(True),
                     "loop": loop, (1, 2): None, "obj": object})
    json.dumps(value)
    assert value["s"] == [1, 2] and value["np"] is True and value["(1, 2)"] is None


def test_show_prints_moves_in_the_games_notation(cli, registry, manager, tmp_path):
    for spec, pattern in [("tictactoe", r"moves: 1\. [abc][123] "),
                          ("go:size=5", r"moves: 1\. [A-HJ-T][1-9]|moves: 1\. pass"),
                          ("openspiel:chess", r"moves: 1\. [a-hNBRQK][a-h1-8x]")]:
        game = registry.make_game(spec)
        result = play_match(game, [registry.make_agent("random"), registry.make_agent("random")],
                            seed=3, agent_specs=["random", "random"],
                            settings=MatchSettings(replay_dir=str(tmp_path / spec.replace(":",
                                                   "_")), manager=manager, max_steps=12))
        run = cli("replay", "show", result.replay_path, "--step", "6")
        assert run.returncode == 0, run.stderr
        assert __import__("re").search(pattern, run.stdout), run.stdout


ORIGINALS: dict[str, bytes] = {}  # the recorded file, before Hypothesis's edits
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_replays_are_ok_or_one_line(registry, recorded, data):
    """Any edit of any record (a field set to any JSON value, a field removed, a line replaced
    by bytes) verifies or fails with one line; never another exception."""
    _, path = recorded
    lines = ORIGINALS.setdefault(path, open(path, "rb").read()).split(b"\n")[:-1]
    index = data.draw(st.integers(0, len(lines) - 1))
    kind = data.draw(st.sampled_from(["set", "drop", "bytes"]))
    if kind == "bytes":
        lines[index] = data.draw(st.binary(max_size=40))
    else:
        record = json.loads(lines[index])
        key = data.draw(st.sampled_from(sorted(record)))
        if kind == "drop":
            del record[key]
        else:
            record[key] = data.draw(st.integers(-2, 100) | JSON_VALUES)
        lines[index] = json.dumps(record).encode()
    open(path, "wb").write(b"\n".join(lines) + b"\n")
    try:
        report = verify(path, registry)
    except GamepitError as error:
        assert "\n" not in str(error) and str(error)
    else:
        assert report.startswith("ok:")


def test_header_game_name_must_be_the_specs(registry, recorded):
    _, path = recorded
    rewrite(path, lambda records: records[0].update(game_name="chess"))
    with pytest.raises(ReplayError, match='line 1: header says game_name "chess"'):
        verify(path, registry)


def _small_files() -> None:
    """preexec_fn: files over 3,000 bytes cannot grow (as on a full disk, writes fail)."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_replays_that_cannot_be_written_are_an_error_and_never_counted(tmp_path):
    """A kernel limit on file size stands in for a full disk: some replays fit, some do not."""
    import subprocess
    import sys

    replays = tmp_path / "replays"
    done = subprocess.run(
        [sys.executable, "-m", "gamepit", "match", "connect_four", "random", "random", "-n", "6",
         "--replays", str(replays)], capture_output=True, text=True, timeout=300,
        preexec_fn=_small_files, cwd=tmp_path)
    files = sorted(replays.glob("*.jsonl"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "replays could not be written" in lines[0], done.stderr
    lost = int(lines[0].split("match: ")[1].split(" of ")[0])
    assert lost >= 1 and len(files) == 6 - lost
    if files:
        assert f"replays: {len(files)} in" in done.stdout
    for path in files:  # every file left is whole: it ends with its end record
        assert '"type":"end"' in path.read_text().splitlines()[-1]
