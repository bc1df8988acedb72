"""Search plugins: batched PUCT (AlphaGo Zero) and UCT over array trees.

- ``tree``: the arrays of many trees and the simulation loop; talks to a ``Model``.
- ``evaluators``: ``SimulatorModel`` (real States and an Evaluator) and the uniform, rollout
  and heuristic evaluators; ``network`` adds the torch evaluator (imports torch).
- ``array_models``: connect four as rows of bitboards behind the same ``Model`` seam.
- ``playouts`` / ``encoders``: random playouts and network inputs, with faster kernels
  registered per state type.
- ``mcts``: the plugin module: the ``MCTS`` search, the ``mcts`` agent, their registration.

Nothing here imports torch at import time except ``network``.
"""
