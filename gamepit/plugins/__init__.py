"""The plugin system: hook markers, hook specifications, discovery, and the registry."""

from gamepit.plugins.manager import PluginManager, Registry, get_manager
from gamepit.plugins.markers import hookimpl, hookspec

__all__ = ["PluginManager", "Registry", "get_manager", "hookimpl", "hookspec"]
