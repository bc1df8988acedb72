"""Built-in game plugins, one file per game or bridge."""
