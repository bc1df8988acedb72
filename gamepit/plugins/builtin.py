"""The built-in plugins: module names registered exactly like third-party plugins."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gamepit.replay",
    "gamepit.games.tictactoe",
    "gamepit.games.connect_four",
    "gamepit.agents.basic",
    "gamepit.agents.human",
)
