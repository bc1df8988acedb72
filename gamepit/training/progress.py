"""Training progress on the terminal, a plugin on the training hooks: a rich progress bar on an
interactive terminal; elsewhere (a file, a pipe) a plain line for every iteration of learners
that count iterations, a line every 10 seconds for those that count steps, and the last line
when training ends. It counts environment steps out
of ``progress/total_steps``, or iterations out of ``progress/total_iterations`` where a learner
reports them (AlphaZero, whose steps are positions and have no total)."""

from __future__ import annotations

import sys
import time
from typing import Any

from gamepit.plugins.markers import hookimpl


class ProgressDisplay:
    """A rich progress bar on a terminal; elsewhere a plain line per iteration, or every
    ``every`` seconds for learners counted in steps."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.bar: Any = None
        self.task: Any = None
        self.last_line = 0.0
        self.latest: dict[str, float] = {}
        self.said: tuple[str, int] | None = None  # (unit, count) of the last plain line printed
        self.unsaid = ""  # the newest line not printed yet

    def update(self, run: str, step: int, metrics: dict[str, Any]) -> None:
        self.latest.update({k: float(v) for k, v in metrics.items()})
        unit = "step"
        total = int(self.latest.get("progress/total_steps", 0)) or None
        if "progress/total_iterations" in self.latest:  # AlphaZero counts iterations
            unit, step = "iteration", int(self.latest.get("progress/iteration", 0))
            total = int(self.latest["progress/total_iterations"]) or None
        summary = self._summary()
        if sys.stderr.isatty():
            if self.bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                )

                self.bar = Progress(TextColumn(f"[bold]training ({unit}s)"), BarColumn(),
                                    MofNCompleteColumn(), TimeRemainingColumn(),
                                    TextColumn("{task.description}"), transient=False)
                self.bar.start()
                self.task = self.bar.add_task(summary, total=total)
            self.bar.update(self.task, completed=step, total=total, description=summary)
            return
        now = time.monotonic()
        of = f"/{total}" if total else ""
        line = f"{unit} {step}{of}  {summary}".rstrip()
        fresh = (unit, step) != self.said
        if (unit == "iteration" and fresh) or now - self.last_line >= self.every:
            self.last_line, self.said, self.unsaid = now, (unit, step), ""
            print(line, file=sys.stderr, flush=True)
        elif fresh:
            self.unsaid = line

    def _summary(self) -> str:
        parts = []
        for key, label in (("episode/return", "return"), ("eval/return", "eval"),
                           ("speed/steps_per_second", "steps/s")):
            if key in self.latest:
                parts.append(f"{label} {self.latest[key]:.1f}")
        return "  ".join(parts)

    def stop(self, say_last: bool = True) -> None:
        """End the display; with ``say_last``, print where training ended if not yet said
        (``say_last=False`` clears what an earlier run in this process left)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        elif self.unsaid and say_last:  # where training ended
            print(self.unsaid, file=sys.stderr, flush=True)
        self.latest.clear()
        self.said, self.unsaid, self.last_line = None, "", 0.0


PROGRESS = ProgressDisplay()


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    PROGRESS.update(run, step, metrics)
