"""Conformance checkers shipped with the package, like Gymnasium's ``check_env`` and
PettingZoo's ``api_test``: ``check_game`` and ``check_agent`` raise ``ConformanceError`` whose
message says what to fix, one line per missing or wrong piece, never a raw exception from the
plugin's code (that becomes a line naming the call, the error and where it was raised). A check
that passes prints nothing. The test suite runs them over every registered game and agent;
``gamepit check game SPEC`` and ``gamepit check agent SPEC --game SPEC`` run them from the
command line.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gamepit.errors import GamepitError
from gamepit.protocols import (
    OPTIONAL_STATE_METHODS,
    STATE_MEMBERS,
    Agent,
    Game,
    HasArrayModel,
    HasBatchObservations,
    HasBatchPlayouts,
    HasRandomPlayout,
    State,
    offers,
    split_act_result,
    state_hash,
    to_json,
)


class ConformanceError(GamepitError, AssertionError):
    """A game or agent breaks the protocol; the message says how to fix it."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


# The hint for each State member (gamepit.protocols.STATE_MEMBERS) that is missing.
HINTS = {
    "current_player": "a property: the player to move, -1 once the game is over",
    "legal_mask": "legal_mask() -> bool array of shape (num_actions,)",
    "legal_actions": "inherit gamepit.protocols.BaseState or define it",
    "apply": "apply(action) -> None: play the action in place",
    "clone": "clone() -> State: an independent copy",
    "is_terminal": "is_terminal() -> bool",
    "returns": "returns() -> list of floats, one per player",
    "observation": "observation(player) -> array of the game's observation_shape",
    "render": "render() -> str: the position as text",
    "fingerprint": "inherit gamepit.protocols.BaseState or define it",
}
STATE_METHODS = {name: HINTS[name] for name in STATE_MEMBERS}


def _where(error: BaseException) -> str:
    """Where an error was raised: the last frame of its traceback, as file:line in function."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name})"


@contextlib.contextmanager
def _calling(label: str, what: str) -> Iterator[None]:
    """Turn what the plugin's code raises into one ConformanceError line naming the call."""
    try:
        yield
    except ConformanceError:
        raise
    except Exception as error:  # noqa: BLE001 - any error in the plugin is what to report
        text = " ".join(str(error).split())[:200]
        raise ConformanceError(f"{label}: {what} raised {type(error).__name__}: {text}"
                               f"{_where(error)}") from None


def entry_problems(entry: Any, factory: Callable[..., Any]) -> list[str]:
    """What is wrong with a registered entry's options, one line each: a default of another
    type than the option's, outside its range or its choices, or an option that the
    constructor does not take (it would fail only when someone sets it)."""
    label = f"{entry.kind} {entry.name}"
    problems = []
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    for option in entry.options:
        where = f"{label}: option {option.name}"
        default = option.default
        if parameters and not takes_any and option.name not in parameters:
            problems.append(f"{where}: the constructor takes no parameter {option.name!r} "
                            f"(it takes {', '.join(parameters) or 'none'})")
        if default is None:
            continue
        if not isinstance(default, option.type) or (option.type is int
                                                    and isinstance(default, bool)):
            problems.append(f"{where}: its default {default!r} is not of type "
                            f"{option.type.__name__}")
            continue
        if option.low is not None and default < option.low or \
                option.high is not None and default > option.high:
            problems.append(f"{where}: its default {default!r} lies outside "
                            f"[{option.low}..{option.high}]")
        if option.choices and default not in option.choices:
            problems.append(f"{where}: its default {default!r} is not one of its choices")
    return problems


def game_problems(game: Game) -> list[str]:
    """Every missing or wrong piece a game's class and first state show, one line each."""
    name = getattr(game, "name", "") or type(game).__name__
    problems = [f"{name}: set the class attribute {attribute} ({kind.__name__})"
                for attribute, kind in (("name", str), ("num_players", int),
                                        ("num_actions", int), ("observation_shape", tuple))
                if not isinstance(getattr(game, attribute, None), kind)]
    if problems:
        return problems
    if game.num_players < 1:
        problems.append(f"{name}: num_players must be at least 1")
    if game.num_actions < 1:
        problems.append(f"{name}: num_actions must be at least 1")
    bounds = getattr(game, "observation_bounds", None)
    if not (isinstance(bounds, tuple) and len(bounds) == 2 and bounds[0] <= bounds[1]):
        problems.append(f"{name}: observation_bounds must be (low, high), the range of every "
                        "observation value")
    if not game.capabilities.state:
        return problems
    try:
        state = game.new_state(0)
    except Exception as error:  # noqa: BLE001 - reported as the line to fix
        return [*problems, f"{name}: new_state(seed) raised {type(error).__name__}: "
                f"{' '.join(str(error).split())[:200]}{_where(error)}"]
    kind = type(state).__name__
    for method, hint in STATE_METHODS.items():
        if not hasattr(type(state), method) and not hasattr(state, method):
            problems.append(f"{name}: {kind} lacks {method}"
                            f"{'' if method == 'current_player' else '()'}: {hint}")
    return problems


