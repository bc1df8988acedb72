"""Errors a user can cause. The command line prints them as one line and exits non-zero;
anything else is a bug and keeps its traceback."""


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


class ReplayError(GamepitError):
    """A replay file is corrupted, truncated, or does not re-simulate to the recorded hashes."""
