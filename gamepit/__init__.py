"""gamepit: game-playing agents as plugins.

The kernel (everything outside the plugin folders that ARCHITECTURE.md lists) must import
without torch, so listing plugins or running a tournament of non-neural agents never
pays for it.
"""

from gamepit.errors import GamepitError, PluginError, SpecError
from gamepit.protocols import Agent, BaseState, Capabilities, Game, Option, PluginEntry, State

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "BaseState",
    "Capabilities",
    "Game",
    "GamepitError",
    "Option",
    "PluginEntry",
    "PluginError",
    "SpecError",
    "State",
    "__version__",
]
