"""The engine agents' plugin: ``gtp`` (Go engines) and ``uci`` (chess engines), outside programs
seated like any agent. Targets are strings, so listing plugins starts no engine."""

from __future__ import annotations

from gamepit.plugins import hookimpl
from gamepit.protocols import Option
from gamepit.protocols import agent as agent_entry

TIMEOUT = Option("timeout", float, 60.0, "seconds an engine may take to answer when the match "
                 "sets no move time (a move time, when set, is the limit)", low=0.01, high=86400)


@hookimpl
def gamepit_add_agents() -> list:
    return [
        agent_entry("gtp", "gamepit.agents.gtp:GtpAgent",
                    "A Go engine over GTP, e.g. gtp:cmd='gnugo --mode gtp --level 1'.",
                    [Option("cmd", str, "", "the engine's command line (no shell)"),
                     Option("time_settings", str, "", "GTP time_settings MAIN BYO STONES "
                            "(seconds; default: the match's move time as byo-yomi)"),
                     TIMEOUT]),
        agent_entry("uci", "gamepit.agents.uci:UciAgent",
                    "A chess engine over UCI, e.g. uci:cmd=stockfish,options=Skill Level=3.",
                    [Option("cmd", str, "", "the engine's command line (no shell)"),
                     Option("options", str, "", "setoption pairs Name=Value;Name=Value"),
                     Option("movetime", int, 0, "go movetime: milliseconds a move (100 if no "
                            "limit is set)", low=0, high=86_400_000),
                     Option("nodes", int, 0, "go nodes: nodes a move", low=0, high=2**40),
                     Option("depth", int, 0, "go depth: plies a move", low=0, high=200),
                     TIMEOUT]),
    ]
