"""``gamepit train LEARNER --game SPEC``: build a learner from the registry, merge its settings
(defaults < ``--config FILE.yaml`` < ``--set key=value``), train, print the agent spec. Works
for any registered learner; imports no torch (the learner does, when it is built)."""

from __future__ import annotations

import argparse
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gamepit.backends import BACKENDS, placement_note
from gamepit.cli import add_command as add_subcommand
from gamepit.errors import GamepitError
from gamepit.files import load_yaml, writable_folder
from gamepit.specs import seed_arg
from gamepit.training.progress import PROGRESS
from gamepit.training.settings import (
    ConfigError,
    as_plain_dict,
    describe,
    merge,
    parse_sets,
    spec_fields,
)

EXAMPLES = """
gamepit train dqn --game gym:CartPole-v1 --set total_steps=50000
gamepit train ppo --game atari:pong --config configs/ppo_atari.yaml --device auto
gamepit train ppo --game minatar:breakout --init runs/mimic/checkpoint.pt
gamepit train ppo --game tictactoe --config configs/ppo_selfplay_tictactoe.yaml --run runs/ttt
gamepit train alphazero --game connect_four --backend ray --workers 4
gamepit train dqn --settings          (every setting with its default and meaning)
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = add_subcommand(
        subparsers, "train", "Train a learner on a game and save checkpoints (settings: the "
        "learner's defaults < --config < --set; a run folder with a checkpoint resumes).",
        EXAMPLES)
    parser.add_argument("learner", help="learner name, e.g. dqn or ppo")
    parser.add_argument("--game", default=None, help="game spec, e.g. gym:CartPole-v1, "
                        "atari:pong, tictactoe (or 'game:' in the config file)")
    parser.add_argument("--config", default=None, metavar="FILE.yaml",
                        help="YAML mapping of settings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="sets", help="override one setting (repeatable)")
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                        help="where the networks run (default auto: cuda if available)")
    parser.add_argument("--backend", default=None, choices=BACKENDS,
                        help="where self-play or labelling runs (alphazero, muzero, bc, dagger)")
    parser.add_argument("--workers", "-w", default=None, type=int, metavar="N",
                        help="self-play or labelling workers (0: this process)")
    parser.add_argument("--seed", default=None, type=seed_arg,
                        help="the run's seed (the same as --set seed=N)")
    parser.add_argument("--init", default=None, metavar="CHECKPOINT",
                        help="start the network from the trunk of a trained checkpoint "
                             "(learners with an init setting: dqn, ppo, alphazero)")
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
             (("game", args.game), ("device", args.device), ("run_dir", args.run),
              ("backend", args.backend), ("workers", args.workers), ("init", args.init),
              ("seed", args.seed))
             if value is not None}
    if not any(layer.get("game") for layer in (from_file, from_sets, flags)):
        raise ConfigError("train: name a game with --game SPEC (or game: in the config file)")
    if args_class is not None:
        settings: Any = merge(args_class, args.learner, from_file, from_sets, flags)
        config, specs = as_plain_dict(settings), spec_fields(settings)
    else:
        settings = config = {**from_file, **from_sets, **flags}
        specs = {"game": ("game", config["game"])}
    for key, (kind, spec) in specs.items():  # a bad spec fails before anything loads
        try:
            registry.parse(kind, spec)
        except GamepitError as error:
            raise ConfigError(f"{key}: {error}") from None
    folder = writable_folder(config["run_dir"], "train: run folder") if config.get("run_dir") \
        else None  # (a learner's default folder is new: its name has the time in it)
    if "backend" in config and placement_note(config["backend"], config.get("workers", 0)):
        print(placement_note(config["backend"], config.get("workers", 0)))
    try:
        with one_run_in(folder):
            PROGRESS.stop(say_last=False)  # nothing an earlier run in this process left
            spec = learner.train(settings)
    except KeyboardInterrupt:
        again = ("the same command" if folder is not None
                 else "it with --run and the run's folder")
        raise KeyboardInterrupt(f"run {again} to go on from the last checkpoint") from None
    finally:
        PROGRESS.stop()
    print(f"trained agent: {spec}")
    return 0


@contextmanager
def one_run_in(folder: Path | None) -> Iterator[None]:
    """Hold the run folder for one ``gamepit train`` at a time: two runs resuming the same
    checkpoint would overwrite each other's checkpoints and interleave their metrics. The lock
    is a ``flock`` on the folder itself (no file left behind), gone with the process, even one
    that is killed."""
    if folder is None:
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GamepitError(f"train: run folder {folder} is in use by another gamepit "
                               "train; wait for it to end or use another --run") from None
        yield
    finally:
        os.close(handle)
