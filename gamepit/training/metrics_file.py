"""The run's own record of its metrics: one JSON object a line in ``RUN/metrics.jsonl``, a plugin
on the training hooks (the viewer and benchmarks read it back)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from gamepit.plugins.markers import hookimpl


def append_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    """The run's own record: one JSON object a line in ``RUN/metrics.jsonl``."""
    path = Path(run) / "metrics.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "time": round(time.time(), 3),
                                 **{k: float(v) for k, v in metrics.items()}}) + "\n")


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    append_metrics(run, step, metrics)


@hookimpl
def gamepit_checkpoint_saved(run: str, path: str, step: int) -> None:
    append_metrics(run, step, {"checkpoint/step": step})
