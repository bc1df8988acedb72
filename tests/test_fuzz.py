"""The fuzz suite: every class of hostile input from issue 11 (specs, command lines, YAML,
replays, checkpoints, GTP, HTTP) and issue 24 (ledgers, archives) thrown at the real command
line, engine and server. No case may end in a traceback, a many-line error, or damaged data
accepted as good. The budgets here are small; ``benchmarks/fuzz.py`` runs the same cases with
larger ones and prints the table."""

from __future__ import annotations

import pytest

from tests.fuzzing import CLASSES, table

BUDGETS = {"specs": 40, "command line": 60, "YAML": 40, "replays": 50, "checkpoints": 30,
           "GTP": 120, "HTTP": 80, "ledgers": 15, "archives": 40}


@pytest.mark.parametrize("name", list(BUDGETS))
def test_no_traceback_no_lie(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # ledgers and replays of accepted cases land here
    tally = CLASSES[name](BUDGETS[name])
    print(table([tally]))
    assert tally.cases >= BUDGETS[name] // 2, "the strategy produced too few cases"
    assert tally.failures == 0, "\n".join(tally.examples)


def test_the_harness_sees_a_traceback(monkeypatch) -> None:
    """A command that raises is counted as a traceback, so the suite above can fail."""
    import gamepit.cli
    from tests import fuzzing

    def broken(argv):
        raise IndexError("planted")

    monkeypatch.setattr(fuzzing, "main", broken)
    tally = fuzzing.Tally("planted")
    fuzzing.judge(tally, ["plugins"])
    assert tally.tracebacks == 1 and gamepit.cli.main is not broken
