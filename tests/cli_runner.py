"""``gamepit`` run as a user runs it, without paying the interpreter's start each time.

A test that runs the command line (``cli`` and ``run_cli`` in conftest.py) gets a real process
of its own: its own working folder, environment, standard input and output, exit code, and a
traceback on stderr if one escapes. Starting ``python -m gamepit`` afresh costs 0.6 s, and 2-3 s
when the command needs torch (every ``train`` error does), more than most of these tests take
to run. So each test worker keeps one forkserver (``multiprocessing``'s, which has imported
gamepit, its built-in plugins and torch, and run nothing) and every call is a fork of it that
runs ``gamepit.cli.main`` the way ``gamepit/__main__.py`` does. The forkserver never ran a
torch operation, so its children start torch's thread pools afresh, as a new process does.

A call whose environment sets a ``PYTHON...`` variable (other than PYTHONUNBUFFERED), or that
asks for ``fresh=True``, starts a new interpreter instead; so does every call when
``GAMEPIT_TEST_FRESH=1`` (the whole suite the slow, literal way).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from gamepit.plugins.builtin import BUILTIN_PLUGINS

MAIN = str(Path(__file__).resolve().parents[1] / "gamepit" / "__main__.py")
_server: Any = None


def _forkserver() -> Any:
    global _server
    if _server is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["gamepit.cli", *BUILTIN_PLUGINS, "torch", "numba",
                                        "tests.cli_runner"])
        _server = context
    return _server


def run(args: list[str], cwd: str | Path | None, env: dict[str, str], input: str | None,
        timeout: float, fresh: bool = False) -> subprocess.CompletedProcess:
    """What ``subprocess.run([python, -m, gamepit, *args], capture_output=True, text=True)``
    gives, from a fork of the warm server unless a fresh interpreter is needed."""
    command = [sys.executable, "-m", "gamepit", *args]
    literal = fresh or os.environ.get("GAMEPIT_TEST_FRESH") == "1" or any(
        key.startswith("PYTHON") and key != "PYTHONUNBUFFERED" and env.get(key) !=
        os.environ.get(key) for key in env)
    if literal:
        return subprocess.run(command, cwd=cwd, env=env, input=input, capture_output=True,
                              text=True, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="gamepit-cli-") as folder:
        paths = [os.path.join(folder, name) for name in ("in", "out", "err")]
        Path(paths[0]).write_text(input or "")
        child = _forkserver().Process(
            target=_child, args=(list(args), str(cwd or os.getcwd()), env,
                                 paths[0] if input is not None else os.devnull, *paths[1:]))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(command, timeout)
        out, err = (Path(path).read_text(errors="replace") for path in paths[1:])
    return subprocess.CompletedProcess(command, child.exitcode, out, err)


def _child(args: list[str], cwd: str, env: dict[str, str], stdin: str, out: str,
           err: str) -> None:
    """In the fork: become ``python -m gamepit ARGS`` in ``cwd`` with ``env``, then exit."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path, flags in ((0, stdin, os.O_RDONLY), (1, out, os.O_WRONLY | os.O_CREAT),
                            (2, err, os.O_WRONLY | os.O_CREAT)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdin, never closed
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    sys.argv = [MAIN, *args]
    sys.path.insert(0, cwd)  # as ``python -m`` puts the working folder first
    code: Any = 0
    try:
        from gamepit.cli import main

        code = main(args)
    except SystemExit as stop:
        code = stop.code
    except BaseException:  # noqa: BLE001 - what the interpreter prints for an uncaught one
        traceback.print_exc()
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # noqa: SLF001 - what interpreter exit runs (engines are stopped)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
