"""Built-in agent and learner plugins, one module (or folder) per algorithm."""
