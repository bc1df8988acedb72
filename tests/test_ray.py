"""The Ray backend on a real Ray: one local ``ray.init(num_cpus=2)`` shared by this module's
tests (started once by each xdist worker that runs some of them, shut down at the end), and a
real two-node cluster on this machine (``ray start --head`` plus a second ``ray start
--address``) that a test starts and stops itself. Tournaments give the same ledger as in this
process and in worker processes; a killed worker or driver costs at most the game in flight;
self-play and labelling give the same data on Ray as here."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from gamepit.backends import map_calls, open_pool  # noqa: E402
from gamepit.plugins.manager import PluginManager  # noqa: E402
from gamepit.tournament.config import TournamentConfig  # noqa: E402
from gamepit.tournament.run import run_tournament  # noqa: E402
from gamepit.training.settings import merge  # noqa: E402
from tests.conftest import ledger_games  # noqa: E402
from tests.test_faults import _kill_midway  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")
ROOT = Path(__file__).resolve().parents[1]
FAULTS = str(ROOT / "benchmarks" / "fault_agents.py")
RAY = str(Path(sys.executable).parent / "ray")

# A plugin file (workers load it by path): an agent that thinks a while and notes its process.
PLUGIN = '''
import os
import time

from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, Option, agent

PIDS = {pids!r}


class Noting(Agent):
    """Waits ``ms`` milliseconds, notes its process id, plays the first legal move."""

    def __init__(self, ms=20):
        self.ms = ms

    def act(self, state):
        with open(os.path.join(PIDS, str(os.getpid())), "w"):
            pass
        time.sleep(self.ms / 1000)
        return int(state.legal_actions()[0])


@hookimpl
def gamepit_add_agents():
    return [agent("noting", Noting, "test agent", (Option("ms", int, 20, "think time"),))]
'''


@pytest.fixture(scope="module")
def cluster():
    """One local Ray for the module's tests (token auth off, so other drivers may join): a new
    one even where RAY_ADDRESS or a ``ray start`` on this machine names another, its session
    folder (logs, sockets) in a short temporary folder of its own, removed at the end. Under
    ``--dist worksteal`` an xdist worker that runs some of these tests starts one (a few
    seconds); the xdist_group mark keeps them on one worker with ``--dist loadgroup``."""
    auth = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    temp = tempfile.mkdtemp(prefix="gp-ray-", dir="/tmp")  # short: Unix socket paths
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False,
                 logging_level="WARNING", _temp_dir=temp)
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        if auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = auth


def ledger_rows(path: Path) -> list[tuple]:
    """Every game of a ledger in a fixed order, without timings and node."""
    with sqlite3.connect(str(path)) as connection:
        return sorted(connection.execute(
            "SELECT pairing, game_index, agents, seed, returns, steps, forfeit_seat, "
            "forfeit_reason FROM results").fetchall())


def nodes_of(path: Path) -> list[str]:
    with sqlite3.connect(str(path)) as connection:
        return [row[0] for row in connection.execute("SELECT node FROM results")]


def tournament(tmp_path: Path, name: str, **settings) -> Path:
    ledger = tmp_path / f"{name}.sqlite"
    settings = {"game": "connect_four", "agents": ["random", "alphabeta:depth=1",
                                                   "mcts:sims=8"],
                "games_per_pair": 4, "ledger": str(ledger), **settings}
    run_tournament(TournamentConfig(**settings))
    return ledger


def test_the_same_seeds_give_the_same_ledger_on_every_backend(cluster, tmp_path):
    """In this process, in two worker processes and on two Ray workers: the same games, the
    same results; on Ray each game says which node played it."""
    here = tournament(tmp_path, "here")
    processes = tournament(tmp_path, "processes", backend="processes", workers=2)
    on_ray = tournament(tmp_path, "ray", backend="ray", workers=2)
    assert len(ledger_rows(here)) == 12
    assert ledger_rows(here) == ledger_rows(processes) == ledger_rows(on_ray)
    assert set(nodes_of(here)) == {""}
    assert set(nodes_of(on_ray)) == {ray.get_runtime_context().get_node_id()}


def test_a_killed_ray_worker_costs_no_game(cluster, tmp_path):
    """Kill a Ray worker's process in the middle of a tournament: the game it was playing is
    played again on a new worker, so the ledger is the one of an undisturbed run."""
    pids = tmp_path / "pids"
    pids.mkdir()
    plugin = tmp_path / "noting.py"
    plugin.write_text(PLUGIN.format(pids=str(pids)))
    common = {"agents": ["random", "noting:ms=10"], "games_per_pair": 4,
              "plugins": [str(plugin)]}
    killed: list[int] = []

    def kill_one(record) -> None:
        if killed:
            return
        workers = [int(p.name) for p in pids.iterdir() if int(p.name) != os.getpid()]
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])

    ledger = tmp_path / "ray.sqlite"
    run_tournament(TournamentConfig(game="connect_four", ledger=str(ledger), backend="ray",
                                    workers=2, **common), on_record=kill_one)
    assert killed, "no Ray worker was found to kill"
    here = tournament(tmp_path, "here", **common)
    assert ledger_rows(ledger) == ledger_rows(here)


def test_an_agent_that_kills_its_ray_worker_forfeits_that_game(cluster, tmp_path):
    """A segfaulting agent: its game is played again in a process of a Ray worker's own, dies
    again, and is recorded as a crash of the seat it held, as worker processes record it."""
    ledger = tmp_path / "faults.sqlite"
    run_tournament(TournamentConfig(game="connect_four", agents=["random", "crasher:at=1"],
                                    games_per_pair=2, ledger=str(ledger), backend="ray",
                                    workers=2, plugins=[FAULTS]))
    rows = ledger_rows(ledger)
    assert len(rows) == 2
    for _, _, agents, _, _, _, seat, reason in rows:
        assert json.loads(agents)[seat] == "crasher:at=1"
        assert reason == "crashed (killed by SIGSEGV)"


def test_a_killed_driver_resumes_from_the_ledger(cluster, tmp_path):
    """A driver on the shared cluster killed mid-run, then run again: every game is in the
    ledger once, and the ledger is the one of an uninterrupted run here. One agent thinks
    20 ms a move, so the 16 games last about two seconds: a driver that has recorded three
    cannot finish the other thirteen before the kill lands."""
    pids = tmp_path / "pids"
    pids.mkdir()
    plugin = tmp_path / "noting.py"
    plugin.write_text(PLUGIN.format(pids=str(pids)))
    arguments = ["--plugins", str(plugin), "tournament", "connect_four", "random",
                 "noting:ms=20", "--games", "16", "--backend", "ray", "--workers", "2",
                 "--ray-address", cluster, "--ledger", "ray.sqlite"]
    ledger = tmp_path / "ray.sqlite"
    _kill_midway(arguments, tmp_path, ledger, 3)
    after_kill = len(ledger_rows(ledger))
    assert 3 <= after_kill < 16, after_kill
    done = subprocess.run([sys.executable, "-m", "gamepit", *arguments], cwd=tmp_path,
                          env={**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"},
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{16 - after_kill} games played now, {after_kill} already" in done.stdout
    here = tournament(tmp_path, "here", agents=["random", "noting:ms=20"], games_per_pair=16,
                      plugins=[str(plugin)])
    assert ledger_rows(ledger) == ledger_rows(here)


def test_a_tournament_begun_on_ray_is_finished_by_worker_processes(cluster, tmp_path):
    """Half the games on Ray, the rest (the same tournament, more games a pairing) in worker
    processes: the ledger is the one of a run here, each game's node as it was played."""
    ledger = tmp_path / "mixed.sqlite"
    common = {"agents": ["random", "alphabeta:depth=1"], "ledger": str(ledger)}
    tournament(tmp_path, "mixed", backend="ray", workers=2, games_per_pair=4, **common)
    tournament(tmp_path, "mixed", backend="processes", workers=2, games_per_pair=8, **common)
    here = tournament(tmp_path, "here", agents=common["agents"], games_per_pair=8)
    assert ledger_rows(ledger) == ledger_rows(here)
    assert sorted(nodes_of(ledger)) == [""] * 4 + [ray.get_runtime_context().get_node_id()] * 4


