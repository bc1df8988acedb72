"""Torch building blocks shared by search evaluators and learners (residual towers, heads).

Importing this package imports torch; the kernel and the plugin modules never import it at
module level, only when a network is actually built.
"""

from gamepit.nets.residual import PolicyValueNet, ResidualBlock, ResidualTower

__all__ = ["PolicyValueNet", "ResidualBlock", "ResidualTower"]
