"""The executor seam without Ray: pools in this process and in worker processes (real
processes, real deaths), how a round is dealt out, and the one-line errors: an unknown backend,
and the Ray backend asked for where Ray is not installed (a real interpreter in which importing
ray fails)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gamepit.backends import map_calls, open_pool
from gamepit.backends.pool import split
from gamepit.cli import main
from gamepit.errors import GamepitError
from gamepit.tournament.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]


class Probe:
    """A worker for these tests, built where it runs from plain values."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def add(self, emit, value):
        emit(("working on", value))
        return value + self.offset

    def identity(self, emit, shared):
        return id(shared), float(np.sum(shared))

    def die_once(self, emit, marker: str):
        if not os.path.exists(marker):
            Path(marker).touch()
            os._exit(3)
        return "played"

    def refuse(self, emit):
        raise GamepitError("this worker refuses")

    def chatter(self, emit):
        while True:
            emit("still here")
            time.sleep(0.01)


def test_split_deals_equal_shares_in_whole_turns():
    assert split(64, 2) == [32, 32]
    assert split(7, 3) == [3, 3, 1]
    assert split(6, 4, multiple=2) == [2, 2, 2]
    assert split(5, 1) == [5] and split(3, 8) == [1, 1, 1]


@pytest.mark.parametrize("backend, workers", [("inprocess", 0), ("inprocess", 3),
                                              ("processes", 2)])
def test_calls_come_back_in_order_one_in_flight_per_worker(backend, workers):
    with open_pool(backend, workers, Probe, (100,)) as pool:
        assert map_calls(pool, [("add", (i,)) for i in range(9)]) == [100 + i for i in range(9)]
        assert pool.peak_in_flight <= max(workers, 1)


def test_a_shared_version_reaches_a_worker_process_once():
    """The same version in three calls is one object in the worker; a new version is another."""
    with open_pool("processes", 1, Probe, (0,)) as pool:
        first = pool.share(np.ones(1000))
        seen = map_calls(pool, [("identity", (first,))] * 3)
        second = pool.share(np.ones(1000) * 2)
        later = map_calls(pool, [("identity", (second,))])
    assert len({identity for identity, _ in seen}) == 1 and seen[0][1] == 1000.0
    assert later[0][1] == 2000.0


def test_a_dead_worker_process_is_replaced_and_its_call_run_again(tmp_path, capsys):
    with open_pool("processes", 1, Probe, (0,)) as pool:
        assert map_calls(pool, [("die_once", (str(tmp_path / "died"),))]) == ["played"]
    assert "a worker died (exit code 3)" in capsys.readouterr().out


@pytest.mark.parametrize("backend, workers", [("inprocess", 0), ("processes", 1)])
def test_a_gamepit_error_in_a_worker_is_its_one_line(backend, workers):
    with open_pool(backend, workers, Probe, (0,)) as pool, \
            pytest.raises(GamepitError, match="this worker refuses"):
        map_calls(pool, [("refuse", ())])


def test_an_unknown_backend_is_one_line(cli, tmp_path):
    done = cli("tournament", "tictactoe", "random", "alphabeta", "--backend", "spark")
    assert done.returncode == 2 and "invalid choice: 'spark'" in done.stderr
    config = tmp_path / "t.yaml"
    config.write_text("game: tictactoe\nagents: [random, alphabeta]\nbackend: spark\n")
    done = cli("tournament", "--config", str(config), "--ledger", str(tmp_path / "l.sqlite"))
    assert done.returncode == 2 and "backend must be one of inprocess, processes, ray" \
        in done.stderr
    done = cli("train", "alphazero", "--game", "tictactoe", "--set", "backend=spark")
    assert done.returncode == 2 and "backend must be one of" in done.stderr
    assert "Traceback" not in done.stderr