class Echo:
    """A worker for the seam's own checks: answers with a shared value's sum and its input."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def add(self, emit, shared, value):
        emit(("seen", value))
        return float(np.sum(shared)) + value + self.offset


def test_ray_calls_are_bounded_and_shared_values_put_once(cluster):
    """Many calls over two Ray workers: never more than one in flight per worker, results in
    call order, a shared array read by every call."""
    with open_pool("ray", 2, Echo, (1,)) as pool:
        shared = pool.share(np.arange(1000, dtype=np.float64))
        results = map_calls(pool, [("add", (shared, i)) for i in range(20)])
        assert results == [499500.0 + i + 1 for i in range(20)]
        assert pool.peak_in_flight <= 2


def train(learner: str, tmp_path: Path, backend: str, settings: dict) -> Path:
    """A tiny run of a learner in this process (on Ray: on the module's cluster)."""
    run = tmp_path / f"{learner}_{backend}"
    entry = PluginManager(autoload=False).registry.build("learner", learner)
    entry.train(merge(entry.Args, learner, {"game": "tictactoe", "run_dir": str(run),
                                            "device": "cpu", "backend": backend, "workers": 2,
                                            **settings}))
    return run


def arrays_equal(first: Path, second: Path) -> bool:
    with np.load(first) as one, np.load(second) as two:
        return one.files == two.files and all(np.array_equal(one[k], two[k]) for k in one.files)


@pytest.mark.parametrize("learner, settings, data", [
    ("alphazero", {"iterations": 2, "selfplay_games": 6, "sims": 6, "filters": 8, "blocks": 1,
                   "train_steps": 2, "min_buffer": 1}, "replay_buffer.npz"),
    ("muzero", {"iterations": 2, "selfplay_games": 4, "sims": 4, "hidden": 8, "width": 16,
                "moves_per_iteration": 5, "train_steps": 2, "min_buffer": 1},
     "replay_buffer.npz"),
    ("dagger", {"expert": "alphabeta:depth=2", "episodes": 6, "rounds": 2, "epochs": 1,
                "eval_episodes": 0}, "dataset/shard_00001.npz"),
])
def test_self_play_and_labelling_on_ray_give_the_data_of_this_process(cluster, tmp_path,
                                                                       learner, settings,
                                                                       data):
    """The same seed and two workers: on Ray and in this process, the same replay buffer or
    dataset, bit for bit (the second round's: the student plays in it, from a snapshot)."""
    on_ray = train(learner, tmp_path, "ray", settings)
    here = train(learner, tmp_path, "inprocess", settings)
    assert arrays_equal(on_ray / data, here / data)


# --------------------------------------------------------------------------- two nodes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_of(markers: list[str]) -> list[int]:
    """Processes whose command line holds one of ``markers``, and their descendants."""
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8",
                                                                                     "replace")
            parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2]
                                           .split()[1])
        except (OSError, ValueError):
            continue
        if any(marker in command for marker in markers):
            found.add(int(entry.name))
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        grown = bool(children)
        found |= children
    return sorted(found - {os.getpid()})


