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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gamepit.protocols import Expansion, HasArrayModel, State, offers
from gamepit.search.tree import MAX_KEPT_GAMES, KeptTrees, Model, Tree


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


class RowsModel:
    """An agent's ``Model`` over a game's array model, for the searches of lockstep play:
    each search (``seed_trees``) starts a fresh array model, whose tree ``i`` draws its
    playouts from ``keys[i]``, so a game is searched the same alone or in any batch. Kept
    subtrees (``KeptRows``) bring their rows into it. ``make(capacity)`` builds the array
    model (the state type's ``array_model`` with the agent's rollouts); ``per_tree`` rows
    are made room for per tree (it grows beyond that when it must)."""

    def __init__(self, make: Callable[[int], Any], per_tree: int = 256) -> None:
        self.make = make
        self.per_tree = per_tree
        self.rows: Any = None
        self.keys: list[int] = []

    def seed_trees(self, keys: Sequence[int]) -> None:
        self.rows = self.make(max(1, len(keys)) * self.per_tree)
        self.keys = [int(key) for key in keys]

    def initial(self, roots: Sequence[State], trees: Sequence[int] | None = None
                ) -> Expansion:
        keys = self.keys or None
        if keys is not None and trees is not None:
            keys = [keys[tree] for tree in trees]
        return self.rows.initial(roots, keys)

    def recurrent(self, handles: Sequence[int], actions: np.ndarray) -> Expansion:
        return self.rows.recurrent(handles, actions)

    def place(self, tree: Tree) -> None:
        """Nothing to do: kept rows were moved in as their subtrees were taken."""

    def compiled_step(self, rows: int) -> Any:
        """The array model's compiled step for the search's own loop, where it offers one
        (see ``ConnectFourArrayModel.compiled_step``); None otherwise."""
        offer = getattr(self.rows, "compiled_step", None)
        return offer(rows) if offer is not None else None

    def used(self, next_row: int) -> None:
        self.rows.used(next_row)


class KeptRows(KeptTrees):
    """``KeptTrees`` for a ``RowsModel``, whose handles are row numbers of one search's
    array model: a kept subtree holds a copy of its rows (``gather``), its handles become
    places in that copy, and taking it moves the rows into the current search's model
    (``append``). Positions are compared by their row values, all but the playout key."""

    def __init__(self, model: RowsModel, limit: int = MAX_KEPT_GAMES) -> None:
        super().__init__(limit)
        self.model = model
        self.blocks: dict[int, dict[str, np.ndarray]] = {}
        self._block: dict[str, np.ndarray] | None = None  # the block being taken

    def keep(self, game: int, tree: Tree, index: int, action: int) -> None:
        super().keep(game, tree, index, action)
        part = self._kept.get(game)
        if part is None:
            self.blocks.pop(game, None)
            return
        count = int(part.size[0])
        self.blocks[game] = self.model.rows.gather(part.handles[:count])
        part.handles[:count] = range(count)  # each node's row is its own place in the copy
        if len(self.blocks) > len(self._kept):  # games the limit dropped
            self.blocks = {kept: block for kept, block in self.blocks.items()
                           if kept in self._kept}

    def take(self, game: int, state: Any) -> Tree | None:
        self._block = self.blocks.pop(game, None)
        part = super().take(game, state) if self._block is not None else None
        if part is None:
            self._kept.pop(game, None)
            return None
        count = int(part.size[0])
        places = np.asarray(part.handles[:count], dtype=np.int64)
        rows = self.model.rows.append({name: column[places]
                                       for name, column in self._block.items()})
        part.handles[:count] = rows.tolist()
        return part

    def position(self, item: Any) -> Any:
        if isinstance(item, int) and self._block is not None:  # a place in the block taken
            values = {name: column[item] for name, column in self._block.items()}
        else:
            values = {name: column[0] for name, column in self.model.rows.encode([item]).items()}
        return tuple(np.asarray(values[name]).tobytes() for name in sorted(values)
                     if name != "key")

    def clear(self) -> None:
        super().clear()
        self.blocks.clear()


class NetworkRows:
    """A ``Model`` over a game's array model whose leaves a network values instead of
    playouts: the rows step with the array model (no rollouts), and the network evaluates the
    observations the array model makes of its unfinished rows (``observations``). The same
    positions, observations and batches as searching States through the evaluator, so the
    same trees; without a State per node. ``evaluator`` offers ``evaluate_observations``
    (``gamepit.search.network.NetworkEvaluator``)."""

    def __init__(self, rows: Any, evaluator: Any) -> None:
        self.rows, self.evaluator = rows, evaluator

    def initial(self, roots: Sequence[State]) -> Expansion:
        return self._valued(self.rows.initial(roots))

    def recurrent(self, handles: Sequence[int], actions: np.ndarray) -> Expansion:
        return self._valued(self.rows.recurrent(handles, actions))

    def _valued(self, expansion: Expansion) -> Expansion:
        live = np.flatnonzero(np.asarray(expansion.to_play) >= 0)
        priors = np.zeros((len(expansion.handles), self.rows.num_actions))
        values = np.zeros(len(expansion.handles))
        if live.size:
            rows = [expansion.handles[i] for i in live.tolist()]
            priors[live], values[live] = self.evaluator.evaluate_observations(
                self.rows.observations(rows))
        return Expansion(expansion.handles, priors, values, expansion.legal,
                         expansion.to_play, expansion.rewards)


def network_rows_for(roots: Sequence[State], evaluator: Any, capacity: int
                     ) -> NetworkRows | None:
    """``NetworkRows`` for these roots where their type's array model makes observations and
    the evaluator values observations; None otherwise (search them as States)."""
    if getattr(evaluator, "evaluate_observations", None) is None:
        return None
    rows = array_model_for(roots, 0, 0, capacity)
    if rows is None or getattr(rows, "observations", None) is None:
        return None
    return NetworkRows(rows, evaluator)
