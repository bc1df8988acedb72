"""Fuzz table (issues 11 and 24): hostile inputs per class against the real command line, engine and
viewer; counts cases, answers, one-line errors, tracebacks, many-line errors and lies (damaged
data accepted as good). The cases are Hypothesis examples, derandomized: a run reproduces.

    python benchmarks/fuzz.py                 # the full budgets (about 2,700 cases)
    python benchmarks/fuzz.py --scale 0.2     # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzzing import CLASSES, table  # noqa: E402 - after the path above

BUDGETS = {"specs": 300, "command line": 300, "YAML": 250, "replays": 250, "checkpoints": 150,
           "GTP": 300, "HTTP": 300, "ledgers": 150, "archives": 400}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every budget")
    parser.add_argument("--only", action="append", choices=list(BUDGETS), help="one class")
    args = parser.parse_args()
    tallies = []
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        for name in args.only or BUDGETS:
            tallies.append(CLASSES[name](max(1, int(BUDGETS[name] * args.scale))))
            print(f"{name}: done in {tallies[-1].seconds:.0f} s", file=sys.stderr, flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"command: python benchmarks/fuzz.py --scale {args.scale:g}")
    print(table(tallies))
    for tally in tallies:
        for example in tally.examples:
            print(f"  {tally.name}: {example[:300]}")
    return 1 if sum(t.failures for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
