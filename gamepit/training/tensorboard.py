"""Training metrics as TensorBoard scalars under ``RUN/tensorboard``, a plugin on the training
hooks. TensorBoard (through torch's writer) is imported when the first metrics of a run arrive,
never when plugins are listed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gamepit.plugins.markers import hookimpl


class TensorBoardLogger:
    """Scalars under ``RUN/tensorboard``; without the tensorboard package, one warning."""

    def __init__(self) -> None:
        self.writers: dict[str, Any] = {}
        self.missing = False

    def log(self, run: str, step: int, metrics: dict[str, Any]) -> None:
        if self.missing:
            return
        writer = self.writers.get(run)
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.missing = True
                print("gamepit: warning: tensorboard is not installed; metrics go to "
                      f"{run}/metrics.jsonl only (pip install tensorboard)", file=sys.stderr)
                return
            writer = self.writers[run] = SummaryWriter(str(Path(run) / "tensorboard"))
        for name, value in metrics.items():
            writer.add_scalar(name, float(value), step)
        writer.flush()


TENSORBOARD = TensorBoardLogger()


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    TENSORBOARD.log(run, step, metrics)