def check_game(game: Game, episodes: int = 2, max_steps: int = 500, seed: int = 0,
               aec: bool = True, aec_cycles: int = 200) -> None:
    """Check a game's attributes, its simulator state over random playouts, and (if ``aec``)
    its PettingZoo face with ``pettingzoo.test.api_test`` (quietly: it prints and warns)."""
    problems = game_problems(game)
    if problems:
        raise ConformanceError("\n".join(problems))
    name = game.name
    capabilities = game.capabilities
    rng = np.random.default_rng(seed)
    if capabilities.state:
        for episode in range(episodes):
            with _calling(name, "a random playout"):
                _check_playout(game, seed + episode, rng, max_steps)
        with _calling(name, "a fast path"):
            _check_fast_paths(game, seed, max_steps)
    if aec and capabilities.aec:
        from pettingzoo.test import api_test

        from gamepit.faces import aec_env

        with _calling(name, "aec_env()"):
            env = aec_env(game)
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                api_test(env, num_cycles=aec_cycles)
        except AssertionError as error:
            raise ConformanceError(f"{name}: PettingZoo api_test failed: "
                                   f"{' '.join(str(error).split())[:300]}{_where(error)}"
                                   ) from None
        except Exception as error:  # noqa: BLE001 - the plugin's face raised
            raise ConformanceError(f"{name}: PettingZoo api_test raised "
                                   f"{type(error).__name__}: {error}{_where(error)}") from None
        finally:
            env.close()


def _check_playout(game: Game, seed: int, rng: np.random.Generator, max_steps: int) -> None:
    name = game.name
    state = game.new_state(seed)
    again = game.new_state(seed)
    if game.capabilities.deterministic:
        _require(state_hash(state) == state_hash(again),
                 f"{name}: new_state(seed) must give the same start for the same seed")
    actions = []
    for _ in range(max_steps):
        if state.is_terminal():
            break
        player = state.current_player
        _require(0 <= player < game.num_players,
                 f"{name}: current_player {player} out of range while the game is not over")
        mask = state.legal_mask()
        _require(isinstance(mask, np.ndarray) and mask.dtype == bool
                 and mask.shape == (game.num_actions,),
                 f"{name}: legal_mask() must be a bool array of shape ({game.num_actions},)")
        legal = state.legal_actions()
        _require(list(legal) == np.flatnonzero(mask).tolist(),
                 f"{name}: legal_actions() must list the indices where legal_mask() is True")
        _require(len(legal) > 0, f"{name}: a non-terminal state must have a legal action")
        for viewer in range(game.num_players):
            observation = np.asarray(state.observation(viewer))
            _require(observation.shape == tuple(game.observation_shape),
                     f"{name}: observation shape {observation.shape} != observation_shape "
                     f"{game.observation_shape}")
            low, high = game.observation_bounds
            _require(observation.size == 0 or (low <= observation.min()
                                               and observation.max() <= high),
                     f"{name}: observation values {observation.min()}..{observation.max()} "
                     f"lie outside observation_bounds {game.observation_bounds}; set "
                     "observation_bounds = (low, high) on the game")
        _require(len(state.returns()) == game.num_players,
                 f"{name}: returns() must have one number per player")
        _require(isinstance(state.render(), str), f"{name}: render() must return a string")
        before = state_hash(state)
        copy = state.clone()
        action = int(legal[rng.integers(len(legal))])
        copy.apply(action)
        _require(state_hash(state) == before,
                 f"{name}: applying an action to a clone changed the original; clone() must "
                 "copy all mutable state")
        state.apply(action)
        actions.append(action)
        if game.capabilities.deterministic:
            _require(state_hash(state) == state_hash(copy),
                     f"{name}: the same action from the same state gave different states; "
                     "set capabilities.deterministic=False if that is intended")
    if state.is_terminal():
        _require(state.current_player == -1, f"{name}: current_player must be -1 at the end")
        _require(not state.legal_mask().any(), f"{name}: no action may be legal at the end")
    if game.capabilities.deterministic:
        replayed = game.new_state(seed)
        for action in actions:
            replayed.apply(action)
        _require(state_hash(replayed) == state_hash(state),
                 f"{name}: replaying the same actions from the same seed must give the same "
                 "state (replays depend on it)")


