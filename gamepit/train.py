"""``gamepit train LEARNER --game SPEC``: build a learner from the registry, merge its settings
(defaults < ``--config FILE.yaml`` < ``--set key=value``), train, print the agent spec.

Also the training observers, each a plugin on the training hooks (registered by
``gamepit.agents.learners``): the run's ``metrics.jsonl``, TensorBoard event files, and a
progress display. This module must import without torch; TensorBoard is imported only when the
first metrics of a run arrive.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from gamepit.config import ConfigError, as_plain_dict, describe, load_yaml, merge, parse_sets
from gamepit.errors import writable_folder

EXAMPLES = """
gamepit train dqn --game gym:CartPole-v1 --set total_steps=50000
gamepit train ppo --game atari:pong --config configs/ppo_atari.yaml --device auto
gamepit train ppo --game tictactoe --config configs/ppo_selfplay_tictactoe.yaml --run runs/ttt
gamepit train dqn --settings          (every setting with its default and meaning)
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="Train a learner (dqn, ppo, ...) on a game and save checkpoints.",
        description="Train a learner on a game. Settings: the learner's defaults, overridden "
                    "by --config, overridden by --set. A run folder that holds a checkpoint "
                    "is resumed.",
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(EXAMPLES).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("learner", help="learner name, e.g. dqn or ppo")
    parser.add_argument("--game", default=None, help="game spec, e.g. gym:CartPole-v1, "
                        "atari:pong, tictactoe (or 'game:' in the config file)")
    parser.add_argument("--config", default=None, metavar="FILE.yaml",
                        help="YAML mapping of settings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="sets", help="override one setting (repeatable)")
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                        help="where the networks run (default auto: cuda if available)")
    parser.add_argument("--run", default=None, metavar="DIR",
                        help="run folder for checkpoints, metrics and replays; re-running with "
                             "the same folder resumes from its last checkpoint")
    parser.add_argument("--settings", action="store_true",
                        help="list the learner's settings and exit")
    parser.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace, manager: Any) -> int:
    registry = manager.registry
    registry.entry("learner", args.learner)  # unknown learner: one line listing the known ones
    learner = registry.build("learner", args.learner)
    args_class = getattr(learner, "Args", None)
    if args.settings:
        if args_class is None:
            print(f"{args.learner} does not declare its settings")
        else:
            print(f"settings of {args.learner}:\n{describe(args_class)}")
        return 0
    from_file = load_yaml(args.config) if args.config else {}
    from_sets = parse_sets(args.sets)
    flags = {key: value for key, value in
             (("game", args.game), ("device", args.device), ("run_dir", args.run))
             if value is not None}
    if not any(layer.get("game") for layer in (from_file, from_sets, flags)):
        raise ConfigError("train: name a game with --game SPEC (or game: in the config file)")
    if args_class is not None:
        config = as_plain_dict(merge(args_class, args.learner, from_file, from_sets, flags))
    else:
        config = {**from_file, **from_sets, **flags}
    registry.parse("game", config["game"])  # a bad game spec fails before anything loads
    if config.get("run_dir"):
        writable_folder(config["run_dir"], "train: run folder")
    try:
        spec = learner.train(config)
    finally:
        PROGRESS.stop()
    print(f"trained agent: {spec}")
    return 0


# --------------------------------------------------------------------------- observers


def append_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    """The run's own record: one JSON object a line in ``RUN/metrics.jsonl``."""
    path = Path(run) / "metrics.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "time": round(time.time(), 3),
                                 **{k: float(v) for k, v in metrics.items()}}) + "\n")


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


class ProgressDisplay:
    """A rich progress bar on a terminal; elsewhere a plain line every ``every`` seconds."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.bar: Any = None
        self.task: Any = None
        self.last_line = 0.0
        self.latest: dict[str, float] = {}

    def update(self, run: str, step: int, metrics: dict[str, Any]) -> None:
        self.latest.update({k: float(v) for k, v in metrics.items()})
        total = int(self.latest.get("progress/total_steps", 0)) or None
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

                self.bar = Progress(TextColumn("[bold]training"), BarColumn(),
                                    MofNCompleteColumn(), TimeRemainingColumn(),
                                    TextColumn("{task.description}"), transient=False)
                self.bar.start()
                self.task = self.bar.add_task(summary, total=total)
            self.bar.update(self.task, completed=step, total=total, description=summary)
            return
        now = time.monotonic()
        if now - self.last_line >= self.every:
            self.last_line = now
            of = f"/{total}" if total else ""
            print(f"step {step}{of}  {summary}", file=sys.stderr, flush=True)

    def _summary(self) -> str:
        parts = []
        for key, label in (("episode/return", "return"), ("eval/return", "eval"),
                           ("speed/steps_per_second", "steps/s")):
            if key in self.latest:
                parts.append(f"{label} {self.latest[key]:.1f}")
        return "  ".join(parts)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        self.latest.clear()


TENSORBOARD = TensorBoardLogger()
PROGRESS = ProgressDisplay()


def on_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    append_metrics(run, step, metrics)
    TENSORBOARD.log(run, step, metrics)
    PROGRESS.update(run, step, metrics)


def on_checkpoint(run: str, path: str, step: int) -> None:
    append_metrics(run, step, {"checkpoint/step": step})

