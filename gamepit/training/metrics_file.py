"""The run's own record of its metrics: one JSON object a line in ``RUN/metrics.jsonl``, a plugin
on the training hooks (the viewer and benchmarks read it back)."""

from __future__ import annotations

import errno
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from gamepit.plugins.markers import hookimpl

WARNED: set[str] = set()  # runs whose metrics file could not take a line: said once each


def append_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    """The run's own record: one JSON object a line in ``RUN/metrics.jsonl``, each line written
    whole or not at all (on a full disk the file is cut back to its last whole line and the
    run is warned once, in one line)."""
    path = Path(run) / "metrics.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps({"step": step, "time": round(time.time(), 3),
                        **{k: float(v) for k, v in metrics.items()}}) + "\n").encode()
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(handle).st_size
        try:
            if os.write(handle, line) < len(line):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as error:
            os.ftruncate(handle, start)
            if run not in WARNED:
                WARNED.add(run)
                print(f"gamepit: warning: {path}: cannot take more lines ({error.strerror}); "
                      f"metrics from step {step} on are not recorded", file=sys.stderr)
    finally:
        os.close(handle)


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    append_metrics(run, step, metrics)


@hookimpl
def gamepit_checkpoint_saved(run: str, path: str, step: int) -> None:
    append_metrics(run, step, {"checkpoint/step": step})
