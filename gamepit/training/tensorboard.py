"""Training metrics as TensorBoard scalars under ``RUN/tensorboard``, a plugin on the training
hooks. TensorBoard (through torch's writer) is imported when the first metrics of a run arrive,
never when plugins are listed."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from gamepit.plugins.markers import hookimpl


class TensorBoardLogger:
    """Scalars under ``RUN/tensorboard``; without the tensorboard package, one warning."""

    def __init__(self) -> None:
        self.writers: dict[str, Any] = {}
        self.missing = False
        self.stopped: set[str] = set()  # runs whose event files could not be written

    def log(self, run: str, step: int, metrics: dict[str, Any]) -> None:
        if self.missing or run in self.stopped:
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
            quiet_writer_threads()
            writer = self.writers[run] = SummaryWriter(str(Path(run) / "tensorboard"))
        try:
            for name, value in metrics.items():
                writer.add_scalar(name, float(value), step)
            writer.flush()
        except OSError as error:  # a full disk: the run goes on, metrics.jsonl says the rest
            self.stopped.add(run)
            print(f"gamepit: warning: {run}/tensorboard: cannot be written ({error.strerror});"
                  " TensorBoard logging for this run stopped", file=sys.stderr)


def quiet_writer_threads() -> None:
    """TensorBoard's writer thread re-raises a failed write, which Python prints as a
    traceback; the same error reaches ``flush`` in the run's thread, which says it in one line.
    Leave the other threads' errors as they were."""
    previous = threading.excepthook
    if getattr(previous, "gamepit_quiet", False):
        return

    def hook(arguments: Any) -> None:
        if type(arguments.thread).__name__ != "_AsyncWriterThread":
            previous(arguments)

    hook.gamepit_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook


TENSORBOARD = TensorBoardLogger()


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    TENSORBOARD.log(run, step, metrics)
