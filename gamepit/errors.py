"""Errors a user can cause. The command line prints them as one line and exits non-zero;
anything else is a bug and keeps its traceback."""

import os
import tempfile
from pathlib import Path


class GamepitError(Exception):
    """A user-facing error: bad input, a missing file, a broken plugin. One line, no traceback."""


class SpecError(GamepitError):
    """A spec string (``name:key=value,...``) names an unknown plugin or a bad option."""


class PluginError(GamepitError):
    """A plugin failed to import, registered a name twice, or broke a protocol."""

    def __init__(self, plugin: str, problem: str, fix: str = "") -> None:
        self.plugin = plugin
        self.problem = problem
        self.fix = fix
        text = f"plugin {plugin!r}: {problem}"
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)


def writable_folder(path: str | os.PathLike[str], purpose: str) -> Path:
    """Create ``path`` if needed and prove it takes files, before long work writes there: a bad
    folder is one line at the start, not a traceback (or a lost result) at the end."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gamepit-probe-"):
            pass
    except OSError as error:
        raise GamepitError(f"{purpose} {folder}: {error.strerror or error}") from None
    return folder


class ReplayError(GamepitError):
    """A replay file is corrupted, truncated, or does not re-simulate to the recorded hashes."""
