"""The built-in plugins: module names registered exactly like third-party plugins."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gamepit.replay",
    "gamepit.games.tictactoe",
    "gamepit.games.connect_four",
    "gamepit.games.atari",
    "gamepit.games.go",
    "gamepit.games.openspiel_bridge",
    "gamepit.games.pettingzoo_bridge",
    "gamepit.games.gym_bridge",
    "gamepit.agents.basic",
    "gamepit.agents.human",
    "gamepit.agents.learners",
    "gamepit.agents.alphazero_plugin",
    "gamepit.search.mcts",
    "gamepit.tournament",
    "gamepit.viewer.plugin",
)