def offered_methods(game: Game) -> list[str]:
    """The optional State methods (``protocols.OPTIONAL_STATE_METHODS``) a game's states
    offer."""
    kind = type(game.new_state(0))
    return [name for name, method in OPTIONAL_STATE_METHODS.items() if offers(kind, method)]


PLAYOUTS = 200  # random playouts each way when fast playouts are compared with plain ones


def _check_fast_paths(game: Game, seed: int, max_steps: int) -> None:
    """Compare each fast path the game's states offer with plain play through the State
    protocol, over the positions of a random game: batched observations with
    ``observation``, fast and batched playouts with plain ones (their means from the start
    must agree within sampling error: they play the same random game), the array model with
    ``apply`` move by move (legal moves, the player to move, rewards)."""
    name, rng = game.name, np.random.default_rng(seed)
    start = game.new_state(seed)
    kind = type(start)
    line, actions = [start.clone()], []
    while not line[-1].is_terminal() and len(line) <= max_steps:
        legal = line[-1].legal_actions()
        actions.append(int(legal[rng.integers(len(legal))]))
        line.append(line[-1].clone())
        line[-1].apply(actions[-1])
    live = [state for state in line if not state.is_terminal()]
    if offers(kind, HasBatchObservations) and live:
        batched = np.asarray(kind.batch_observations(live))  # type: ignore[attr-defined]
        plain = np.stack([np.asarray(s.observation(s.current_player)) for s in live])
        _require(batched.shape == plain.shape and batched.dtype == plain.dtype
                 and np.array_equal(batched, plain),
                 f"{name}: batch_observations(states) must equal observation(current_player) "
                 f"of each state, stacked (shape {plain.shape}, dtype {plain.dtype}); it gave "
                 f"shape {batched.shape}, dtype {batched.dtype}"
                 + ("" if batched.shape != plain.shape or batched.dtype != plain.dtype
                    else ", other values"))
    if offers(kind, HasRandomPlayout) or offers(kind, HasBatchPlayouts):
        _check_playouts(game, start, line[-1], kind, seed)
    if offers(kind, HasArrayModel):
        _check_array_model(game, line, actions, kind, seed)


def _check_playouts(game: Game, start: State, end: State, kind: type, seed: int) -> None:
    import random

    from gamepit.search.playouts import playout_state

    name = game.name
    plain = np.array([playout_state(start, random.Random(seed + i)) for i in range(PLAYOUTS)])
    ways: dict[str, Callable[[list[State]], np.ndarray]] = {}
    if offers(kind, HasRandomPlayout):
        ways["random_playout"] = lambda states: np.array(
            [s.random_playout(random.Random(seed + 7 + i))  # type: ignore[attr-defined]
             for i, s in enumerate(states)], dtype=float)
    if offers(kind, HasBatchPlayouts):
        ways["batch_random_playouts"] = lambda states: np.asarray(
            kind.batch_random_playouts(states, np.random.default_rng(seed)),  # type: ignore[attr-defined]
            dtype=float)
    for method, play in ways.items():
        over = play([end.clone()])
        _require(over.shape == (1,) and (not end.is_terminal() or over[0] == 0.0),
                 f"{name}: {method} must give one value per state, 0.0 for a finished game")
        fast = play([start.clone() for _ in range(PLAYOUTS)])
        _require(fast.shape == (PLAYOUTS,) and np.isfinite(fast).all(),
                 f"{name}: {method} must give one finite value per state")
        error = np.sqrt((plain.var() + fast.var()) / PLAYOUTS)
        _require(abs(fast.mean() - plain.mean()) <= 5 * error + 0.05,
                 f"{name}: {method} from the start averages {fast.mean():.3f} over {PLAYOUTS} "
                 f"playouts, plain random play {plain.mean():.3f}: it must play the same "
                 "uniformly random game and value it for the player to move")


