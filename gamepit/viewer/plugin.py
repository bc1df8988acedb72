"""The viewer's plugin: adds ``gamepit view [DIR]``, a local web page for watching replays, and
the replay export formats html, mp4 and gif.

Registered through ``gamepit_add_commands`` and ``gamepit_add_exporters`` like any third-party
plugin. The server, the re-simulation and the drawing code are imported only when used, so
``gamepit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from gamepit.plugins import hookimpl
from gamepit.specs import number_arg

DEFAULT_FOLDER = "replays"
DEFAULT_PORT = 8765
MAX_GAMES = 4  # (gamepit.viewer.play.MAX_GAMES, not imported here to keep --help fast)
FPS = 15.0  # (gamepit.viewer.play.FPS, likewise)
GRACE = 30.0  # (gamepit.viewer.play.GRACE, likewise)


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    help_text = ("Watch replays, games in progress, training runs and tournaments in your web "
                 "browser, and play against any agent there (a local page).")
    examples = """
        gamepit view
        gamepit view replays --runs runs/ --ledger gamepit_ledger.sqlite
        gamepit view runs/c4/replays --port 0 --no-browser
        gamepit replay export replays/FILE.jsonl --format html
    """
    parser = subparsers.add_parser(
        "view", help=help_text, description=help_text,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default=DEFAULT_FOLDER,
                        help=f"folder of replays, searched recursively (default {DEFAULT_FOLDER}/)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks any free port)")
    parser.add_argument("--idle-timeout", type=number_arg(float, 0.1, 3600), default=10.0,
                        metavar="SECONDS", help="close a connection that sends no request (or "
                        "stalls mid-request) for this long (default 10)")
    parser.add_argument("--runs", metavar="DIR", default=None,
                        help="also list the training runs under DIR (folders with a "
                             "metrics.jsonl) and plot their curves")
    parser.add_argument("--ledger", metavar="FILE", action="append", default=[],
                        help="also show the tournaments in this ledger (repeatable); their "
                             "standings update as games end")
    parser.add_argument("--max-games", type=number_arg(int, 1, 64), default=MAX_GAMES,
                        metavar="N", help=f"games played in the browser at once (default "
                        f"{MAX_GAMES}); they are recorded into the served folder")
    parser.add_argument("--fps", type=number_arg(float, 1, 120), default=FPS,
                        help=f"steps a second of MinAtar and Atari played in the browser "
                             f"(default {FPS:g})")
    parser.add_argument("--reconnect-grace", type=number_arg(float, 0, 3600), default=GRACE,
                        metavar="SECONDS", help="how long a game played in the browser waits "
                        "for its page to come back after a reload or a dropped connection "
                        f"before it ends as your forfeit (default {GRACE:g}; 0: at once)")
    parser.add_argument("--no-open", "--no-browser", dest="no_browser", action="store_true",
                        help="only print the address; do not open a browser")
    parser.set_defaults(func=cmd_view)


@hookimpl
def gamepit_add_exporters() -> dict[str, Any]:
    return {fmt: _exporter(fmt) for fmt in ("html", "mp4", "gif")}


def _exporter(fmt: str) -> Any:
    def export(replay: Any, registry: Any, output: Any) -> None:
        from gamepit.viewer.export import export_replay

        export_replay(replay, registry, fmt, output)

    return export


def cmd_view(args: argparse.Namespace, manager: Any = None) -> int:
    """Serve the folder until interrupted."""
    from gamepit.errors import GamepitError
    from gamepit.plugins.manager import get_manager
    from gamepit.viewer.server import ViewerServer

    if not 0 <= args.port <= 65535:
        raise GamepitError("view: --port must be between 0 and 65535")
    manager = manager or get_manager()
    _more_files()
    server = ViewerServer(args.folder, manager.registry, args.host, args.port, args.idle_timeout,
                          runs=args.runs, ledgers=args.ledger, manager=manager,
                          max_games=args.max_games, fps=args.fps,
                          reconnect_grace=args.reconnect_grace)
    print(f"gamepit viewer: serving {server.root} at {server.url}  (Ctrl-C stops)", flush=True)
    for note in server.notes:
        print(f"gamepit viewer: note: {note}", file=sys.stderr, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("gamepit viewer: warning: listening beyond this machine; anyone who can reach "
              "it can read the replays in this folder", file=sys.stderr)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("gamepit viewer: stopped")
    finally:
        server.server_close()
    return 0


def _more_files(wanted: int = 4096) -> None:
    """Raise this process's open-file limit toward ``wanted`` (within the hard limit): each
    waiting connection is a file, and 1024, a common default, is less than a burst."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        except (ValueError, OSError):
            pass


def play_in_browser(manager: Any, game_spec: str, agent_spec: str, human_seat: int, seed: int,
                    replay_dir: str | None, folder: str, port: int = 0,
                    open_browser: bool = True, fps: float = FPS,
                    reconnect_grace: float = GRACE) -> int:
    """``gamepit play GAME human AGENT --browser``: serve one game on a local page, open it,
    and stop once the game has ended (or on Ctrl-C, which ends it unfinished). A reload keeps
    the game; a page gone past ``reconnect_grace`` seconds ends it as the person's forfeit."""
    import threading

    from gamepit.viewer.server import ViewerServer

    server = ViewerServer(folder, manager.registry, port=port, manager=manager,
                          play_replays=replay_dir or False, max_games=1, fps=fps,
                          reconnect_grace=reconnect_grace)
    try:
        game = server.table.new(game_spec, agent_spec, human_seat, seed)
    except BaseException:
        server.server_close()
        raise
    try:
        url = f"{server.url}#play={game.id}"
        print(f"gamepit play: your game is at {url}  (Ctrl-C stops)", flush=True)
        threading.Thread(target=server.serve_forever, name="gamepit-viewer", daemon=True).start()
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        with server.table.ended:
            while game not in server.table.finished:
                server.table.ended.wait(0.5)
        server.hub.wake()
        threading.Event().wait(1.0)  # time for the page to hear how it ended
        print(f"gamepit play: {game.result}")
        if game.replay_path:
            print(f"replay: {game.replay_path}")
    except KeyboardInterrupt:
        server.table.close()  # the game is recorded, unfinished
        print(f"gamepit play: stopped: {game.result}")
        if game.replay_path:
            print(f"replay: {game.replay_path}")
    finally:
        server.shutdown()
        server.server_close()
    return 0
