"""The learner toolkit: what every learner shares, one copy of each, as functions a learner
calls from top to bottom (no base class to inherit): starting a run (``start_run``: the game,
the device, the run folder, seeding with one explicit numpy Generator, the checkpoint to
continue from), the training environments, episode statistics and metrics, atomic checkpoints
and resuming from them (``save``, ``resume``), evaluation through the engine (``evaluate``),
and the agent that plays a checkpoint with an up-front fit check (``checkpoint_agent``).

Checkpoints are plain ``torch.save`` dictionaries of tensors, numbers and strings (random
states included, the numpy Generator's as a JSON string), loaded with ``weights_only=True``: no
code is ever unpickled. They carry a sha256 ``digest`` of everything else in them (each tensor's
name, dtype, shape and bytes, each value's name and text, in a fixed order), written at save and
checked at load, so a damaged file is one line, not a network that plays with flipped bits. They
are written to a temporary file in the same folder and renamed, so a run killed mid-write keeps
its previous checkpoint. Everything that reads a checkpoint goes through ``load_checkpoint``,
``load_state`` and ``checkpoint_contents`` here: a misfit is one ``GamepitError`` line.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from gamepit.arena import MatchSettings, play_lockstep, play_series
from gamepit.backends import Pool, backend_problem, open_pool
from gamepit.backends.isolate import alive
from gamepit.errors import GamepitError
from gamepit.faces import StateGymEnv
from gamepit.files import atomic_write
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import ActResult, Agent, Game, State
from gamepit.search.gumbel import KINDS
from gamepit.training.settings import THREADS_MAX, as_plain_dict, setting

CHECKPOINT = "checkpoint.pt"
DIGEST = "digest"  # the checkpoint entry holding the sha256 of all the others
EVAL_SEED_OFFSET = 10_000  # evaluation seeds stay clear of the training environments' seeds


# --------------------------------------------------------------------------- starting a run


def select_device(name: str) -> torch.device:
    """``auto`` is CUDA when there is a GPU, else the CPU; asking for a missing GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GamepitError("--device cuda: no CUDA GPU is available here (use auto or cpu)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise GamepitError(f"--device {name}: expected auto, cpu or cuda")
    return torch.device(name)


def adam(parameters: Any, learning_rate: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over all parameters): on CPU its step is about 7x
    faster than the default per-tensor loop, which matters for the Nature CNN."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, eps=eps, fused=True)
    except (RuntimeError, TypeError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(parameters, lr=learning_rate, eps=eps)


class Reporter:
    """Sends metrics and checkpoint events through the hooks (TensorBoard, progress display
    and the run's ``metrics.jsonl`` are plugins on them) and times steps per second."""

    def __init__(self, run_dir: Path, manager: PluginManager | None, total_steps: int,
                 start_step: int = 0) -> None:
        self.run = str(run_dir)
        self.manager = manager or get_manager()
        self.total_steps = total_steps
        self.clock, self.clock_step = time.perf_counter(), start_step

    def metrics(self, step: int, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        if step > self.clock_step and now > self.clock:
            metrics = {**metrics, "speed/steps_per_second":
                       (step - self.clock_step) / (now - self.clock)}
            self.clock, self.clock_step = now, step
        metrics = {**metrics, "progress/total_steps": float(self.total_steps)}
        self.manager.notify("gamepit_train_metrics", run=self.run, step=step, metrics=metrics)

    def checkpoint(self, path: Path, step: int) -> None:
        self.manager.notify("gamepit_checkpoint_saved", run=self.run, path=str(path), step=step)


@dataclass
class Run:
    """One training run as ``start_run`` sets it up. Every numpy draw of the learner comes from
    ``rng`` (torch draws from its own generator, seeded alongside); both are checkpointed."""

    algorithm: str
    game: Game
    device: torch.device
    folder: Path
    seed: int
    rng: np.random.Generator
    manager: PluginManager
    reporter: Reporter
    resumed: dict[str, Any] | None  # the checkpoint this run continues, None when fresh

    @property
    def checkpoint(self) -> Path:
        return self.folder / CHECKPOINT

    @property
    def step(self) -> int:
        """The step the run starts from: 0, or where its checkpoint left off."""
        return int(self.resumed["step"]) if self.resumed is not None else 0


def start_run(algorithm: str, args: Any, manager: PluginManager | None = None,
              total_steps: int = 0) -> Run:
    """Set up a run from a learner's arguments (it reads ``game``, ``seed``, ``device``,
    ``threads``, ``run_dir`` and ``resume``): seed torch and a fresh numpy Generator, pick the
    device, build the game, and find the run folder's checkpoint when the run continues."""
    manager = manager or get_manager()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = select_device(args.device)
    game = manager.registry.make_game(args.game)
    folder = Path(args.run_dir) if args.run_dir else default_run_dir(algorithm, game)
    folder.mkdir(parents=True, exist_ok=True)
    refuse_links(folder)
    remove_stale_partials(folder)
    resumed = None
    if args.resume and (folder / CHECKPOINT).is_file():
        resumed = load_checkpoint(folder / CHECKPOINT)
        if resumed.get("algorithm") != algorithm:
            raise GamepitError(f"{folder / CHECKPOINT} was written by "
                               f"{resumed.get('algorithm')!r}, not {algorithm!r}; use another "
                               "--run folder")
        with checkpoint_contents(folder / CHECKPOINT):
            print(f"resuming {folder} from step {int(resumed['step'])}", flush=True)
    start = int(resumed["step"]) if resumed is not None else 0
    return Run(algorithm, game, device, folder, args.seed, np.random.default_rng(args.seed),
               manager, Reporter(folder, manager, total_steps, start), resumed)


def default_run_dir(algorithm: str, game: Game) -> Path:
    """A new folder under runs/ named by the algorithm, game and time, made here: two runs
    started in the same second get two folders (the second one's name ends in -2)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (game.spec or game.name))
    base = Path("runs") / f"{algorithm}_{safe}_{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    for number in range(1, 10_000):
        folder = base if number == 1 else base.with_name(f"{base.name}-{number}")
        try:
            folder.mkdir()  # atomic: whoever makes it owns it
            return folder
        except FileExistsError:
            continue
    raise GamepitError(f"cannot make a new run folder beside {base}; give --run")


def refuse_links(folder: Path) -> None:
    """A run folder is written through its own files only: a symbolic link inside it (a
    ``metrics.jsonl`` or ``replays/`` pointing elsewhere) would have a run write a file it does
    not own, so it is one line (the viewer refuses the same links)."""
    for entry in folder.iterdir():
        if entry.is_symlink():
            raise GamepitError(f"run folder {folder} holds a symbolic link, {entry.name}; a run "
                               "writes only its own files: remove the link or give another --run")


def remove_stale_partials(folder: Path) -> None:
    """Remove the half-written files (``.NAME.PID.partial.EXT``, from ``files.atomic_write``)
    that a run killed mid-write left, where their writer is no longer alive."""
    for partial in folder.glob(".*.partial*"):
        found = re.fullmatch(r"\.(.+)\.(\d+)\.partial(\.[^.]*)?", partial.name)
        if found and not alive(int(found.group(2))) and partial.is_file():
            partial.unlink(missing_ok=True)


def run_meta(run: Run, args: Any, observation_shape: Sequence[int], num_actions: int
             ) -> dict[str, Any]:
    """What a checkpoint records besides weights: the algorithm, its settings (plain values),
    the game, and the shapes its network was built for (``TrainedOn`` reads them back)."""
    return {"algorithm": run.algorithm, "args": as_plain_dict(args),
            "game": run.game.spec or run.game.name,
            "observation_shape": [int(x) for x in observation_shape],
            "num_actions": int(num_actions)}


# --------------------------------------------------------------------------- environments


def make_vector_env(game: Game, num_envs: int, seed: int) -> Any:
    """Training environments for a one-player game, auto-resetting in the same step (the
    final observation of an episode is in ``info["final_obs"]``).

    A game with a vector face (Atari's ``AtariVectorEnv``) provides its own; otherwise its
    Gymnasium environments (or its simulator state) are stepped in lock-step."""
    if game.num_players != 1:
        raise GamepitError(f"{game.spec or game.name} has {game.num_players} players; this "
                           "learner trains on one-player games (PPO has self-play for two)")
    if game.capabilities.vector:
        try:
            env = game.vector_env(num_envs, seed=seed, autoreset_mode="SameStep",
                                  reward_clipping=False)
        except TypeError:
            env = game.vector_env(num_envs, seed=seed)
        mode = str(getattr(env, "metadata", {}).get("autoreset_mode", "SameStep"))
        if "same" not in mode.lower():
            raise GamepitError(f"{game.name}: its vector face must support "
                               "autoreset_mode='SameStep' for training")
        return env
    if game.capabilities.gymnasium:
        factory: Callable[[], gym.Env] = game.gym_env
    elif game.capabilities.state:
        def factory() -> gym.Env:
            return StateGymEnv(game)
    else:
        raise GamepitError(f"{game.name} offers neither a vector, Gymnasium nor state face")
    return gym.vector.SyncVectorEnv([factory for _ in range(num_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def final_observations(next_obs: np.ndarray, done: np.ndarray, info: dict) -> np.ndarray:
    """The true next observations: where an episode ended, its last observation rather than
    the first one of the next episode (which SAME_STEP autoreset returned)."""
    if not done.any():
        return next_obs
    real = next_obs.copy()
    finals = info["final_obs"]
    for index in np.flatnonzero(done):
        real[index] = np.asarray(finals[index])
    return real


class EpisodeStats:
    """Undiscounted returns and lengths of the episodes that finish in a batch of envs."""

    def __init__(self, num_envs: int) -> None:
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.finished_returns: list[float] = []
        self.finished_lengths: list[int] = []

    def update(self, rewards: np.ndarray, done: np.ndarray) -> None:
        self.returns += rewards
        self.lengths += 1
        for index in np.flatnonzero(done):
            self.finished_returns.append(float(self.returns[index]))
            self.finished_lengths.append(int(self.lengths[index]))
        self.returns[done] = 0.0
        self.lengths[done] = 0

    def drain(self) -> dict[str, float]:
        """Mean return and length of the episodes finished since the last call."""
        if not self.finished_returns:
            return {}
        metrics = {"episode/return": float(np.mean(self.finished_returns)),
                   "episode/length": float(np.mean(self.finished_lengths)),
                   "episode/count": float(len(self.finished_returns))}
        self.finished_returns.clear()
        self.finished_lengths.clear()
        return metrics


# --------------------------------------------------------------------------- checkpoints


def random_states(run: Run) -> dict[str, Any]:
    """The run's random generators as tensors and strings (weights-only safe)."""
    states: dict[str, Any] = {"torch": torch.get_rng_state(),
                              "numpy": json.dumps(run.rng.bit_generator.state)}
    if run.device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(run: Run, states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    numpy_state = json.loads(states["numpy"])
    if isinstance(numpy_state, dict):  # else the global-RNG list of older checkpoints: reseeded
        run.rng.bit_generator.state = numpy_state
    if run.device.type == "cuda" and len(states.get("cuda", ())) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


def one_line(error: BaseException, limit: int = 100) -> str:
    """An exception as one short line, cut at a word, never an IndexError of its own."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return text


def digest(payload: Mapping[str, Any]) -> str:
    """sha256 over a checkpoint's entries (the digest entry itself left out), in sorted key
    order: each tensor's name, dtype, shape and bytes; each other value's name, type and text."""
    hasher = hashlib.sha256()

    def walk(name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            hasher.update(f"{name}|tensor|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            hasher.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, Mapping):
            hasher.update(f"{name}|mapping|{len(value)}|".encode())
            for key in sorted(value, key=str):
                walk(f"{name}/{key}", value[key])
        elif isinstance(value, (list, tuple)):
            hasher.update(f"{name}|{type(value).__name__}|{len(value)}|".encode())
            for index, item in enumerate(value):
                walk(f"{name}/{index}", item)
        else:
            hasher.update(f"{name}|{type(value).__name__}|{value!r}|".encode())

    walk("", {key: value for key, value in payload.items() if key != DIGEST})
    return hasher.hexdigest()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> Path:
    """Write with its digest, atomically (``gamepit.files.atomic_write``): a crash keeps the
    previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as partial:
        torch.save({**payload, DIGEST: digest(payload)}, partial)
    return path


# What zipfile raises for a damaged archive: a flipped bit in a header can also name a zip
# version it cannot read (NotImplementedError) or end a record early (EOFError).
ZIP_DAMAGE = (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError)


def plain_archive(path: str | Path) -> None:
    """Raise ValueError unless ``path`` is a zip as ``torch.save`` and ``np.savez`` write it:
    every member stored, not compressed, and no more data declared than the file holds. So a
    file of a few megabytes can never expand to gigabytes (a zip bomb) before it is refused."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"its member {member.filename!r} is compressed, which gamepit "
                             "never writes")
    declared = sum(member.file_size for member in members)
    if declared > path.stat().st_size:
        raise ValueError(f"it declares {declared:,} bytes of data in a file of "
                         f"{path.stat().st_size:,}")


def same_lengths(arrays: Mapping[str, Any], names: Sequence[str]) -> int:
    """The common length of ``arrays[name]`` for ``names``; ValueError if they differ."""
    lengths = {name: len(arrays[name]) for name in names}
    if len(set(lengths.values())) > 1:
        raise ValueError("its arrays have different lengths: " + ", ".join(
            f"{name} {length}" for name, length in lengths.items()))
    return next(iter(lengths.values()), 0)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Load a checkpoint with weights only and check its digest; a missing, empty, damaged or
    foreign file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise GamepitError(f"{path}: no such checkpoint")
    if path.stat().st_size == 0:
        raise GamepitError(f"checkpoint {path} is damaged: the file is empty")
    try:
        is_zip = zipfile.is_zipfile(path)  # a damaged directory can raise instead of saying no
    except ZIP_DAMAGE as error:
        raise GamepitError(f"checkpoint {path} is damaged ({one_line(error)})") from None
    if not is_zip:
        raise GamepitError(f"{path} is not a gamepit checkpoint (not a file torch.save wrote)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except ZIP_DAMAGE as error:
        raise GamepitError(f"checkpoint {path} is damaged ({one_line(error)})") from None
    if any(name.endswith("/constants.pkl") or "/code/" in name for name in names):
        raise GamepitError(f"{path} is a TorchScript file, not a gamepit checkpoint (gamepit "
                           "loads weights, never code)")
    try:
        plain_archive(path)
    except ZIP_DAMAGE as error:
        raise GamepitError(f"checkpoint {path} is damaged or not a gamepit checkpoint "
                           f"({one_line(error)})") from None
    try:
        with warnings.catch_warnings():  # torch's own advice is about loading code: not ours
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise GamepitError(f"{path} is not a gamepit checkpoint: it holds objects other than "
                           "tensors, numbers and strings, and gamepit never unpickles code"
                           ) from None
    except Exception as error:
        raise GamepitError(f"checkpoint {path} is damaged or not a gamepit checkpoint "
                           f"({type(error).__name__}: {one_line(error)})") from None
    if not isinstance(data, dict):
        raise GamepitError(f"{path} is not a gamepit checkpoint (it holds a "
                           f"{type(data).__name__}, not a dictionary)")
    if DIGEST not in data:
        raise GamepitError(f"checkpoint {path} has no checksum: not written by gamepit, or by "
                           "a version before checkpoints carried one; train it again")
    if data[DIGEST] != digest(data):
        raise GamepitError(f"checkpoint {path} is damaged: checksum mismatch")
    return data


@contextmanager
def checkpoint_contents(path: str | Path) -> Iterator[None]:
    """Read entries of a loaded checkpoint inside this block: a missing entry or a value of the
    wrong kind is one line naming the file (a checkpoint's digest proves it undamaged, not that
    this version of gamepit wrote it)."""
    try:
        yield
    except GamepitError:
        raise
    except KeyError as error:
        raise GamepitError(f"checkpoint {path} lacks the entry {one_line(error)}; it was not "
                           "written by this version of gamepit") from None
    except (TypeError, ValueError, AttributeError, IndexError, RuntimeError) as error:
        raise GamepitError(f"checkpoint {path} does not fit: {one_line(error)}") from None


def load_state(part: Any, state: Any, what: str) -> None:
    """Load a state dict into a network or an optimizer; missing or extra weights, a wrong
    shape or an optimizer of another size are one line naming ``what``."""
    if not isinstance(state, Mapping):
        raise GamepitError(f"{what} is not a state dictionary")
    if isinstance(part, torch.nn.Module):
        own = part.state_dict()
        missing = [key for key in own if key not in state]
        extra = [key for key in state if key not in own]
        if missing or extra:
            names = ", ".join(missing[:3] or extra[:3])
            raise GamepitError(f"{what} does not fit the network: "
                               f"{'missing' if missing else 'unexpected'} weights {names}")
        for key, tensor in own.items():
            given = state[key]
            if not isinstance(given, torch.Tensor) or given.shape != tensor.shape:
                shape = tuple(given.shape) if isinstance(given, torch.Tensor) else type(given)
                raise GamepitError(f"{what} does not fit the network: {key} has shape "
                                   f"{shape}, the network {tuple(tensor.shape)}")
    try:
        part.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        raise GamepitError(f"{what} does not fit: {one_line(error)}") from None


def save(run: Run, step: int, payload: Mapping[str, Any]) -> Path:
    """Checkpoint the run at ``step``: ``payload``'s networks and optimizers as their state
    dicts, everything else as it is, with the random states; observers hear of it."""
    plain = {key: value.state_dict() if hasattr(value, "state_dict") else value
             for key, value in payload.items()}
    path = save_checkpoint(run.checkpoint, {**plain, "step": step,
                                            "rng": random_states(run)})
    run.reporter.checkpoint(path, step)
    return path


def resume(run: Run, parts: Mapping[str, Any]) -> int:
    """Continue a resumed run: load each network or optimizer in ``parts`` from the checkpoint
    entry of the same name and restore the random states (call it after building them, which
    draws from torch's generator). Returns the step to continue from (0 for a fresh run).
    An optimizer gets its moments from the checkpoint but keeps the step size, weight decay and
    the rest it was built with, so a resumed run with ``--set learning_rate=...`` uses it."""
    if run.resumed is None:
        return 0
    with checkpoint_contents(run.checkpoint):
        for key, part in parts.items():
            settings = [{name: value for name, value in group.items() if name != "params"}
                        for group in getattr(part, "param_groups", ())]
            load_state(part, run.resumed[key], f"checkpoint {run.checkpoint}: {key}")
            for group, setting_values in zip(getattr(part, "param_groups", ()), settings,
                                             strict=True):
                group.update(setting_values)
        restore_random_states(run, run.resumed["rng"])
        return run.step


TRUNK = "torso."  # the shared trunk's weights in a checkpoint's network: dqn, ppo, actor_mimic
SHIPPED_STUDENTS = Path(__file__).resolve().parent / "actor_mimic" / "checkpoints"  # builtin:NAME


def load_trunk(torso: torch.nn.Module, checkpoint: str | Path, game: Game | None = None) -> None:
    """Start ``torso`` from the trunk of a trained network (``--init CHECKPOINT``): the
    ``torso.*`` weights of its ``network`` entry (an actor_mimic student's shared trunk, or a
    dqn or ppo network's torso); heads stay fresh. Where the new game has fewer input planes
    than the trunk was trained on (an actor_mimic student reads every game's planes padded with
    zeros to the widest), its first convolution keeps the weights of the first planes. A trunk
    that reads object kinds (actor_mimic ``kinds=true``) gives each of ``game``'s planes the
    weights of its kind (``game.plane_kinds``), so the new network computes what the trunk
    computed on those planes; a kind the trunk never saw keeps its fresh weights.
    ``builtin:NAME`` is a student shipped with gamepit (``builtin:minatar``). Anything else that
    does not fit is one line."""
    checkpoint = resolve_checkpoint(str(checkpoint), "actor_mimic", SHIPPED_STUDENTS)
    data = load_checkpoint(checkpoint)
    weights = data.get("network")
    trunk = {key[len(TRUNK):]: value for key, value in weights.items()
             if isinstance(key, str) and key.startswith(TRUNK)} \
        if isinstance(weights, Mapping) else {}
    if not trunk:
        raise GamepitError(f"init: {checkpoint} ({data.get('algorithm')!r}) has no trunk "
                           "(no torso weights) to start from")
    vocabulary = [str(kind) for kind in data.get("object_kinds") or []]
    fresh = torso.state_dict()
    for key, tensor in fresh.items():
        given = trunk.get(key)
        if not (isinstance(given, torch.Tensor) and given.dim() == 4 == tensor.dim()
                and given.shape[0] == tensor.shape[0] and given.shape[2:] == tensor.shape[2:]):
            continue
        if vocabulary:  # the first convolution: one weight per kind, not per plane
            trunk[key] = kind_weights(given, tensor, vocabulary, game, checkpoint)
            break
        if given.shape[1] > tensor.shape[1]:
            trunk[key] = given[:, :tensor.shape[1]].clone()
    load_state(torso, trunk, f"init: the trunk of {checkpoint}")


def kind_weights(given: torch.Tensor, fresh: torch.Tensor, vocabulary: list[str],
                 game: Game | None, checkpoint: Path) -> torch.Tensor:
    """A first convolution over ``game``'s planes from one over object kinds."""
    planes = list(getattr(game, "plane_kinds", None) or [])
    named = (game.spec or game.name) if game is not None else "the game"
    if len(planes) != fresh.shape[1]:
        raise GamepitError(f"init: the trunk of {checkpoint} reads object kinds "
                           f"({', '.join(vocabulary)}); {named} names none for its planes")
    weights = fresh.clone()
    for plane, kind in enumerate(planes):
        if kind in vocabulary:
            weights[:, plane] = given[:, vocabulary.index(kind)]
    return weights


# --------------------------------------------------------------------------- playing


@dataclass(frozen=True)
class TrainedOn:
    """What a network was trained on, as its checkpoint records it. The network fits any game
    with the same observation shape and number of actions (a checkpoint of one-player Pong
    plays a seat of two-player Pong); the game's name only makes a mismatch clear."""

    label: str  # what the user named, e.g. "dqn checkpoint runs/cartpole/checkpoint.pt"
    game: str
    observation_shape: tuple[int, ...]
    num_actions: int

    @classmethod
    def from_meta(cls, label: str, meta: Mapping[str, Any]) -> TrainedOn:
        return cls(label, str(meta.get("game", "another game")),
                   tuple(int(x) for x in meta["observation_shape"]), int(meta["num_actions"]))

    def check_fit(self, game: Game) -> None:
        shape = tuple(int(x) for x in getattr(game, "observation_shape", None) or ())
        if (shape, int(game.num_actions)) != (self.observation_shape, self.num_actions):
            trained = f"observation {self.observation_shape}, {self.num_actions} actions"
            offered = f"observation {shape}, {game.num_actions} actions"
            raise GamepitError(f"{self.label} was trained on {self.game} ({trained}), not "
                               f"{game.spec or game.name} ({offered})")


class NetworkAgent(Agent):
    """Plays from a learner's network: greedily (or by sampling) over legal actions, observing
    ``state.observation(player)``. Acts in batches through one forward pass."""

    batched = True

    def __init__(self, network: torch.nn.Module, policy: Callable[[Any], tuple[Any, Any]],
                 trained_on: TrainedOn, device: torch.device | str = "cpu",
                 sample: bool = False) -> None:
        self.network = network
        self.policy = policy  # network output -> (scores over actions, value or None)
        self.trained_on = trained_on
        self.device = torch.device(device)
        self.sample = sample

    def check_fit(self, game: Game) -> None:
        self.trained_on.check_fit(game)

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.check_fit(game)  # a misfit forfeits with this line, not a torch shape error
        super().reset(game, player, seed)
        self.seed = int(seed) if seed is not None else int(self.rng.integers(2**63))

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    @torch.no_grad()
    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        """Greedy, or sampled (``sample``) from a stream keyed by each game's seed and position,
        so a game plays the same whatever other games share the batch."""
        player = getattr(self, "player", 0)
        observations = np.stack([np.asarray(s.observation(
            s.current_player if s.current_player >= 0 else player)) for s in states])
        masks = torch.as_tensor(np.stack([s.legal_mask() for s in states]), device=self.device)
        scores, values = self.policy(self.network(torch.as_tensor(observations,
                                                                   device=self.device)))
        scores = scores.masked_fill(~masks, -1e9)
        if self.sample:
            from gamepit.search.mcts import position_key
            probabilities = torch.softmax(scores, dim=1).cpu().numpy().astype(np.float64)
            game_seeds = seeds or [getattr(self, "seed", 0)] * len(states)
            actions = [int(np.random.default_rng(position_key(int(seed), state)).choice(
                len(p), p=p / p.sum())) for p, seed, state in zip(probabilities, game_seeds,
                                                                  states, strict=True)]
        else:
            actions = scores.argmax(dim=1).tolist()
        results: list[ActResult] = []
        for index, action in enumerate(actions):
            info: dict[str, Any] = {}
            if values is not None:
                info["value"] = round(float(values[index]), 4)
            results.append((int(action), info))
        return results


def resolve_checkpoint(checkpoint: str, algorithm: str, builtin_dir: Path) -> Path:
    """``builtin:NAME`` is a checkpoint shipped with gamepit in ``builtin_dir``; anything else
    is a path."""
    if not checkpoint.startswith("builtin:"):
        return Path(checkpoint)
    name = checkpoint.split(":", 1)[1]
    path = builtin_dir / f"{name}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in builtin_dir.glob("*.pt"))
        raise GamepitError(f"no built-in {algorithm} checkpoint {name!r}; shipped: "
                           f"{', '.join(known) or 'none'}")
    return path


def cpu_weights(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of a network's weights, for a checkpoint that must not alias live tensors."""
    return {key: value.detach().cpu().clone() for key, value in network.state_dict().items()}


def numpy_weights(network: torch.nn.Module) -> dict[str, np.ndarray]:
    """A network's weights as CPU numpy copies: what self-play and labelling workers receive
    (one published object a version; never a CUDA tensor through a pipe or Ray)."""
    return {key: value.detach().cpu().clone().numpy()
            for key, value in network.state_dict().items()}


def load_numpy_weights(network: torch.nn.Module, weights: Mapping[str, np.ndarray]) -> None:
    """Load ``numpy_weights`` into a network (copies: Ray hands read-only arrays)."""
    network.load_state_dict({key: torch.as_tensor(np.array(value))
                             for key, value in weights.items()})


def worker_game(args: Any, manager: PluginManager | None) -> Game:
    """What a learner's worker on the executor seam starts from, given the learner's merged
    settings (plain values, so they cross to worker processes and Ray as they are): torch's
    CPU threads set, and its game."""
    torch.set_num_threads(args.threads)
    return (manager or get_manager()).registry.make_game(args.game)


class WorkerNetwork:
    """A worker's copy of the driver's network, loaded from a published ``numpy_weights``
    snapshot only when its version changes."""

    def __init__(self, network: torch.nn.Module, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.version = -1

    def at(self, weights: Mapping[str, np.ndarray], version: int) -> torch.nn.Module:
        if version != self.version:
            load_numpy_weights(self.network, weights)
            self.version = version
        return self.network


def open_workers(args: Any, factory: type, here: Sequence[Any], elsewhere: Sequence[Any]
                 ) -> Pool:
    """A learner's executor from its ``backend``, ``workers`` and ``ray_address`` settings.
    Workers in this process are built from ``here`` (live objects such as the manager may be
    in it), the others from ``elsewhere`` (plain values only: spec strings, the settings
    dataclass, shapes)."""
    local = args.backend == "inprocess" or args.workers == 0
    return open_pool(args.backend, args.workers, factory, here if local else elsewhere,
                     args.ray_address or None)


def load_trained(algorithm: str, checkpoint: str | Path) -> dict[str, Any]:
    """A checkpoint that ``algorithm`` wrote; anything else is a one-line error."""
    if not str(checkpoint):
        raise GamepitError(f"name a checkpoint: {algorithm}:checkpoint=RUN/{CHECKPOINT}")
    data = load_checkpoint(checkpoint)
    if data.get("algorithm") != algorithm:
        raise GamepitError(f"{checkpoint} is a {data.get('algorithm')!r} checkpoint, not "
                           f"{algorithm}")
    return data


def checkpoint_agent(algorithm: str, checkpoint: str, build_network: Callable[[dict], Any],
                     policy: Callable[[Any], tuple[Any, Any]], device: str = "cpu",
                     sample: bool = False, builtin_dir: Path | None = None) -> NetworkAgent:
    """The agent that plays a checkpoint (``builtin:NAME``: one shipped in ``builtin_dir``):
    the network its metadata describes, with the weights under ``network``, and what it was
    trained on for the fit check."""
    if builtin_dir is not None and checkpoint:
        checkpoint = str(resolve_checkpoint(checkpoint, algorithm, builtin_dir))
    meta = load_trained(algorithm, checkpoint)
    with checkpoint_contents(checkpoint):
        network = build_network(meta)
        load_state(network, meta["network"], f"checkpoint {checkpoint}: network")
        trained_on = TrainedOn.from_meta(f"{algorithm} checkpoint {checkpoint}", meta)
    target = select_device(device)
    return NetworkAgent(network.to(target).eval(), policy, trained_on, target, sample)


def evaluates_at(args: Any, iteration: int) -> bool:
    """Whether an iteration-based learner (``eval_games``, ``eval_every``) evaluates after
    ``iteration``."""
    return bool(args.eval_games and args.eval_every and iteration % args.eval_every == 0)


def after_iteration(run: Run, args: Any, iteration: int, step: int,
                    metrics: Mapping[str, float], save: Callable[[], None],
                    evaluate: Callable[[], None]) -> None:
    """The end of an iteration of an iteration-based learner (AlphaZero, MuZero): report the
    metrics at ``step``, save every ``checkpoint_every`` iterations and after the last, and
    evaluate every ``eval_every``."""
    run.reporter.metrics(step, dict(metrics))
    if iteration % args.checkpoint_every == 0 or iteration == args.iterations:
        save()
    if evaluates_at(args, iteration):
        evaluate()


def after_iterations(args: Any, iteration: int, checkpoint: Path, save: Callable[[], None],
                     evaluate: Callable[[], None]) -> None:
    """After the loop: save if no ``checkpoint`` was written (a run resumed with nothing left
    to do), and the final evaluation unless the last iteration has just had one."""
    if not checkpoint.is_file():
        save()
    if args.eval_games and not evaluates_at(args, iteration):
        evaluate()


def evaluate(run: Run, agent: Agent, spec: str, episodes: int, step: int,
             opponent: str = "random", max_steps: int = 0, prefix: str = "eval"
             ) -> dict[str, float]:
    """Evaluation games through the engine, recorded as replays in RUN/replays, reported as
    metrics at ``step`` and printed in one line. A one-player game: the mean score over seeds
    ``seed+10000`` onwards, the episodes played side by side (a batched agent answers all in
    one pass), each cut after ``max_steps`` actions (0: no cap but the game's own) and the cut
    ones counted and said; a two-player game: the score against ``opponent`` with seats
    alternating (``play_series``). ``spec`` names the agent in the replays; ``prefix`` starts
    the metric names (a learner of several games evaluates each under its own)."""
    game, seed, replays = run.game, run.seed + EVAL_SEED_OFFSET, str(run.folder / "replays")
    if episodes < 1 or not game.capabilities.state:  # the engine plays a simulator state
        return {}
    started = time.perf_counter()
    heading = "evaluation" if prefix == "eval" else prefix
    if game.num_players == 1:
        cap = max_steps if max_steps > 0 else None
        settings = MatchSettings(replay_dir=replays, manager=run.manager, max_steps=cap)
        results = play_lockstep(game, [[agent] for _ in range(episodes)],
                                [seed + i for i in range(episodes)],
                                [[spec] for _ in range(episodes)], settings)
        scores = [result.returns[0] for result in results]
        cut = sum(1 for result in results if cap is not None and result.steps >= cap)
        metrics = {f"{prefix}/return": float(np.mean(scores)),
                   f"{prefix}/return_std": float(np.std(scores)),
                   f"{prefix}/cut_episodes": float(cut)}
        said = (f"{heading}: mean return {np.mean(scores):.1f} (std {np.std(scores):.1f}) over "
                f"{episodes} episodes, seeds {seed}..{seed + episodes - 1}")
        if cut:
            said += (f"; {cut} cut at eval_max_steps={cap} actions (their returns so far count; "
                     "an Atari agent that never presses FIRE plays until the cap)")
    else:
        other = run.manager.registry.make_agent(opponent, game)
        try:
            series = play_series(game, [agent, other], episodes, seed, [spec, opponent],
                                 MatchSettings(replay_dir=replays, manager=run.manager))
        finally:
            other.close()
        metrics = {f"{prefix}/score_vs_{opponent}": series.score()[0],
                   f"{prefix}/wins": float(series.wins), f"{prefix}/draws": float(series.draws),
                   f"{prefix}/losses": float(series.losses)}
        said = (f"{heading} against {opponent}: score {series.score()[0]:.3f} "
                f"(+{series.wins} ={series.draws} -{series.losses}) over {episodes} games")
    metrics[f"{prefix}/seconds"] = time.perf_counter() - started
    run.reporter.metrics(step, metrics)
    print(said, flush=True)
    return metrics


# --------------------------------------------------------------------------- search learners
# What AlphaZero and MuZero share: the settings after their own, resuming with a replay buffer,
# and the small checkpoint an agent plays from.

BUFFER = "replay_buffer.npz"  # a search learner's replay buffer, beside its checkpoint


@dataclass
class SelfPlayArgs:
    """The settings AlphaZero and MuZero share after their own (``--settings`` lists a
    learner's own first): evaluation, the device, where self-play runs, the run folder. A
    learner's arguments inherit them and declare ``search``, ``buffer_size`` and
    ``min_buffer``, which ``validate`` checks."""

    eval_every: int = setting(0, low=0)
    """iterations between evaluations (0: only at the end)"""
    eval_games: int = setting(0, low=0, high=100_000)
    """games (episodes on one-player games) per evaluation, recorded as replays (0: none)"""
    eval_opponent: str = setting("random", spec="agent")
    """agent spec two-player evaluations play against, e.g. alphabeta:depth=4 or mcts:sims=200"""
    eval_sims: int = setting(50, low=1, high=1_000_000)
    """search simulations per move of the trained agent in evaluations"""
    eval_search: str = ""
    """search of the trained agent in evaluations, puct or gumbel ('': the one it trains
    with); agents play with PUCT unless told otherwise"""
    device: str = "auto"
    """auto, cpu or cuda (mixed precision on CUDA where the learner has amp)"""
    threads: int = setting(1, low=1, high=THREADS_MAX)
    """torch CPU threads (small networks gain little from more, and self-play is Python-bound)"""
    backend: str = "inprocess"
    """where self-play runs: inprocess, processes or ray; this process keeps the replay buffer
    and trains, workers get each new network as one CPU numpy snapshot"""
    workers: int = setting(0, low=0, high=1024)
    """self-play workers, each playing an equal share of selfplay_games (0: one, in this
    process); the same seed and workers give the same games on every backend"""
    ray_address: str = ""
    """with backend ray: the cluster (auto, or HOST:PORT of its head); '' starts a local one"""
    run_dir: str = ""
    """folder of checkpoints, metrics and replays (default runs/ALGORITHM_GAME_TIME)"""
    resume: bool = True
    """continue from RUN/checkpoint.pt when it exists"""
    checkpoint_every: int = setting(5, low=1)
    """iterations between checkpoints"""
    save_buffer: bool = True
    """write the replay buffer next to the checkpoint, so a resumed run keeps its data"""

    def validate(self) -> None:
        if backend_problem(self.backend, self.ray_address):
            raise ValueError(backend_problem(self.backend, self.ray_address))
        if self.min_buffer > self.buffer_size:  # type: ignore[attr-defined]
            raise ValueError("min_buffer cannot exceed buffer_size")
        if self.search not in KINDS:  # type: ignore[attr-defined]
            raise ValueError(f"search must be one of {', '.join(KINDS)}, "
                             f"not {self.search!r}")  # type: ignore[attr-defined]
        if self.eval_search not in ("", *KINDS):
            raise ValueError(f"eval_search must be one of {', '.join(KINDS)} or empty, "
                             f"not {self.eval_search!r}")

    @property
    def evaluation_search(self) -> str:
        """The search the trained agent evaluates with."""
        return self.eval_search or self.search  # type: ignore[attr-defined]


TOP = "top.pt"  # a search learner's evaluated network that scored highest, beside its checkpoint
EVALUATION_SETTINGS = ("eval_games", "eval_opponent", "eval_sims", "evaluation_search",
                       "eval_max_steps")


def keep_top(run: Run, args: SelfPlayArgs, metrics: Mapping[str, float],
             save: Callable[[Path, dict[str, Any]], None]) -> bool:
    """After an evaluation (``metrics`` from ``evaluate``): when its score (two players: the
    score against the opponent; one player: the mean return) beats the one stored in
    ``RUN/top.pt``, ``save(path, facts)`` writes the evaluated network there with ``facts``
    (``eval_score``, ``evaluation``). Stable-Baselines3's EvalCallback keeps its best model the
    same way. The evaluation games start from the same seeds every time, so the scores compare;
    a file from another evaluation (other ``EVALUATION_SETTINGS`` in ``args``) does not count.
    Strength can swing from one iteration to the next, so this is the snapshot to play from;
    its score is the highest of several noisy ones, so measure it again on other seeds.
    Returns whether it wrote the file."""
    score = next((value for key, value in metrics.items()
                  if "/score_vs_" in key or key.endswith("/return")), None)
    if score is None:
        return False
    evaluation = ", ".join(f"{name}={getattr(args, name)}" for name in EVALUATION_SETTINGS
                           if hasattr(args, name))
    top = run.folder / TOP
    previous = -np.inf
    if top.is_file():
        try:
            stored = load_checkpoint(top)
        except GamepitError:  # damaged: this evaluation replaces it
            stored = {}
        if stored.get("evaluation") == evaluation:
            previous = float(stored.get("eval_score", -np.inf))
    if score <= previous:
        return False
    save(top, {"eval_score": float(score), "evaluation": evaluation})
    print(f"  {top}: the highest evaluation so far ({score:.3f})", flush=True)
    return True


def resume_search_run(run: Run, shape: dict[str, Any], parts: Mapping[str, Any], buffer: Any,
                      counters: Mapping[str, float],
                      stored: Callable[[dict[str, Any]], dict[str, Any]] = dict
                      ) -> tuple[int, dict[str, float]]:
    """Continue a resumed AlphaZero or MuZero run: a checkpoint of another network shape
    (``stored`` fills in what older checkpoints left out) is one line; then the networks and
    optimizer in ``parts`` (``resume``), the loop's ``counters`` (their defaults for a fresh
    run), and the replay buffer beside the checkpoint, if there is one. Returns the step and
    the counters, with the same types as their defaults."""
    if run.resumed is None:
        return 0, dict(counters)
    with checkpoint_contents(run.checkpoint):
        theirs = stored(dict(run.resumed["shape"]))
    if theirs != stored(dict(shape)):
        raise GamepitError(f"{run.folder}: its checkpoint has network {theirs}, the settings "
                           f"ask for {shape}; use another --run folder")
    step = resume(run, parts)
    with checkpoint_contents(run.checkpoint):
        values = {key: type(default)(run.resumed.get(key, default))
                  for key, default in counters.items()}
    if (run.folder / BUFFER).is_file():
        buffer.load(run.folder / BUFFER)
    print(f"  at iteration {int(values.get('iteration', 0))}, {len(buffer)} positions in the "
          "replay buffer", flush=True)
    return step, values


def save_agent_network(path: Path, meta: Mapping[str, Any], key: str,
                       network: torch.nn.Module, **facts: Any) -> Path:
    """What an agent needs and nothing more (no optimizer, no buffer), small enough to ship:
    ``meta`` (the algorithm, game, network shape and settings), ``facts`` (the step, the
    training seconds, ...) and the network's weights under ``key``."""
    return save_checkpoint(path, {**meta, **facts, key: cpu_weights(network)})


def load_agent_network(algorithm: str, checkpoint: str, builtin_dir: Path, key: str,
                       build: Callable[[dict[str, Any]], torch.nn.Module],
                       device: torch.device | str = "cpu"
                       ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network stored under ``key`` of a checkpoint that ``algorithm`` wrote (a run's
    ``checkpoint.pt``, an agent checkpoint, or ``builtin:NAME`` in ``builtin_dir``), built by
    ``build`` from the checkpoint's metadata (which may check more of it), in eval mode on
    ``device``; and the metadata. Anything that does not fit is one line."""
    path = resolve_checkpoint(checkpoint, algorithm, builtin_dir)
    data = load_trained(algorithm, path)
    with checkpoint_contents(path):
        network = build(data)
        load_state(network, data[key], f"checkpoint {path}: {key}")
    return network.to(device).eval(), data


def agent_network(algorithm: str, checkpoint: str, example: str, threads: int, device: str,
                  load: Callable[[str, torch.device], tuple[torch.nn.Module, dict[str, Any]]]
                  ) -> tuple[torch.nn.Module, dict[str, Any], torch.device]:
    """What a search learner's ``make_agent`` starts from: torch's CPU threads set (a
    search's forward passes are small, and on a busy machine extra threads spin-wait each
    other), a checkpoint named (``example`` shows one), and its network on the device."""
    if threads > 0:
        torch.set_num_threads(threads)
    if not checkpoint:
        raise GamepitError(f"name a checkpoint: {algorithm}:checkpoint=RUN/{CHECKPOINT} or "
                           f"{algorithm}:checkpoint={example}")
    target = select_device(device)
    network, data = load(checkpoint, target)
    return network, data, target
