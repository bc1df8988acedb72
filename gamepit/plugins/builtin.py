"""The built-in plugins: module names registered exactly like third-party plugins."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gamepit.replay.recorder",
    "gamepit.games.tictactoe",
    "gamepit.games.connect_four",
    "gamepit.games.atari",
    "gamepit.games.go",
    "gamepit.games.openspiel_bridge",
    "gamepit.games.pettingzoo_bridge",
    "gamepit.games.gym_bridge",
    "gamepit.agents.basic",
    "gamepit.agents.human",
    "gamepit.search.mcts",
    "gamepit.learners.dqn",
    "gamepit.learners.ppo",
    "gamepit.learners.alphazero",
    "gamepit.tournament",
    "gamepit.training",
    "gamepit.training.metrics_file",
    "gamepit.training.tensorboard",
    "gamepit.training.progress",
    "gamepit.viewer.plugin",
)
