"""The ``gamepit`` command line. Subcommands read as what people do; plugins may add more
through ``gamepit_add_commands``. A user's mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import textwrap
from collections.abc import Sequence

from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import KINDS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        command = self.prog.removeprefix("gamepit").strip()  # main adds "gamepit: error: "
        where = f"{command}: " if command else ""
        raise GamepitError(f"{where}{message} (see {self.prog} --help)")


def add_command(subparsers: argparse._SubParsersAction, name: str, help_text: str,
                examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with examples; plugins' commands use it too. It
    takes ``--plugins``, ``--allow-import`` and ``--allow-engine`` after the command as well
    as before it."""
    parser = subparsers.add_parser(
        name, help=help_text, description=help_text,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugins", action="append", default=argparse.SUPPRESS, metavar="PATH",
                        dest="plugins_here", help="extra plugin file or folder (repeatable)")
    _allow_import_argument(parser, "allow_import_here")
    _allow_engine_argument(parser, "allow_engine_here")
    return parser


def _allow_import_argument(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument("--allow-import", action="append", default=argparse.SUPPRESS,
                        dest=dest, metavar="MODULE",
                        help="let a spec import this module, e.g. gym:MODULE:Env-v0 "
                             "(repeatable; also GAMEPIT_ALLOW_IMPORT=a,b); a replay file never "
                             "grants this")


def _allow_engine_argument(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument("--allow-engine", action="append", default=argparse.SUPPRESS,
                        dest=dest, metavar="PROGRAM",
                        help="let an engine spec read from a file (a tournament's YAML, the "
                             "viewer's page) run this program, e.g. gnugo (repeatable; also "
                             "GAMEPIT_ALLOW_ENGINE=a,b); engines named on the command line run "
                             "without it")


def grant_engines(args: argparse.Namespace, argv: Sequence[str],
                  manager: PluginManager) -> None:
    """Grant the programs of ``--allow-engine`` and of the engine specs typed on the command
    line (an agent entry with a ``cmd`` option), for this process and its workers."""
    from gamepit.specs import allow_engines, engine_program, split_spec

    programs = [*getattr(args, "allow_engine", []), *getattr(args, "allow_engine_here", [])]
    programs = [name.strip() for item in programs for name in item.split(",") if name.strip()]
    agents = manager.registry.entries.get("agent", {})
    for token in [text for item in argv for text in (item, item.partition("=")[2])]:
        try:  # an agent spec, or a setting's value (train --set expert=gtp:...)
            name, parts = split_spec(token)
        except GamepitError:
            continue
        entry = agents.get(name)
        if entry is not None and entry.option("cmd") is not None and engine_program(parts):
            programs.append(engine_program(parts))
    if programs:
        allow_engines(programs)
        inherited = [name for name in os.environ.get("GAMEPIT_ALLOW_ENGINE", "").split(",")
                     if name]
        os.environ["GAMEPIT_ALLOW_ENGINE"] = ",".join(dict.fromkeys(inherited + programs))


def grant_imports(args: argparse.Namespace) -> list[str]:
    """Grant the modules named with ``--allow-import`` (before or after the command), for this
    process and its worker processes (through ``GAMEPIT_ALLOW_IMPORT``)."""
    from gamepit.specs import allow_imports

    modules = [*getattr(args, "allow_import", []), *getattr(args, "allow_import_here", [])]
    modules = [name.strip() for item in modules for name in item.split(",") if name.strip()]
    if modules:
        allow_imports(modules)
        inherited = [name for name in os.environ.get("GAMEPIT_ALLOW_IMPORT", "").split(",")
                     if name]
        os.environ["GAMEPIT_ALLOW_IMPORT"] = ",".join(dict.fromkeys(inherited + modules))
    return modules


def build_parser(manager: PluginManager | None = None) -> argparse.ArgumentParser:
    from gamepit import __version__

    parser = _Parser(prog="gamepit", description="Pit game-playing agents against each other.")
    parser.add_argument("--version", action="version", version=f"gamepit {__version__}")
    parser.add_argument("--plugins", action="append", default=[], metavar="PATH",
                        help="extra plugin file or folder (repeatable; also GAMEPIT_PLUGINS)")
    _allow_import_argument(parser, "allow_import")
    _allow_engine_argument(parser, "allow_engine")
    # Sub-parsers take the parent's class, _Parser, so their errors are one line too.
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = add_command(subparsers, "plugins", "List every game, agent, search and learner.",
                    "gamepit plugins\ngamepit plugins --kind agent")
    p.add_argument("--kind", choices=KINDS, help="only this kind")
    p.set_defaults(func=cmd_plugins)

    if manager is not None:
        manager.call("gamepit_add_commands", subparsers=subparsers, manager=manager)
    return parser


# --------------------------------------------------------------------------- commands


def cmd_plugins(args: argparse.Namespace, manager: PluginManager) -> int:
    registry = manager.registry
    for kind in KINDS:
        if args.kind and kind != args.kind:
            continue
        names = registry.names(kind)
        print(f"{'searches' if kind == 'search' else kind + 's'} ({len(names)}):")
        for name in names:
            entry = registry.entries[kind][name]
            print(f"  {name:<16} {entry.description}")
            for option in entry.options:
                print(f"  {'':<16}   {option.describe()}  {option.help}")
            print(f"  {'':<16}   from {entry.origin}")
    if manager.errors:
        print(f"broken plugins ({len(manager.errors)}):", file=sys.stderr)
        for error in manager.errors:
            print(f"  {error}", file=sys.stderr)
    return 0


class Progress:
    """A progress bar on an interactive terminal; silent otherwise. The total may be given
    when entering, or later through ``start`` (when it is known only once work is planned)."""

    def __init__(self, total: int, unit: str) -> None:
        self.total, self.unit, self.bar = total, unit, None

    def __enter__(self) -> Progress:
        self.start(self.total)
        return self

    def start(self, total: int, done: int = 0) -> None:
        self.total = total
        if self.bar is None and sys.stderr.isatty() and total > 1:
            from rich.progress import Progress as Bar

            self.bar = Bar(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.unit, total=total, completed=done)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------- entry point

ERROR_LIMIT = 500  # characters of an error line: it may quote what the user gave


def error_line(text: str) -> str:
    """An error as one line, cut where it would echo a huge input whole."""
    text = " ".join(text.split("\n"))
    if len(text) <= ERROR_LIMIT:
        return text
    return f"{text[:ERROR_LIMIT]}... ({len(text):,} characters, cut)"



def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # --plugins must be known before the parser is built, since plugins add commands.
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--plugins", action="append", default=[])
        known, _ = pre.parse_known_args(argv)
        manager = get_manager(known.plugins, refresh=True)
        parser = build_parser(manager)
        args = parser.parse_args(argv)
        args.plugins = known.plugins  # wherever they were given (loaded above)
        grant_imports(args)  # only the command line grants imports, never a file it reads
        grant_engines(args, argv, manager)  # nor engines
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        manager.registry  # noqa: B018 - built now, so a name registered twice is warned of
        if args.command != "plugins" and manager.errors:
            for error in manager.errors:
                print(f"gamepit: warning: {error}", file=sys.stderr)
        return int(args.func(args, manager) or 0)
    except GamepitError as error:
        print(f"gamepit: error: {error_line(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            raise
        name = str(error.filename or "")
        print(f"gamepit: error: a path is longer than the file system allows: "
              f"{error_line(name)}", file=sys.stderr)
        return 2
    except ValueError as error:
        if "embedded null byte" not in str(error):
            raise
        print("gamepit: error: a path holds a NUL byte (\\0); give a path without it",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # a command may say what to do next in its text
        print(f"gamepit: interrupted{f'; {stop}' if str(stop) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
