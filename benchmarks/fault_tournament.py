"""A connect four tournament among agents that fail in every way a process can, in one process
(agents isolated: a segfault would otherwise end it) and with 2 worker processes.

The line-up: random, and agents from benchmarks/fault_agents.py that play random moves but, on
a share of their games chosen by the seed, call sys.exit, segfault (SIGSEGV), hang (past
--move-time), return the string "3", return an answer that raises when read (issue 24), hang in
reset (past --start-time), or start a child process that would sleep an hour; and one that
changes its game object in every game (its opponents must not forfeit for it). Goal: 0 aborts,
every scheduled game recorded, each forfeit with its reason, no process left behind.

    python benchmarks/fault_tournament.py                 # 360 games a mode, a few minutes
    python benchmarks/fault_tournament.py --games 1000    # the issue's 1,000 games
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = str(ROOT / "benchmarks" / "fault_agents.py")
MARK = f"{os.getpid() % 100000}"  # names the children spawners start, to count those left
AGENTS = ["random", "exiter:p=0.1,at=3", "crasher:p=0.1,at=3", "hanger:p=0.1,at=3",
          "liar:p=0.1,at=3", "forger:p=0.1,at=3,kind=iter", "stuck:p=0.05",
          f"spawner:p=0.1,at=3,code={MARK}", "meddler"]
PAIRINGS = len(AGENTS) * (len(AGENTS) - 1) // 2
MODES = {"in-process --isolate": ["--isolate"], "--workers 2": ["--workers", "2"]}


def children_left() -> int:
    """Processes a spawner started that are still running."""
    found = subprocess.run(["pgrep", "-f", f"gamepit-spawned-{MARK}"], capture_output=True,
                           text=True)
    return len(found.stdout.split())


def run_mode(flags: list[str], games_per_pair: int, move_time: float, folder: Path
             ) -> dict[str, object]:
    ledger = folder / f"ledger{len(list(folder.iterdir()))}.sqlite"
    command = [sys.executable, "-m", "gamepit", "--plugins", PLUGIN, "tournament",
               "connect_four", *AGENTS, "--games", str(games_per_pair), "--move-time",
               str(move_time), "--start-time", "1", "--ledger", str(ledger), *flags]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    started = time.perf_counter()
    # output to a file, not a pipe: a child an agent left behind would hold a pipe open
    with open(folder / "stderr.txt", "w+") as errors:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=errors, text=True,
                              env=env)
        errors.seek(0)
        done.stderr = errors.read()
    seconds = time.perf_counter() - started
    rows = []
    if ledger.exists():
        with sqlite3.connect(str(ledger)) as connection:
            rows = connection.execute("SELECT forfeit_reason FROM results").fetchall()
    reasons = Counter(reason or "(none: played out)" for (reason,) in rows)
    time.sleep(2)  # the process groups' SIGTERM-then-SIGKILL grace
    return {"exit": done.returncode, "recorded": len(rows), "reasons": reasons,
            "left": children_left(),
            "seconds": seconds, "stderr": done.stderr.strip().splitlines()[-1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=360,
                        help=f"games per mode, spread over the {PAIRINGS} pairings (default "
                             "360)")
    parser.add_argument("--move-time", type=float, default=0.2)
    args = parser.parse_args()
    per_pair = max(1, args.games // PAIRINGS)
    scheduled = per_pair * PAIRINGS
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, flags in MODES.items():
            results[name] = run_mode(flags, per_pair, args.move_time, Path(folder))
    print(f"connect four, {', '.join(AGENTS)}; {per_pair} games a pairing, --move-time "
          f"{args.move_time:g}\n")
    reasons = sorted({reason for r in results.values() for reason in r["reasons"]})
    width = max(len(reason) for reason in [*reasons, "games scheduled"])
    print(f"{'':<{width}}  " + "  ".join(f"{name:>22}" for name in results))
    lines = [("games scheduled", lambda r: scheduled), ("games recorded", lambda r: r["recorded"]),
             ("aborts (exit code != 0)", lambda r: int(r["exit"] != 0))]
    lines += [(f"  {reason}", lambda r, reason=reason: r["reasons"].get(reason, 0))
              for reason in reasons]
    lines.append(("children of agents left running", lambda r: r["left"]))
    lines.append(("wall time (s)", lambda r: f"{r['seconds']:.1f}"))
    for label, value in lines:
        print(f"{label:<{width}}  " + "  ".join(f"{value(r)!s:>22}" for r in results.values()))
    for name, r in results.items():
        if r["exit"] != 0:
            print(f"{name}: exit {r['exit']}: {r['stderr']}")


if __name__ == "__main__":
    main()
