"""Hostile game specs through the real ``gamepit match`` entry point (in process, so a
traceback would surface as an exception here): every refusal is one line with exit code 2, and
every accepted spec plays a game without a forfeit."""

from __future__ import annotations

import pytest

from gamepit.cli import main

HOSTILE = [
    "tictactoe:x=1", "tictactoe:1", "connect_four:size=3", ":", "",
    "go:size=0", "go:size=-1", "go:size=1000", "go:size=nan", "go:size=1e3", "go:size=",
    "go:size=9.5", "go:size=true", "go:komi=nan", "go:komi=inf", "go:komi=1e308", "go:komi=",
    "go:history=0", "go:history=100000", "go:max_moves=10**30", "go:max_moves=-1",
    "go:max_moves=99999999999999999999", "go:unknown=1", "go:size=9,size=9", "go:=3",
    "openspiel:", "openspiel:nonexistent", "openspiel:hex(nope=1)", "openspiel:hex(board_size=0)",
    "openspiel:hex(board_size=-1)", "openspiel:hex(board_size=1000)", "openspiel:tic_tac_toe(",
    "openspiel:breakthrough(rows=0)", "openspiel:connect_four(rows=0)",
    "openspiel:clobber(rows=1,columns=1)", "openspiel:go(board_size=0)",
    "openspiel:go(komi=nan)", "openspiel:othello,max_moves=-1", "openspiel:kuhn_poker",
    "pettingzoo:", "pettingzoo:..", "pettingzoo:.classic", "pettingzoo:os",
    "pettingzoo:classic.go_v5(board_size=0)", "pettingzoo:classic.go_v5(nope=1)",
    "pettingzoo:classic.go_v5(komi=float('nan'))", "pettingzoo:mpe.simple_v3",
    "pettingzoo:classic.tictactoe_v3(render_mode='human')", "pettingzoo:classic/nope-v0",
    "gym:env_id=", "gym:nonexistent_module:Foo-v0", "gym:this:CartPole-v1", "gym:Foo-v0",
    "gym:..:x-v0", "gym:a:b:c", "gym:Pendulum-v1", "gym:CartPole-v1,max_episode_steps=-1",
    "atari:nope", "atari:pong,sticky=nan", "atari:pong,sticky=2", "atari:pong,frame_skip=0",
    "atari:pong,frame_stack=100000", "atari:pong,noop_max=-1", "atari:pong,max_frames=0",
    "atari:pong,full_action_space=maybe",
]
PLAYABLE = ["tictactoe:", "tictactoe:,,,", "go:size=2", "go:max_moves=1", "go:komi=-999.5",
            "openspiel:hex(board_size=2)", "openspiel:breakthrough(rows=2)",
            "pettingzoo:classic.go_v5(board_size=2)", "gym:CartPole-v1,max_episode_steps=1",
            "atari:pong,max_frames=1"]


def run(capsys, spec: str) -> tuple[int, str, str]:
    code = main(["match", spec, "random", "random", "--games", "1", "--no-replays"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("spec", HOSTILE)
def test_hostile_specs_are_one_line(capsys, monkeypatch, spec):
    monkeypatch.setenv("GAMEPIT_ALLOW_IMPORT", "")
    code, out, err = run(capsys, spec)
    lines = [line for line in err.splitlines() if not line.startswith("gamepit: warning")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("gamepit: error: "), err


@pytest.mark.parametrize("spec", PLAYABLE)
def test_accepted_edge_specs_play(capsys, spec):
    code, out, err = run(capsys, spec)
    assert code == 0 and "forfeit" not in out, out + err