def test_a_tournament_spreads_over_a_two_node_cluster(tmp_path):
    """A head node and a second node, each with one CPU and a resource of its own: the
    tournament's games ran on both nodes, as the ledger's node column shows. Then the same
    tournament again, the second node killed once a game is in: the run ends, with the same
    games (a replacement worker used to wait forever for a CPU). The test stops exactly the
    processes it started (``ray stop`` would stop every Ray on the machine)."""
    port = free_port()
    temp = tempfile.mkdtemp(prefix="gp-ray-", dir="/tmp")  # short: Unix socket paths
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(ROOT),
           "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    address = f"127.0.0.1:{port}"
    markers = [temp, f":{port} "]  # its session folder, or its head's port
    try:
        for arguments in (["--head", f"--port={port}", "--num-cpus=1",
                           '--resources={"node_a": 1}', "--include-dashboard=false",
                           f"--ray-client-server-port={free_port()}", f"--temp-dir={temp}"],
                          [f"--address={address}", "--num-cpus=1",
                           '--resources={"node_b": 1}']):
            started = subprocess.run([RAY, "start", *arguments, "--disable-usage-stats"],
                                     env=env, capture_output=True, text=True, timeout=120)
            assert started.returncode == 0, started.stderr[-2000:]
        ledger = tmp_path / "two.sqlite"
        command = [sys.executable, "-m", "gamepit", "tournament", "connect_four", "random",
                   "alphabeta:depth=1", "mcts:sims=100", "--games", "4", "--backend", "ray",
                   "--workers", "2", "--ray-address", address, "--ledger"]
        done = subprocess.run(
            [*command, str(ledger)], env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        nodes = subprocess.run(
            [sys.executable, "-c", f"import json, ray; ray.init(address={address!r}, "
             "logging_level='ERROR'); print(json.dumps({n['NodeID']: sorted(n['Resources']) "
             "for n in ray.nodes() if n['Alive']}))"],
            env=env, capture_output=True, text=True, timeout=120)
        assert nodes.returncode == 0, nodes.stderr[-2000:]
        resources = json.loads(nodes.stdout.strip().splitlines()[-1])
        names = {node: next(r for r in held if r in ("node_a", "node_b"))
                 for node, held in resources.items()}
        played = nodes_of(ledger)
        assert len(played) == 12
        assert {names[node] for node in played} == {"node_a", "node_b"}

        again = tmp_path / "again.sqlite"
        running = subprocess.Popen([*command, str(again)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120  # bounded; the tables may not exist at first
        while running.poll() is None and not ledger_games(again) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        at_kill = ledger_games(again)
        for pid in processes_of(["node_b"]):  # the second node's raylet and its workers
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert running.wait(timeout=180) == 0, running.stderr.read()[-2000:]
        assert at_kill < 12 and ledger_rows(again) == ledger_rows(ledger)
    finally:
        for pid in processes_of(markers):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp, ignore_errors=True)


def test_an_engine_plays_a_tournament_on_ray(cluster, tmp_path, monkeypatch):
    """GnuGo over GTP on Ray workers: the grant to run it travels with the settings."""
    monkeypatch.setenv("GAMEPIT_ALLOW_ENGINE", "gnugo")
    ledger = tournament(tmp_path, "engine", game="go:size=5", backend="ray", workers=2,
                        agents=["random", "gtp:cmd=gnugo --mode gtp --level 1"],
                        games_per_pair=2)
    rows = ledger_rows(ledger)
    assert len(rows) == 2 and all(row[6] is None for row in rows)  # no forfeit
