"""Batched search trees stored as arrays, and the simulation loop (PUCT or UCT) over them.

One ``Tree`` holds many independent trees (one per root) in numpy arrays indexed
``[tree, node, action]``, in the manner of DeepMind's mctx: selection, virtual loss and backup
are a handful of array operations for the whole batch, so the hot loop creates no Python object
per node. The only per-node Python object is the model's handle for the position (a State for a
real simulator, a hidden state for a learned model), which the tree stores but never looks into.

Values are kept in player 0's terms (for player 1 in a two-player zero-sum game, a value ``v``
is stored as ``-v``); each node's ``sign`` turns them into the chooser's terms at selection. This
flips the sign between players exactly where the player to move changes, so games where one
player moves twice in a row (passes) back up correctly.

This module must not import torch or name a concrete game.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gamepit.protocols import Expansion, Model  # (where they are defined: games use them)
from gamepit.search.compiled import kernels, search_kernel

VISITS, VALUE, PRIOR = 0, 1, 2  # rows of Tree.edges[tree, node]
# columns of Tree.info[tree, node]; kept in one float array so a node is written in one go
SIGN, TO_PLAY, TERMINAL, EXPANDED, NODE_VALUE, REWARD = range(6)
_UNVISITED_UCT = 1e9  # UCT explores every child once before comparing bounds
MAX_KEPT_GAMES = 1024  # games whose subtree an agent keeps at once (see KeptTrees)


@dataclass
class SearchConfig:
    """How the tree chooses, mixes noise and backs up. See ``gamepit.search.mcts`` options."""

    rule: str = "puct"  # "puct" (AlphaGo Zero), "uct" (UCB1 with rollouts) or "gumbel"
    c: float = 1.25  # exploration constant
    dirichlet_alpha: float = 0.0  # 0 turns root noise off
    dirichlet_epsilon: float = 0.25
    discount: float = 1.0
    normalize: bool = False  # scale Q by the min and max seen in the tree (MuZero, 1 player)
    leaves_per_tree: int = 1  # leaves gathered per tree per model call, with virtual loss
    virtual_loss: float = 1.0
    # Gumbel (Danihelka et al. 2022): sigma(q) = (maxvisit_init + max visits) * value_scale * q
    value_scale: float = 0.1
    maxvisit_init: float = 50.0


class Tree:
    """Arrays for ``batch`` trees of up to ``capacity`` nodes over ``num_actions`` actions."""

    def __init__(self, batch: int, capacity: int, num_actions: int) -> None:
        self.batch, self.capacity, self.num_actions = batch, capacity, num_actions
        # visits, value sums (player 0's terms) and priors of each node's outgoing edges,
        # side by side so that selection fetches a node's statistics in one gather.
        self.edges = np.zeros((batch, capacity, 3, num_actions))
        self.children = np.full((batch, capacity, num_actions), -1, dtype=np.int32)
        # per node: sign (-1 where player 1 moves), player to move, terminal, expanded (the
        # model has answered for it), the model's value and the reward of the edge into it,
        # both in player 0's terms
        self.info = np.zeros((batch, capacity, 6))
        self.size = np.zeros(batch, dtype=np.int64)
        # the model's handle of each node, at tree * capacity + node (a flat list is the
        # cheapest thing to write a batch of Python objects into)
        self.handles: list[Any] = [None] * (batch * capacity)
        self.low = np.full(batch, np.inf)  # extremes of backed-up values, for normalize
        self.high = np.full(batch, -np.inf)

    # ------------------------------------------------------------------ writing nodes

    def write(self, trees: np.ndarray, nodes: np.ndarray, expansion: Expansion) -> None:
        """Store a model's answer for the given (tree, node) pairs."""
        if len(nodes) == 1:
            self._write_one(int(trees[0]), int(nodes[0]), expansion)
            return
        legal = np.asarray(expansion.legal, dtype=bool)
        priors = np.maximum(np.asarray(expansion.priors, dtype=float), 0.0) * legal
        totals = priors.sum(1, keepdims=True)
        if (totals <= 0).any():  # a network put no weight on any legal move: go uniform
            priors = np.where(totals > 0, priors, legal)
            totals = priors.sum(1, keepdims=True)
        priors = np.where(legal, priors / np.where(totals > 0, totals, 1.0), -1.0)
        info = np.empty((len(priors), 6))
        info[:, TO_PLAY] = expansion.to_play
        sign = info[:, SIGN] = np.where(info[:, TO_PLAY] == 1, -1.0, 1.0)
        terminal = info[:, TERMINAL] = info[:, TO_PLAY] < 0
        info[:, EXPANDED] = 1.0
        info[:, NODE_VALUE] = np.where(terminal, 0.0, np.asarray(expansion.values) * sign)
        info[:, REWARD] = expansion.rewards
        self.edges[trees, nodes, PRIOR] = priors  # -1 marks an illegal action
        self.info[trees, nodes] = info
        handles = self.handles
        rows = (trees * self.capacity + nodes).tolist()
        for index, handle in zip(rows, expansion.handles, strict=True):
            handles[index] = handle

    def _write_one(self, tree: int, node: int, expansion: Expansion) -> None:
        """``write`` for a single node with scalars: a lone tree writes one node per
        simulation, where numpy's per-call cost would dominate."""
        legal = np.asarray(expansion.legal[0], dtype=bool)
        priors = np.maximum(np.asarray(expansion.priors[0], dtype=float), 0.0) * legal
        total = priors.sum()
        if total <= 0:
            priors, total = legal.astype(float), legal.sum()
        self.edges[tree, node, PRIOR] = np.where(legal, priors / (total if total > 0 else 1.0),
                                                 -1.0)
        to_play = int(expansion.to_play[0])
        sign = -1.0 if to_play == 1 else 1.0
        value = 0.0 if to_play < 0 else float(expansion.values[0]) * sign
        self.info[tree, node] = (sign, to_play, to_play < 0, 1.0, value,
                                 float(expansion.rewards[0]))
        self.handles[tree * self.capacity + node] = expansion.handles[0]

    def handle(self, tree: int, node: int) -> Any:
        """The model's handle for a node (a State for simulators), None if not evaluated."""
        return self.handles[tree * self.capacity + node]

    def grow(self, trees: np.ndarray, nodes: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Allocate the child of each (tree, node, action); returns the new node numbers."""
        slots = self.size[trees]
        if (slots >= self.capacity).any():
            raise RuntimeError("search tree is full; allocate more capacity")
        self.children[trees, nodes, actions] = slots
        self.info[trees, slots] = 0.0
        self.size[trees] += 1
        return slots

    # ------------------------------------------------------------------ reading results

    def root_visits(self) -> np.ndarray:
        return self.edges[:, 0, VISITS].copy()

    def root_values(self) -> np.ndarray:
        """Mean backed-up value at each root, from the root player's point of view; the
        model's own value where nothing was searched."""
        visits = self.edges[:, 0, VISITS].sum(1)
        total = self.edges[:, 0, VALUE].sum(1)
        mean = np.where(visits > 0, total / np.maximum(visits, 1), self.info[:, 0, NODE_VALUE])
        return mean * self.info[:, 0, SIGN]

    def root_q(self) -> np.ndarray:
        """Mean value of each root edge from the root player's point of view (0 unvisited)."""
        edges = self.edges[:, 0]
        return edges[:, VALUE] / np.maximum(edges[:, VISITS], 1) * self.info[:, :1, SIGN]

    def is_expanded(self, tree: int, node: int) -> bool:
        return bool(self.info[tree, node, EXPANDED])

    def is_terminal(self, tree: int, node: int) -> bool:
        return bool(self.info[tree, node, TERMINAL])

    # ------------------------------------------------------------------ reuse

    def subtree(self, tree: int, node: int, extra: int = 0) -> Tree:
        """A one-tree copy of the subtree under ``node``, with room for ``extra`` more nodes;
        lets an agent keep what it learned after a move is played."""
        levels, frontier = [np.array([node])], np.array([node])
        while frontier.size:  # breadth first, a level at a time: parents precede children
            frontier = self.children[tree, frontier]
            frontier = frontier[frontier >= 0]
            levels.append(frontier)
        old = np.concatenate(levels)
        order = old.tolist()
        count = len(order)
        new = Tree(1, count + extra, self.num_actions)
        remap = np.full(self.capacity, -1, dtype=np.int32)
        remap[old] = np.arange(count, dtype=np.int32)
        children = self.children[tree, old]
        new.children[0, :count] = np.where(children >= 0, remap[np.maximum(children, 0)], -1)
        new.edges[0, :count] = self.edges[tree, old]
        new.info[0, :count] = self.info[tree, old]
        new.size[0] = count
        base = tree * self.capacity
        new.handles[:count] = [self.handles[base + i] for i in order]
        new.low[0], new.high[0] = self.low[tree], self.high[tree]
        return new

    @classmethod
    def batch_of(cls, parts: Sequence[Tree | None], extra: int,
                 fresh: Callable[[list[int]], Expansion]) -> Tree:
        """A batch whose tree ``i`` continues ``parts[i]`` (a one-tree ``subtree``) or, where
        that is None, starts at a root the model describes: ``fresh(indexes)`` answers for
        those roots. Every tree has room for ``extra`` more nodes."""
        new_roots = [index for index, part in enumerate(parts) if part is None]
        expansion = fresh(new_roots) if new_roots else None
        sizes = [1 if part is None else int(part.size[0]) for part in parts]
        num_actions = (expansion.legal.shape[1] if expansion is not None
                       else next(part for part in parts if part is not None).num_actions)
        batch = cls(len(parts), max(sizes) + extra, num_actions)
        for index, part in enumerate(parts):
            if part is not None:
                count, base = sizes[index], index * batch.capacity
                batch.edges[index, :count] = part.edges[0, :count]
                batch.children[index, :count] = part.children[0, :count]
                batch.info[index, :count] = part.info[0, :count]
                batch.handles[base:base + count] = part.handles[:count]
                batch.low[index], batch.high[index] = part.low[0], part.high[0]
        batch.size[:] = sizes
        if expansion is not None:
            batch.write(np.array(new_roots), np.zeros(len(new_roots), dtype=np.int64), expansion)
        return batch

    def enlarge(self, capacity: int) -> None:
        """Make room for ``capacity`` nodes per tree, keeping every node where it is; lets a
        search with a time budget start small and grow as it goes."""
        extra = capacity - self.capacity
        if extra <= 0:
            return

        def pad(array: np.ndarray, fill: float) -> np.ndarray:
            tail = np.full((self.batch, extra, *array.shape[2:]), fill, dtype=array.dtype)
            return np.concatenate([array, tail], 1)

        self.edges, self.info = pad(self.edges, 0.0), pad(self.info, 0.0)
        self.children = pad(self.children, -1)
        handles: list[Any] = [None] * (self.batch * capacity)
        for tree in range(self.batch):
            handles[tree * capacity:tree * capacity + self.capacity] = \
                self.handles[tree * self.capacity:(tree + 1) * self.capacity]
        self.handles, self.capacity = handles, capacity

    # ------------------------------------------------------------------ many trees at once

    def select(self, config: SearchConfig, root_prior: np.ndarray | None,
               root_actions: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Walk every tree from its root to a leaf, allocating a node where the walk leaves the
        tree. Returns (path nodes [B, D], path actions [B, D], depths [B], leaves [B]);
        a leaf is new, pending (reached earlier in this pass) or terminal. ``root_actions``,
        where given, is the action each walk takes at its root (Gumbel's root choice)."""
        batch = self.batch
        compiled = kernels() if root_actions is None and config.rule != "gumbel" else None
        if compiled is not None:
            return self._select_compiled(compiled[0], config, root_prior)
        trees = np.arange(batch)
        node = np.zeros(batch, dtype=np.int64)
        active = np.ones(batch, dtype=bool)
        depth = np.zeros(batch, dtype=np.int64)
        path_nodes, path_actions = [], []
        while True:
            if root_actions is not None and not path_nodes:
                action = np.asarray(root_actions, dtype=np.int64)
            else:
                edges = self.edges[trees, node]  # [B, 3, A]
                prior = (root_prior if root_prior is not None and not path_nodes
                         else edges[:, PRIOR])
                sign = self.info[trees, node, SIGN]
                raw = (self.info[trees, node, NODE_VALUE] * sign if config.rule == "gumbel"
                       else None)  # only Gumbel's rule reads the node's own value
                score = _scores(config, edges[:, VISITS], edges[:, VALUE], prior,
                                sign[:, None], self.low[:, None], self.high[:, None], raw)
                action = score.argmax(1)
            child = self.children[trees, node, action]
            path_nodes.append(node)
            path_actions.append(action)
            depth += active
            fresh = active & (child < 0)
            if fresh.any():
                grown = np.flatnonzero(fresh)
                child = child.copy()
                child[grown] = self.grow(grown, node[grown], action[grown])
            reached = self.info[trees, np.maximum(child, 0)]
            stop = fresh | (reached[:, EXPANDED] == 0) | (reached[:, TERMINAL] != 0)
            node = np.where(active, child, node)
            active &= ~stop
            if not active.any():
                break
        return np.stack(path_nodes, 1), np.stack(path_actions, 1), depth, node

    def _select_compiled(self, select: Any, config: SearchConfig,
                         root_prior: np.ndarray | None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``select`` by the compiled loop (``gamepit.search.compiled``): the same walks."""
        width = int(self.size.max()) + 1  # no path is longer than its tree
        nodes = np.empty((self.batch, width), dtype=np.int64)
        actions = np.empty((self.batch, width), dtype=np.int64)
        depth = np.empty(self.batch, dtype=np.int64)
        leaves = np.empty(self.batch, dtype=np.int64)
        given = root_prior is not None
        prior = np.ascontiguousarray(root_prior if given else self.edges[:, 0, PRIOR],
                                     dtype=float)
        if not select(self.edges, self.children, self.info, self.size, prior, given,
                      config.rule == "puct", float(config.c), bool(config.normalize),
                      self.low, self.high, nodes, actions, depth, leaves):
            raise RuntimeError("search tree is full; allocate more capacity")
        longest = int(depth.max())
        return nodes[:, :longest], actions[:, :longest], depth, leaves

    def add_to_edges(self, nodes: np.ndarray, actions: np.ndarray, depth: np.ndarray,
                     visits: float, values: np.ndarray, distinct: bool = False) -> None:
        """Add ``visits`` and ``values`` [B, D] to the edges of the paths (up to ``depth``).
        ``distinct`` promises no edge appears twice (one path per tree), which allows plain
        indexed addition instead of the slower ``np.add.at``."""
        on_path = np.arange(nodes.shape[1])[None, :] < depth[:, None]
        trees = np.broadcast_to(np.arange(self.batch)[:, None], nodes.shape)[on_path]
        rows = (trees * self.capacity + nodes[on_path]) * 3
        flat_actions = actions[on_path]
        edges = self.edges.reshape(-1, self.num_actions)
        if distinct:
            edges[rows + VISITS, flat_actions] += visits
            edges[rows + VALUE, flat_actions] += values[on_path]
        else:
            np.add.at(edges, (rows + VISITS, flat_actions), visits)
            np.add.at(edges, (rows + VALUE, flat_actions), values[on_path])

    def backup(self, nodes: np.ndarray, actions: np.ndarray, depth: np.ndarray,
               leaves: np.ndarray, discount: float, track_bounds: bool = False,
               distinct: bool = False) -> None:
        """Send each leaf's value up its path: every edge gets the reward below it plus the
        discounted value of what follows, g_t = r_(t+1) + discount * g_(t+1)."""
        compiled = kernels() if distinct else None
        if compiled is not None:
            scale = discount ** np.arange(nodes.shape[1] + 1)
            compiled[1](self.edges, self.info, np.ascontiguousarray(nodes),
                        np.ascontiguousarray(actions), depth, leaves, scale, track_bounds,
                        self.low, self.high)
            return
        trees = np.arange(self.batch)
        steps = np.arange(nodes.shape[1])
        # The node each edge leads to: the next node on the path, or the leaf at the end.
        below = np.concatenate([nodes[:, 1:], leaves[:, None]], 1)
        below = np.where(steps[None, :] == depth[:, None] - 1, leaves[:, None], below)
        on_path = steps[None, :] < depth[:, None]
        scale = discount ** steps  # g_t * scale_t = sum_{j>=t} scale_j r_j + scale_d v
        weighted = np.where(on_path, self.info[trees[:, None], below, REWARD], 0.0) * scale
        weighted[trees, depth - 1] += self.info[trees, leaves, NODE_VALUE] * discount ** depth
        totals = np.cumsum(weighted[:, ::-1], 1)[:, ::-1] / scale
        self.add_to_edges(nodes, actions, depth, 1.0, totals, distinct)
        if track_bounds:
            self.low = np.minimum(self.low, np.where(on_path, totals, np.inf).min(1))
            self.high = np.maximum(self.high, np.where(on_path, totals, -np.inf).max(1))

    # ------------------------------------------------------------------ one tree, plain Python
    # numpy costs microseconds per call on arrays of a few actions, so a lone tree walks its
    # rows as Python lists. Same formulas as _scores and backup; tests check they agree.

    def select_one(self, config: SearchConfig, root_prior: np.ndarray | None
                   ) -> tuple[list[int], list[int], int]:
        edges, children, info = self.edges[0], self.children[0], self.info[0]
        puct, c = config.rule == "puct", config.c
        low, high = float(self.low[0]), float(self.high[0])
        spread = high - low if high > low else 1.0
        node, nodes, actions = 0, [], []
        while True:
            visits, values, prior = edges[node].tolist()
            if root_prior is not None and node == 0 and not nodes:
                prior = root_prior[0].tolist()
            sign = info[node, SIGN]
            total = sum(visits)
            explore = c * math.sqrt(total + 1) if puct else math.log(total + 1)
            best, action = -math.inf, -1
            for index, chance in enumerate(prior):
                if chance < 0:
                    continue
                count = visits[index]
                q = values[index] / count * sign if count else 0.0
                if config.normalize and count:
                    q = (q - low) / spread
                if puct:
                    score = q + explore * chance / (1 + count)
                elif count:
                    score = q + c * math.sqrt(explore / count)
                else:
                    score = _UNVISITED_UCT + chance
                if score > best:
                    best, action = score, index
            nodes.append(node)
            actions.append(action)
            child = int(children[node, action])
            if child < 0:
                child = int(self.size[0])
                if child >= self.capacity:
                    raise RuntimeError("search tree is full; allocate more capacity")
                children[node, action] = child
                info[child] = 0.0
                self.size[0] += 1
                return nodes, actions, child
            if not info[child, EXPANDED] or info[child, TERMINAL]:
                return nodes, actions, child
            node = child

    def backup_one(self, nodes: list[int], actions: list[int], leaf: int, discount: float,
                   track_bounds: bool) -> None:
        edges, info = self.edges[0], self.info[0]
        value, below = float(info[leaf, NODE_VALUE]), leaf
        for node, action in zip(reversed(nodes), reversed(actions), strict=True):
            value = float(info[below, REWARD]) + discount * value
            edges[node, VISITS, action] += 1
            edges[node, VALUE, action] += value
            if track_bounds:
                self.low[0] = min(self.low[0], value)
                self.high[0] = max(self.high[0], value)
            below = node


class KeptTrees:
    """What an agent's last search in each game saw below the move it chose, so the next
    search in that game starts from the subtree the game reached instead of from nothing
    (subtree reuse, as in AlphaGo Zero). Games are told apart by the seed their agent was
    reset with, so a batched agent keeps one per game and a game plays the same whether
    searched alone or beside others. For models whose handles are States (``fingerprint``).

    Each game keeps a copy of its own subtree, never the batch its search was in: a finished
    game's entry stays until the agent's next reset, and a reference to the batch would hold
    every tree of it (and their States) alive with it. At most ``limit`` games keep a tree,
    the longest unused dropped first: lockstep play resets its agents for every group of
    games, but an agent that is never reset again (an expert labelling episode after episode)
    would otherwise gather one per game left behind. A group of more than ``limit`` games in
    one seat would lose reuse in its oldest games (and then play them differently)."""

    def __init__(self, limit: int = MAX_KEPT_GAMES) -> None:
        self._kept: dict[int, Tree] = {}  # in the order last kept: the oldest first
        self.limit = limit

    def clear(self) -> None:
        self._kept.clear()

    def keep(self, game: int, tree: Tree, index: int, action: int) -> None:
        """Remember tree ``index`` of ``tree`` below the root's ``action`` for ``game``."""
        node = int(tree.children[index, 0, action])
        if node < 0 or not tree.is_expanded(index, node) or tree.is_terminal(index, node):
            self._kept.pop(game, None)  # nothing to continue from there
            return
        self._kept.pop(game, None)
        self._kept[game] = tree.subtree(index, node)
        while len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]

    def take(self, game: int, state: Any) -> Tree | None:
        """The kept subtree of ``game`` whose root is ``state`` (the node the move led to, or
        a reply below it), or None; either way ``game`` keeps nothing afterwards. Positions
        are compared by fingerprint, so a game changed behind the agent's back (an undo, a
        move someone else chose) gets a fresh search, never a tree of another position."""
        tree = self._kept.pop(game, None)
        if tree is None:
            return None
        wanted = self.position(state)
        for candidate in [0, *(int(c) for c in tree.children[0, 0] if c >= 0)]:
            handle = tree.handle(0, candidate)
            if (handle is not None and tree.is_expanded(0, candidate)
                    and not tree.is_terminal(0, candidate)
                    and self.position(handle) == wanted):
                return tree if candidate == 0 else tree.subtree(0, candidate)
        return None

    def position(self, item: Any) -> Any:
        """What identifies a position, of a State or a kept handle (here both are States:
        their fingerprint)."""
        return item.fingerprint()

    def take_all(self, games: Sequence[int], states: Sequence[Any]) -> list[Tree | None]:
        """``take`` for every state of one batched search (``games[i]``: the game of
        ``states[i]``). A game named more than once (positions of one game asked together,
        which cannot all follow from its last move) takes nothing: a search never depends on
        the order of the states."""
        named = Counter(games)
        parts: list[Tree | None] = []
        for game, state in zip(games, states, strict=True):
            if named[game] == 1:
                parts.append(self.take(game, state))
            else:
                self._kept.pop(game, None)
                parts.append(None)
        return parts

    def keep_all(self, games: Sequence[int], tree: Tree, actions: Sequence[int]) -> None:
        """``keep`` the subtree below ``actions[i]`` of tree ``i`` for ``games[i]``, save for
        a game named more than once in the batch (see ``take_all``)."""
        named = Counter(games)
        for index, (game, action) in enumerate(zip(games, actions, strict=True)):
            if named[game] == 1:
                self.keep(game, tree, index, action)

    def nodes(self) -> int:
        """Node slots the kept trees hold, all games together (their memory grows with it)."""
        return sum(tree.batch * tree.capacity for tree in self._kept.values())


def completed_q(visits: np.ndarray, values: np.ndarray, prior: np.ndarray, sign: np.ndarray,
                raw: np.ndarray) -> np.ndarray:
    """Gumbel's completed Q-values [B, A] for the chooser at each node, min-max scaled to
    [0, 1] over the legal actions (prior >= 0): a visited action's mean value, an unvisited
    one the node's mixed value estimate, (raw + N * sum_b pi(b) q(b) / sum_b pi(b)) / (N + 1)
    over the visited b (Danihelka et al. 2022, appendix D). ``raw`` [B] is the model's own
    value of the node for its chooser; ``sign`` [B, 1] turns stored values into its terms."""
    seen = visits > 0
    q = values / np.maximum(visits, 1) * sign
    chance = np.where(seen, np.maximum(prior, 1e-30), 0.0)
    mass = chance.sum(1)
    weighted = (chance * q).sum(1) / np.where(mass > 0, mass, 1.0)
    count = visits.sum(1)
    mixed = (raw + count * weighted) / (count + 1)
    completed = np.where(seen, q, mixed[:, None])
    legal = prior >= 0
    low = np.where(legal, completed, np.inf).min(1, keepdims=True)
    high = np.where(legal, completed, -np.inf).max(1, keepdims=True)
    return np.where(legal, (completed - low) / np.maximum(high - low, 1e-8), 0.0)


def sigma(config: SearchConfig, visits: np.ndarray, completed: np.ndarray) -> np.ndarray:
    """Gumbel's monotone transform of completed Q: (c_visit + max_b N(b)) * c_scale * q."""
    return (config.maxvisit_init + visits.max(1, keepdims=True)) * config.value_scale * completed


def log_prior(prior: np.ndarray) -> np.ndarray:
    """Logits of stored priors (-inf where illegal: stored as -1)."""
    with np.errstate(divide="ignore"):
        return np.where(prior >= 0, np.log(np.maximum(prior, 1e-30)), -np.inf)


def improved_logits(config: SearchConfig, visits: np.ndarray, values: np.ndarray,
                    prior: np.ndarray, sign: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """logits + sigma(completed Q) [B, A] (-inf where illegal): what Gumbel's root ranks
    actions by (with the noise added) and the improved policy's logits."""
    return log_prior(prior) + sigma(config, visits, completed_q(visits, values, prior, sign,
                                                                 raw))


def improved_policy(config: SearchConfig, visits: np.ndarray, values: np.ndarray,
                    prior: np.ndarray, sign: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """pi' = softmax(logits + sigma(completed Q)) over the legal actions: Gumbel's policy
    target and, inside the tree, what selection steers the visits toward."""
    logits = improved_logits(config, visits, values, prior, sign, raw)
    top = logits.max(1, keepdims=True)
    weights = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    total = weights.sum(1, keepdims=True)
    return weights / np.where(total > 0, total, 1.0)  # a finished node has no legal action


def _scores(config: SearchConfig, visits: np.ndarray, values: np.ndarray, prior: np.ndarray,
            sign: np.ndarray, low: np.ndarray, high: np.ndarray,
            raw: np.ndarray | None = None) -> np.ndarray:
    """Selection scores [B, A] (-inf where illegal) for PUCT, UCT, or Gumbel's deterministic
    interior rule, argmax pi'(a) - N(a) / (1 + sum_b N(b)) (``raw``: the node's own value)."""
    if config.rule == "gumbel":
        policy = improved_policy(config, visits, values, prior, sign,
                                 np.zeros(len(visits)) if raw is None else raw)
        score = policy - visits / (1 + visits.sum(1, keepdims=True))
        return np.where(prior >= 0, score, -np.inf)
    q = values / np.maximum(visits, 1) * sign
    if config.normalize:
        spread = np.where(high > low, high - low, 1.0)
        q = np.where(visits > 0, (q - low) / spread, 0.0)
    total = visits.sum(1, keepdims=True)
    if config.rule == "puct":
        score = q + config.c * np.sqrt(total + 1) * prior / (1 + visits)
    else:
        bonus = np.sqrt(np.log(total + 1) / np.maximum(visits, 1))
        score = np.where(visits > 0, q + config.c * bonus, _UNVISITED_UCT + prior)
    return np.where(prior >= 0, score, -np.inf)


def run_simulations(tree: Tree, model: Model, config: SearchConfig, simulations: int,
                    root_prior: np.ndarray | None = None, deadline: float | None = None
                    ) -> None:
    """Run ``simulations`` simulations in every tree of the batch, gathering the new leaves of
    all trees (``leaves_per_tree`` each, with virtual loss) into one model call per pass.
    ``deadline`` (a ``time.monotonic()`` value) stops it early, after one pass at least."""
    per_pass = max(1, config.leaves_per_tree)
    if per_pass == 1 and config.rule != "gumbel" and _run_compiled(
            tree, model, config, simulations, root_prior, deadline):
        return
    if tree.batch == 1 and per_pass == 1 and config.rule != "gumbel":
        _run_one(tree, model, config, simulations, root_prior, deadline)
        return
    done = 0
    trees = np.arange(tree.batch)[:, None]
    while done < simulations and (deadline is None or not done
                                  or time.monotonic() < deadline):
        count = min(per_pass, simulations - done)
        paths = []
        for _ in range(count):
            nodes, actions, depth, leaves = tree.select(config, root_prior)
            paths.append((nodes, actions, depth, leaves))
            if count > 1:  # make the others steer away from this path until it is backed up
                loss = -config.virtual_loss * tree.info[trees, nodes, SIGN]
                tree.add_to_edges(nodes, actions, depth, config.virtual_loss, loss)
        expand(tree, model, paths)
        for nodes, actions, depth, leaves in paths:
            if count > 1:
                loss = config.virtual_loss * tree.info[trees, nodes, SIGN]
                tree.add_to_edges(nodes, actions, depth, -config.virtual_loss, loss)
            tree.backup(nodes, actions, depth, leaves, config.discount, config.normalize,
                        distinct=count == 1)
        done += count


def _run_compiled(tree: Tree, model: Model, config: SearchConfig, simulations: int,
                  root_prior: np.ndarray | None, deadline: float | None) -> bool:
    """Whole simulations in one compiled call (``compiled.search_loop``), where the model's
    step is compiled too (it offers ``compiled_step``: an array model); False, having done
    nothing, where it is not. A deadline is checked between calls of 16 simulations."""
    offer = getattr(model, "compiled_step", None)
    count = simulations if deadline is None else min(16, simulations)
    found = offer(tree.batch * count) if offer is not None else None
    loop = search_kernel(found[1]) if found is not None else None
    if found is None or loop is None:
        if found is not None:
            model.used(found[3])  # type: ignore[attr-defined]  # the rows reserved, unused
        return False
    given = root_prior is not None
    prior = np.ascontiguousarray(root_prior if given else tree.edges[:, 0, PRIOR], dtype=float)
    scale = config.discount ** np.arange(tree.capacity + 2)
    handles = np.array([-1 if h is None else h for h in tree.handles], dtype=np.int64)
    done = 0
    while True:
        arrays, step, rollouts, next_row = found
        next_row = loop(tree.edges, tree.children, tree.info, tree.size, handles, prior, given,
                        config.rule == "puct", float(config.c), bool(config.normalize),
                        tree.low, tree.high, scale, count, arrays, step, rollouts, next_row)
        if next_row == -1:
            raise RuntimeError("search tree is full; allocate more capacity")
        if next_row == -2:
            raise ValueError("illegal action in the search")
        model.used(next_row)  # type: ignore[attr-defined]
        done += count
        if done >= simulations or (deadline is not None and time.monotonic() >= deadline):
            break
        count = min(16, simulations - done)
        found = offer(tree.batch * count)  # type: ignore[misc]
    tree.handles = [None if h < 0 else h for h in handles.tolist()]
    return True


def _run_one(tree: Tree, model: Model, config: SearchConfig, simulations: int,
             root_prior: np.ndarray | None, deadline: float | None) -> None:
    handles = tree.handles  # tree 0 of one: a node's handle sits at its number
    zero = np.zeros(1, dtype=np.int64)
    for done in range(simulations):
        if deadline is not None and done and time.monotonic() >= deadline:
            break
        nodes, actions, leaf = tree.select_one(config, root_prior)
        if not tree.info[0, leaf, EXPANDED]:
            expansion = model.recurrent([handles[nodes[-1]]], np.array(actions[-1:]))
            tree.write(zero, np.array([leaf]), expansion)
        tree.backup_one(nodes, actions, leaf, config.discount, config.normalize)


def expand(tree: Tree, model: Model, paths: list[tuple[np.ndarray, ...]]) -> None:
    """Ask the model about every leaf not evaluated yet, in one call."""
    trees = np.arange(tree.batch)
    found = []
    for nodes, actions, depth, leaves in paths:
        waiting = np.flatnonzero(tree.info[trees, leaves, EXPANDED] == 0)
        last = depth[waiting] - 1
        found.append((waiting, leaves[waiting], nodes[waiting, last], actions[waiting, last]))
    waiting, leaves, parents, actions = (np.concatenate(column)
                                         for column in zip(*found, strict=True))
    if len(paths) > 1:  # two paths of one pass may have reached the same pending leaf
        _, first = np.unique(waiting * tree.capacity + leaves, return_index=True)
        waiting, leaves, parents, actions = (waiting[first], leaves[first], parents[first],
                                             actions[first])
    if not waiting.size:
        return
    stored = tree.handles
    handles = [stored[i] for i in (waiting * tree.capacity + parents).tolist()]
    tree.write(waiting, leaves, model.recurrent(handles, actions))
