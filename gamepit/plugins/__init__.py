"""The plugin system: hook specifications, discovery, and the registry of named entries."""

import pluggy

hookimpl = pluggy.HookimplMarker("gamepit")
hookspec = pluggy.HookspecMarker("gamepit")

from gamepit.plugins.manager import PluginManager, Registry, get_manager  # noqa: E402

__all__ = ["PluginManager", "Registry", "get_manager", "hookimpl", "hookspec"]