def here(capsys, *arguments: str) -> tuple[int, str, str]:
    """The command line in this process (a learner's torch imported once): exit code, stdout,
    stderr."""
    capsys.readouterr()
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("arguments", [
    ["tournament", "tictactoe", "random", "alphabeta", "--workers", "2", "--ray-address",
     "127.0.0.1:6379"],
    ["train", "dagger", "--game", "tictactoe", "--set", "expert=random", "--workers", "2",
     "--set", "ray_address=127.0.0.1:6379"],
])
def test_a_ray_address_without_the_ray_backend_is_one_line(capsys, monkeypatch, tmp_path,
                                                            arguments):
    """A cluster named but --backend ray forgotten: said at once, not a run on this machine."""
    monkeypatch.chdir(tmp_path)
    code, out, err = here(capsys, *arguments)
    assert code == 2, out[-2000:]
    assert "ray_address 127.0.0.1:6379 needs backend ray" in err
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("arguments", [
    ["tournament", "tictactoe", "random", "alphabeta:depth=1", "--backend", "inprocess",
     "--workers", "2", "--games", "1"],
    ["train", "dagger", "--game", "tictactoe", "--workers", "2", "--set", "expert=random",
     "--set", "rounds=1", "--set", "episodes=2", "--set", "epochs=1", "--set",
     "eval_episodes=0", "--set", "device=cpu"],
])
def test_workers_on_the_inprocess_backend_say_they_take_turns(capsys, monkeypatch, tmp_path,
                                                              arguments):
    """--workers with the default (learners) or a named inprocess backend runs nothing side by
    side: the run says so, and still runs."""
    monkeypatch.chdir(tmp_path)
    code, out, err = here(capsys, *arguments, *(["--ledger", "l.sqlite"]
                                                 if arguments[0] == "tournament"
                                                 else ["--run", "run"]))
    assert code == 0, err[-2000:]
    assert "backend inprocess: the 2 workers take turns in this process (--backend " \
           "processes or ray runs them side by side)" in out


# A driver whose worker process emits items until the driver is killed under it.
CHATTY_DRIVER = """
import sys
from gamepit.backends import open_pool
from tests.test_backends import Probe

with open_pool("processes", 1, Probe, (0,)) as pool:
    pool.call(0, "chatter")
    pool.wait(lambda event: print("heard", flush=True))
    pool.wait(lambda event: None)
"""


def test_a_worker_process_whose_driver_is_killed_ends_without_a_traceback():
    """kill -9 of a driver mid-call: its worker (which shares the terminal) ends quietly, not
    with a BrokenPipeError traceback printed after the shell prompt."""
    driver = subprocess.Popen([sys.executable, "-c", CHATTY_DRIVER], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert driver.stdout.readline().strip() == "heard"
    driver.kill()
    errors = driver.stderr.read()  # the end of file: the worker, its last writer, has ended
    driver.wait()
    assert "Traceback" not in errors and errors.strip() == "", errors[-2000:]


# An interpreter in which `import ray` fails, as where the extra is not installed.
WITHOUT_RAY = """
import sys

class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoRay())
sys.modules.pop("ray", None)
from gamepit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("arguments", [
    ["tournament", "tictactoe", "random", "alphabeta", "--backend", "ray", "--workers", "1"],
    ["train", "dagger", "--game", "tictactoe", "--backend", "ray", "--workers", "1", "--set",
     "expert=random", "--set", "rounds=1", "--set", "episodes=1"],
])
def test_the_ray_backend_without_ray_is_one_line(tmp_path, arguments):
    done = subprocess.run([sys.executable, "-c", WITHOUT_RAY, *arguments,
                           *(["--ledger", "l.sqlite"] if arguments[0] == "tournament" else
                             ["--run", str(tmp_path / "run")])],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "the ray backend needs Ray, which is not installed here: pip install " \
           "'gamepit[ray]'" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_ledger_from_before_the_node_column_opens_and_gains_it(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(str(path)) as connection:
        connection.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, tournament TEXT, "
                           "game TEXT, pairing TEXT, game_index INTEGER, agents TEXT, "
                           "seed INTEGER, returns TEXT, outcome TEXT, forfeit_seat INTEGER, "
                           "forfeit_reason TEXT NOT NULL DEFAULT '', steps INTEGER, "
                           "seconds REAL, replay_path TEXT, finished REAL)")
        connection.execute("INSERT INTO results VALUES (1, 't', 'g', '[\"a\",\"b\"]', 0, "
                           "'[\"a\",\"b\"]', 0, '[1.0,-1.0]', 'seat 0 won', NULL, '', 5, 0.1, "
                           "NULL, 0)")
    with Ledger(path) as ledger:
        [record] = ledger.results("t")
    assert record.node == "" and record.returns == [1.0, -1.0]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_a_ray_address_where_nothing_answers_is_one_line_at_once(cli, tmp_path, scheme):
    """A head's HOST:PORT, or a Ray Client address (ray://), where nothing listens."""
    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"{scheme}127.0.0.1:{port}"
    done = cli("tournament", "tictactoe", "random", "alphabeta", "--backend", "ray",
               "--workers", "1", "--ray-address", address, "--ledger",
               str(tmp_path / "l.sqlite"), timeout=20)
    assert done.returncode == 2 and f"ray: nothing answers at {address}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
