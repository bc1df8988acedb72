"""Outside engines as yardsticks (issue 23): rating ladders on a fixed scale, the cost of the
protocol, and a tournament of engines that fail.

    python benchmarks/engine_ladders.py go       [--games 4] [--out runs/ladders]
    python benchmarks/engine_ladders.py chess    [--games 4] [--out runs/ladders]
    python benchmarks/engine_ladders.py overhead [--seconds 20]
    python benchmarks/engine_ladders.py faults   [--games 4]

go: a 9x9 round robin of gamepit's mcts and alphabeta, GnuGo at levels 1, 5 and 10 and Pachi at
two playout limits (and an AlphaZero Go network with --network CHECKPOINT), each game recorded;
anchored as CGOS anchored its 9x9 list (GnuGo level 10 at 1800). Our Go scores Tromp-Taylor
(every stone on the board counts), so the engines are told to capture dead stones before they
pass (GnuGo --capture-all-dead, Pachi pass_all_alive). Every replay is exported to SGF and
GnuGo reads each back and scores it (--score aftermath).

chess: mcts (50 simulations with random rollouts), alphabeta and random on openspiel:chess
against Stockfish at Skill Level 0, 5 and 20 (50 ms a move, one thread), games cut at 200 moves
(a draw); anchored at random = 0.

overhead: moves per second of random playing random on go:size=9 in this process, against the
same random behind GTP (gtp:cmd='gamepit gtp --agent random'), so the protocol's cost is known.

faults: a gauntlet of random against engines that are killed (SIGKILL), hang, answer garbage
and play illegal moves (tests/engines/faulty.py): every game recorded with its reason, and no
engine process left afterwards.

Each prints a table; the tournaments go through the `gamepit tournament` command line, so the
ledgers can be read again with `gamepit tournament --name ... --ledger ...` or `gamepit view`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAULTY = ROOT / "tests" / "engines" / "faulty.py"
GNUGO = "gtp:cmd=gnugo --mode gtp --level {} --capture-all-dead --chinese-rules"
PACHI = "gtp:cmd=pachi -t ={} 'threads=1,pass_all_alive'"
STOCKFISH = "uci:cmd=stockfish,movetime=50,options=Skill Level={};Threads=1"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def gamepit(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gamepit", *arguments], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, **(env or {})})


def ladder(game: str, agents: list[str], anchor: str, out: Path, name: str, games: int,
           extra: list[str]) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    replays = out / f"{name}_replays"
    board = out / f"{name}.json"
    started = time.time()
    done = gamepit("tournament", game, *agents, "--games", str(games), "--name", name,
                   "--ledger", str(out / "ladders.sqlite"), "--replays", str(replays),
                   "--anchor", anchor, "--json", str(board), *extra)
    if done.returncode:
        sys.exit(f"tournament failed: {done.stderr.strip()}")
    print(done.stdout)
    print(f"({time.time() - started:.0f} s wall; ledger {out / 'ladders.sqlite'}, "
          f"replays {replays})")
    return json.loads(board.read_text())


def print_table(document: dict) -> None:
    print("\n| agent | Elo | 95% | games | score | W-D-L |\n|---|---:|---:|---:|---:|---|")
    for row in document["leaderboard"]:
        elo = "unrated" if row["elo"] is None else f"{row['elo']:.0f}"
        interval = "" if row["minus"] is None else f"±{row['minus']:.0f}"
        print(f"| `{row['agent']}` | {elo} | {interval} | {row['games']} | {row['score']:.3f} "
              f"| {row['wins']}-{row['draws']}-{row['losses']} |")
    print(f"\n{document['scale']}")


def go(args: argparse.Namespace) -> None:
    agents = ["mcts:sims=400", "alphabeta:depth=1", GNUGO.format(1), GNUGO.format(5),
              GNUGO.format(10), PACHI.format(1000), PACHI.format(10000)]
    if args.network:
        agents.insert(0, f"alphazero:checkpoint={args.network},sims=200")
    document = ladder("go:size=9", agents, f"{GNUGO.format(10)}=1800", args.out, "go9 ladder",
                      args.games, ["--workers", str(args.workers)])
    print_table(document)
    gnugo = shutil.which("gnugo") or "/usr/games/gnugo"
    read = failed = 0
    for replay in sorted((args.out / "go9 ladder_replays").glob("*.jsonl")):
        sgf = replay.with_suffix(".sgf")
        exported = gamepit("replay", "export", str(replay), "--format", "sgf", "-o",
                           str(sgf))
        if exported.returncode:
            failed += 1
            continue
        check = subprocess.run([gnugo, "--infile", str(sgf), "--score", "aftermath",
                                "--level", "1"], capture_output=True, text=True, timeout=300)
        read += check.returncode == 0 and ("wins" in check.stdout or "jigo" in check.stdout)
        failed += not (check.returncode == 0)
    print(f"\nSGF: {read} of the recorded games exported and scored by GnuGo "
          f"(--score aftermath), {failed} failed")


def chess(args: argparse.Namespace) -> None:
    agents = ["random", "alphabeta:depth=2", "mcts:sims=50,rollouts=1",
              STOCKFISH.format(0), STOCKFISH.format(5), STOCKFISH.format(20)]
    document = ladder("openspiel:chess", agents, "random=0", args.out, "chess ladder",
                      args.games, ["--workers", str(args.workers), "--max-steps", "200"])
    print_table(document)


def moves_per_second(spec: str, seconds: float) -> tuple[float, int]:
    from gamepit.arena import play_match
    from gamepit.plugins.manager import PluginManager

    registry = PluginManager(autoload=False).registry
    game = registry.make_game("go:size=9")
    agents = [registry.make_agent(spec, game), registry.make_agent("random", game)]
    moves = games = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            result = play_match(game, agents, games, [spec, "random"])
            moves += result.steps
            games += 1
    finally:
        for agent in agents:
            agent.close()
    return moves / (time.perf_counter() - started), games


def overhead(args: argparse.Namespace) -> None:
    os.environ["GAMEPIT_ALLOW_ENGINE"] = Path(sys.executable).name
    here = "random"
    there = f"gtp:cmd={sys.executable} -m gamepit gtp --agent random --size 9"
    print(f"go:size=9, random against random, {args.seconds:g} s a row; {machine()}\n")
    print("| seat 0 | moves/s (both seats) | games | ratio |\n|---|---:|---:|---:|")
    base, games = moves_per_second(here, args.seconds)
    print(f"| `random` in this process | {base:,.0f} | {games} | 1.00 |")
    rate, games = moves_per_second(there, args.seconds)
    print(f"| `gtp:cmd='gamepit gtp --agent random'` | {rate:,.0f} | {games} | "
          f"{rate / base:.3f} |")
    print(f"\nper GTP move (play + genmove round trips): about "
          f"{2 / rate * 1000 - 2 / base * 1000:.2f} ms more")


def processes_with(marker: str) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
                count += state != "Z"
        except OSError:
            continue
    return count


def faults(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex
    faulty = {fault: f"gtp:cmd={sys.executable} {FAULTY} gtp {fault} --at 3 --tag {tag}"
              for fault in ("killed", "hang", "garbage", "illegal")}
    with tempfile.TemporaryDirectory() as folder:
        board = Path(folder) / "board.json"
        started = time.time()
        done = gamepit("tournament", "go:size=9", "random", *faulty.values(), "--format",
                       "gauntlet", "--games", str(args.games), "--move-time", "2",
                       "--ledger", str(Path(folder) / "l.sqlite"), "--json", str(board),
                       "--workers", "2", "--allow-engine", Path(sys.executable).name)
        wall = time.time() - started
        if done.returncode:
            sys.exit(f"tournament failed: {done.stderr.strip()}")
        document = json.loads(board.read_text())
    time.sleep(1)
    print(f"go:size=9 gauntlet, random against 4 faulty engines, {args.games} games each, "
          f"--move-time 2, --workers 2; {wall:.0f} s; {machine()}\n")
    print("| engine fault | games | forfeits | reason recorded |\n|---|---:|---:|---|")
    for fault, spec in faulty.items():
        mine = [line for line in document["forfeits"] if line.startswith(spec)]
        reason = mine[0].split(": ", 1)[1] if mine else ""
        print(f"| {fault} | {args.games} | {len(mine)} | {reason} |")
    print(f"\nengine processes left running afterwards: {processes_with(tag)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["go", "chess", "overhead", "faults"])
    parser.add_argument("--games", type=int, default=4, help="games per pairing")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--network", default="", help="an AlphaZero Go checkpoint to rate")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ladders")
    args = parser.parse_args()
    print(f"engine_ladders {args.what}: {machine()}\n")
    {"go": go, "chess": chess, "overhead": overhead, "faults": faults}[args.what](args)


if __name__ == "__main__":
    main()
