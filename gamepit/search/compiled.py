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
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

VISITS, VALUE, PRIOR = 0, 1, 2  # the same layout as gamepit.search.tree
SIGN, TERMINAL, EXPANDED, NODE_VALUE, REWARD = 0, 2, 3, 4, 5
UNVISITED_UCT = 1e9


def select_loop(edges: np.ndarray, children: np.ndarray, info: np.ndarray, size: np.ndarray,
                root_prior: np.ndarray, use_root_prior: bool, puct: bool, c: float,
                normalize: bool, low: np.ndarray, high: np.ndarray, nodes: np.ndarray,
                actions: np.ndarray, depth: np.ndarray, leaves: np.ndarray) -> bool:
    """``Tree.select`` for every tree, into ``nodes``/``actions`` [B, D] (from a tree's depth
    to the longest one's: its leaf and action 0), ``depth`` and ``leaves`` [B]. False if a
    tree is full."""
    batch, capacity, num_actions = children.shape
    for tree in range(batch):
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
            nodes[tree, steps] = node
            actions[tree, steps] = choice
            steps += 1
            child = children[tree, node, choice]
            if child < 0:
                child = size[tree]
                if child >= capacity:
                    return False
                children[tree, node, choice] = child
                info[tree, child, :] = 0.0
                size[tree] += 1
                break
            if info[tree, child, EXPANDED] == 0 or info[tree, child, TERMINAL] != 0:
                break
            node = child
        depth[tree] = steps
        leaves[tree] = child
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
    path's length): the same weighted sums, summed from the leaf up, as the numpy path."""
    for tree in range(nodes.shape[0]):
        steps = depth[tree]
        leaf = leaves[tree]
        total = info[tree, leaf, NODE_VALUE] * scale[steps]  # weighted[depth - 1]'s leaf part
        for step in range(steps - 1, -1, -1):
            below = leaf if step == steps - 1 else nodes[tree, step + 1]
            total = (info[tree, below, REWARD] * scale[step] + total if step == steps - 1
                     else total + info[tree, below, REWARD] * scale[step])
            value = total / scale[step]
            node, action = nodes[tree, step], actions[tree, step]
            edges[tree, node, VISITS, action] += 1.0
            edges[tree, node, VALUE, action] += value
            if track:
                low[tree] = min(low[tree], value)
                high[tree] = max(high[tree], value)


_COMPILED: list = []  # (select, backup) compiled, or None; empty until asked


def kernels() -> Any:
    """``(select_loop, backup_loop)`` compiled by numba (a few seconds the first time on a
    machine, then from its disk cache), or None where numba is missing or cannot compile."""
    if not _COMPILED:
        try:
            import numba

            compiled = (numba.njit(cache=True, nogil=True)(select_loop),
                        numba.njit(cache=True, nogil=True)(backup_loop))
            _probe(*compiled)
        except Exception:  # noqa: BLE001 (no numba, or one that cannot compile here)
            compiled = None
        _COMPILED.append(compiled)
    return _COMPILED[0]


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
