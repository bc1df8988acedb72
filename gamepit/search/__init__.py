"""Search plugins: batched PUCT (AlphaGo Zero) and UCT over array trees.

- ``tree``: the arrays of many trees and the simulation loop; talks to a ``Model``.
- ``evaluators``: ``SimulatorModel`` (real States and an Evaluator) and the uniform, rollout
  and heuristic evaluators; ``network`` adds the torch evaluator (imports torch).
- ``array_models``: finds the model a state type may offer that holds positions as rows of
  arrays behind the same ``Model`` seam (connect four offers one).
- ``playouts`` / ``encoders``: random playouts and network inputs, with the faster batched
  versions a state type may offer as optional methods (documented in each module).
- ``mcts``: the plugin module: the ``MCTS`` search, the ``mcts`` agent, their registration.

Nothing here imports torch at import time except ``network``, and nothing here imports a
game: games offer their fast paths as State methods that the search looks up.
"""