def _check_array_model(game: Game, line: list[State], actions: list[int], kind: type,
                       seed: int) -> None:
    """Step the array model along ``line`` (a random game: ``actions`` lead from each of its
    states to the next) beside the states themselves."""
    name = game.name
    model = kind.array_model(1, seed, 64)  # type: ignore[attr-defined]
    described = model.initial([line[0]])
    for step, before in enumerate(line):
        _require(np.array_equal(np.asarray(described.legal[0], dtype=bool),
                                before.legal_mask() & (not before.is_terminal())),
                 f"{name}: the array model's legal moves differ from legal_mask() after "
                 f"{step} moves")
        _require(int(described.to_play[0]) == before.current_player,
                 f"{name}: the array model's player to move is {int(described.to_play[0])} "
                 f"after {step} moves, the state's {before.current_player}")
        if step == len(actions):
            break
        action, after = actions[step], line[step + 1]
        described = model.recurrent(described.handles, np.array([action]))
        reward = after.returns()[0] - before.returns()[0]
        _require(abs(float(described.rewards[0]) - reward) < 1e-6,
                 f"{name}: the array model's reward for action {action} after {step} moves is "
                 f"{float(described.rewards[0])}, apply() gives player 0 {reward}")


def check_agent(agent: Agent, game: Game, games: int = 2, seed: int = 0,
                max_steps: int = 300) -> None:
    """Check that an agent resets, acts legally from every seat, returns a JSON-friendly info
    dict, and that ``act_batch`` on the positions it met gives the moves ``act`` gave after the
    same reset (tournaments play batched agents through ``act_batch``)."""
    label = f"agent {getattr(agent, 'spec', '') or type(agent).__name__}"
    missing = [f"{label}: implement {attribute}() (see gamepit.protocols.Agent)"
               for attribute in ("reset", "act") if not callable(getattr(agent, attribute, None))]
    if missing:
        raise ConformanceError("\n".join(missing))
    with _calling(label, "playing"):
        _check_agent_games(agent, game, games, seed, max_steps, label)


def _check_agent_games(agent: Agent, game: Game, games: int, seed: int, max_steps: int,
                       label: str) -> None:
    for index in range(games):
        state = game.new_state(seed + index)
        seat = index % game.num_players
        agent.reset(game, seat, seed + index)
        rng = np.random.default_rng(seed + index)
        met, acted = [], []
        for _ in range(max_steps):
            if state.is_terminal():
                break
            if state.current_player == seat:
                met.append(state.clone())
                action, info = split_act_result(agent.act(state.clone()))
                acted.append(action)
                _require(bool(state.legal_mask()[action]) if 0 <= action < game.num_actions
                         else False, f"{label}: returned illegal action {action}")
                _require(isinstance(info, dict), f"{label}: info must be a dict")
                try:
                    json.dumps(to_json(info))
                except (TypeError, ValueError) as error:
                    raise ConformanceError(
                        f"{label}: info dict must be JSON-friendly: {error}") from None
            else:
                legal = state.legal_actions()
                action = int(legal[rng.integers(len(legal))])
            state.apply(action)
        if met and callable(getattr(agent, "act_batch", None)):
            _check_batch(agent, game, seat, seed + index, met, label)


def _check_batch(agent: Agent, game: Game, seat: int, seed: int, met: list, label: str) -> None:
    """Each position alone, after the same reset, through ``act`` and through ``act_batch``:
    the same move. Then all of them in one ``act_batch`` call: one legal move each. (Agents
    that share a random stream across a batch, as rollouts do, cannot promise more.)"""
    for position in met:
        agent.reset(game, seat, seed)
        alone = split_act_result(agent.act(position.clone()))[0]
        agent.reset(game, seat, seed)
        batched = [split_act_result(r)[0] for r in agent.act_batch([position.clone()])]
        _require(batched == [alone],
                 f"{label}: act_batch gave {batched} where act gave [{alone}] on the same "
                 "position after the same reset; act_batch must act as act does on each")
    agent.reset(game, seat, seed)
    moves = [split_act_result(r)[0] for r in agent.act_batch([p.clone() for p in met])]
    _require(len(moves) == len(met) and all(p.legal_mask()[m] for p, m in zip(met, moves,
                                                                                strict=True)),
             f"{label}: act_batch must return one legal action per position")
