"""Models whose positions live in numpy arrays instead of State objects, for batched search
at rates where creating a Python State per node is the bottleneck.

A state type may offer such a model as an optional method (below): the game's rules on rows
of arrays behind the tree's ``Model`` seam, where a handle is a row number, ``recurrent`` plays
one move in every row at once, and leaves are valued by random playouts run on the same
arrays. It must play exactly the state's rules (the game's tests step both side by side).
This module names no game: ``array_model_for`` finds the model on the roots' type
(``protocols.HasArrayModel``).
"""

from __future__ import annotations

from collections.abc import Sequence

from gamepit.protocols import HasArrayModel, State, offers
from gamepit.search.tree import Model


def array_model_for(roots: Sequence[State], rollouts: int = 1, seed: int | None = None,
                    capacity: int = 4096) -> Model | None:
    """The array model that the roots' state type offers, or None when it offers none or the
    roots are of mixed types (search them as States then)."""
    if not roots:
        return None
    kind = type(roots[0])
    if not offers(kind, HasArrayModel) or not all(type(root) is kind for root in roots):
        return None
    return kind.array_model(rollouts, seed, capacity)  # type: ignore[attr-defined]
