"""The batched tree's selection and backup as loops that numba compiles, where it is installed.

``Tree.select`` and ``Tree.backup`` walk every tree of a batch with numpy operations over the
batch, a dozen calls per level of depth: with 64 trees of a few actions each, numpy's cost per
call is most of a search's time. These are the same walks one tree at a time, as plain loops
that numba compiles to machine code (on first use, cached on disk). They compute the same
formulas in the same order as ``_scores`` and ``Tree.backup``, so the trees they grow are the
numpy path's; the tests hold the compiled loops to the same loops run as plain Python and to
the numpy path. Without numba, ``kernels()`` is None and the tree keeps to numpy.

Covered: PUCT and UCT selection (with root priors, min-max normalised values), and backup of
one path per tree (no virtual loss). Gumbel's rule and several leaves per pass stay in numpy.
``search_loop`` runs whole simulations in one call, for a model whose step is compiled too (a
game's array model: connect four's ``step_row``), so a lone tree no longer pays Python per
simulation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

VISITS, VALUE, PRIOR = 0, 1, 2  # the same layout as gamepit.search.tree
SIGN, TO_PLAY, TERMINAL, EXPANDED, NODE_VALUE, REWARD = 0, 1, 2, 3, 4, 5
UNVISITED_UCT = 1e9


def walk_one(tree: int, edges: np.ndarray, children: np.ndarray, info: np.ndarray,
             size: np.ndarray, root_prior: np.ndarray, use_root_prior: bool, puct: bool,
             c: float, normalize: bool, low: np.ndarray, high: np.ndarray, nodes: np.ndarray,
             actions: np.ndarray) -> tuple[int, int]:
    """Walk tree ``tree`` from its root to a leaf (``_scores``' choices), growing a node where
    the walk leaves the tree; the path into ``nodes``/``actions`` (1-D rows). Returns (the
    path's length, the leaf), or (-1, -1) when the tree is full."""
    capacity, num_actions = children.shape[1], children.shape[2]
    node, steps = 0, 0
    spread = high[tree] - low[tree] if high[tree] > low[tree] else 1.0
    while True:
        total = 0.0
        for action in range(num_actions):
            total += edges[tree, node, VISITS, action]
        explore = c * math.sqrt(total + 1) if puct else math.log(total + 1)
        sign = info[tree, node, SIGN]
        best, choice = -math.inf, 0
        for action in range(num_actions):
            prior = (root_prior[tree, action] if use_root_prior and steps == 0
                     else edges[tree, node, PRIOR, action])
            if prior < 0:
                continue
            count = edges[tree, node, VISITS, action]
            q = edges[tree, node, VALUE, action] / max(count, 1.0) * sign
            if normalize:
                q = (q - low[tree]) / spread if count > 0 else 0.0
            if puct:
                score = q + explore * prior / (1 + count)
            elif count > 0:
                score = q + c * math.sqrt(explore / max(count, 1.0))
            else:
                score = UNVISITED_UCT + prior
            if score > best:
                best, choice = score, action
        nodes[steps] = node
        actions[steps] = choice
        steps += 1
        child = children[tree, node, choice]
        if child < 0:
            child = size[tree]
            if child >= capacity:
                return -1, -1
            children[tree, node, choice] = child
            info[tree, child, :] = 0.0
            size[tree] += 1
            return steps, child
        if info[tree, child, EXPANDED] == 0 or info[tree, child, TERMINAL] != 0:
            return steps, child
        node = child


def backup_one(tree: int, edges: np.ndarray, info: np.ndarray, nodes: np.ndarray,
               actions: np.ndarray, steps: int, leaf: int, scale: np.ndarray, track: bool,
               low: np.ndarray, high: np.ndarray) -> None:
    """``Tree.backup`` of one path of tree ``tree`` (``scale[t]``: discount ** t): the same
    weighted sums, summed from the leaf up, as the numpy path."""
    total = info[tree, leaf, NODE_VALUE] * scale[steps]  # weighted[depth - 1]'s leaf part
    for step in range(steps - 1, -1, -1):
        below = leaf if step == steps - 1 else nodes[step + 1]
        total = (info[tree, below, REWARD] * scale[step] + total if step == steps - 1
                 else total + info[tree, below, REWARD] * scale[step])
        value = total / scale[step]
        node, action = nodes[step], actions[step]
        edges[tree, node, VISITS, action] += 1.0
        edges[tree, node, VALUE, action] += value
        if track:
            low[tree] = min(low[tree], value)
            high[tree] = max(high[tree], value)


def select_loop(edges: np.ndarray, children: np.ndarray, info: np.ndarray, size: np.ndarray,
                root_prior: np.ndarray, use_root_prior: bool, puct: bool, c: float,
                normalize: bool, low: np.ndarray, high: np.ndarray, nodes: np.ndarray,
                actions: np.ndarray, depth: np.ndarray, leaves: np.ndarray) -> bool:
    """``Tree.select`` for every tree, into ``nodes``/``actions`` [B, D] (from a tree's depth
    to the longest one's: its leaf and action 0), ``depth`` and ``leaves`` [B]. False if a
    tree is full."""
    batch = children.shape[0]
    for tree in range(batch):
        steps, leaf = walk_one(tree, edges, children, info, size, root_prior, use_root_prior,
                               puct, c, normalize, low, high, nodes[tree], actions[tree])
        if steps < 0:
            return False
        depth[tree] = steps
        leaves[tree] = leaf
    longest = depth.max()
    for tree in range(batch):
        for rest in range(depth[tree], longest):
            nodes[tree, rest] = leaves[tree]
            actions[tree, rest] = 0
    return True


def backup_loop(edges: np.ndarray, info: np.ndarray, nodes: np.ndarray, actions: np.ndarray,
                depth: np.ndarray, leaves: np.ndarray, scale: np.ndarray, track: bool,
                low: np.ndarray, high: np.ndarray) -> None:
    """``Tree.backup`` of one path per tree (``scale[t]``: discount ** t, up to the longest
    path's length)."""
    for tree in range(nodes.shape[0]):
        backup_one(tree, edges, info, nodes[tree], actions[tree], depth[tree], leaves[tree],
                   scale, track, low, high)


def search_loop(edges: np.ndarray, children: np.ndarray, info: np.ndarray, size: np.ndarray,
                handles: np.ndarray, root_prior: np.ndarray, use_root_prior: bool, puct: bool,
                c: float, normalize: bool, low: np.ndarray, high: np.ndarray,
                scale: np.ndarray, simulations: int, arrays: tuple, step: Any, rollouts: int,
                next_row: int) -> int:
    """``simulations`` whole simulations in every tree, on a model whose step is compiled
    too (``step(arrays, parent row, action, new row, rollouts, legal)``, as connect four's
    ``step_row``): walk, step the model into the next free row, write the node as
    ``Tree.write`` writes a model's answer (uniform priors over the legal moves), back up.
    ``handles[tree * capacity + node]`` is each node's row (-1: none). Trees are independent,
    so this grows each tree as the numpy loop does. Returns the next free row, or -1 when a
    tree is full, -2 at an illegal move."""
    batch, capacity, num_actions = children.shape
    nodes = np.zeros(capacity + 1, dtype=np.int64)
    actions = np.zeros(capacity + 1, dtype=np.int64)
    legal = np.zeros(num_actions, dtype=np.bool_)
    for _ in range(simulations):
        for tree in range(batch):
            steps, leaf = walk_one(tree, edges, children, info, size, root_prior,
                                   use_root_prior, puct, c, normalize, low, high, nodes,
                                   actions)
            if steps < 0:
                return -1
            if info[tree, leaf, EXPANDED] == 0:
                parent = handles[tree * capacity + nodes[steps - 1]]
                moved, value, to_play, reward = step(arrays, parent, actions[steps - 1],
                                                     next_row, rollouts, legal)
                if not moved:
                    return -2
                handles[tree * capacity + leaf] = next_row
                next_row += 1
                count = 0
                for action in range(num_actions):
                    if legal[action]:
                        count += 1
                for action in range(num_actions):
                    edges[tree, leaf, PRIOR, action] = 1.0 / count if legal[action] else -1.0
                sign = -1.0 if to_play == 1 else 1.0
                info[tree, leaf, SIGN] = sign
                info[tree, leaf, TO_PLAY] = to_play
                info[tree, leaf, TERMINAL] = 1.0 if to_play < 0 else 0.0
                info[tree, leaf, EXPANDED] = 1.0
                info[tree, leaf, NODE_VALUE] = 0.0 if to_play < 0 else value * sign
                info[tree, leaf, REWARD] = reward
            backup_one(tree, edges, info, nodes, actions, steps, leaf, scale, normalize,
                       low, high)
    return next_row


_COMPILED: list = []  # (select, backup) compiled, or None; empty until asked
_SEARCHES: dict = {}  # search_loop compiled for a model's step signature


def kernels() -> Any:
    """``(select_loop, backup_loop)`` compiled by numba (a few seconds the first time on a
    machine, then from its disk cache), or None where numba is missing or cannot compile
    them."""
    if not _COMPILED:
        try:
            import numba
            from numba.extending import register_jitable

            register_jitable(walk_one)  # callable from compiled code, plain from Python
            register_jitable(backup_one)
            compiled = tuple(numba.njit(cache=True, nogil=True)(loop)
                             for loop in (select_loop, backup_loop))
            _probe(*compiled)
        except Exception:  # noqa: BLE001 (no numba, or one that cannot compile here)
            compiled = None
        _COMPILED.append(compiled)
    return _COMPILED[0]


def search_kernel(step: Any) -> Any:
    """``search_loop`` compiled for a model whose ``step`` is a numba function compiled with
    one explicit signature (``step.nopython_signatures[0]``). The step is passed as a
    first-class function of that signature, so the compiled loop is cached on disk per
    signature (a dispatcher passed as such would be compiled anew in every process). None
    where the tree's loops cannot be compiled."""
    if kernels() is None:
        return None
    signature = step.nopython_signatures[0]
    found = _SEARCHES.get(signature)
    if found is None:
        import numba
        from numba import types

        def array(dtype: Any, dims: int) -> Any:
            return types.Array(dtype, dims, "C")

        floats, ints = types.float64, types.int64
        outer = ints(array(floats, 4), array(types.int32, 3), array(floats, 3),
                     array(ints, 1), array(ints, 1), array(floats, 2), types.boolean,
                     types.boolean, floats, types.boolean, array(floats, 1),
                     array(floats, 1), array(floats, 1), ints, signature.args[0],
                     types.FunctionType(signature), ints, ints)
        found = _SEARCHES[signature] = numba.njit(outer, cache=True, nogil=True)(search_loop)
    return found


def _probe(select: Any, backup: Any) -> None:
    """Compile both loops for the array types the tree passes (one tiny tree)."""
    edges, info = np.zeros((1, 2, 3, 2)), np.zeros((1, 2, 6))
    edges[0, 0, PRIOR] = 0.5
    info[0, 0, EXPANDED] = 1.0
    children, size = np.full((1, 2, 2), -1, dtype=np.int32), np.ones(1, dtype=np.int64)
    nodes, actions = np.zeros((1, 2), dtype=np.int64), np.zeros((1, 2), dtype=np.int64)
    depth, leaves = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    low, high = np.full(1, np.inf), np.full(1, -np.inf)
    select(edges, children, info, size, edges[:, 0, PRIOR], False, True, 1.25, False, low,
           high, nodes, actions, depth, leaves)
    backup(edges, info, nodes, actions, depth, leaves, np.ones(3), False, low, high)
