"""Plugin discovery, hook calls, and the registry of named games, agents, searches and learners.

Plugins come from three places: the built-ins, installed distributions declaring the
``gamepit`` entry-point group (skipped when ``GAMEPIT_DISABLE_PLUGIN_AUTOLOAD=1``), and files or
folders named with ``--plugins PATH`` or ``GAMEPIT_PLUGINS`` (paths joined by ``os.pathsep``).
Built-ins are registered by module name through the same code as the others.

Hooks are called by pluggy, so its ordering (the last registered first, ``tryfirst`` and
``trylast``) and its wrappers (``wrapper=True``) hold. One addition: every implementation is
guarded when it is registered, so one that raises becomes a ``PluginError`` line and the others
still run. A plugin that fails to import, implements an unknown hook, asks for an option pluggy
would run differently (old-style ``hookwrapper=True``), returns a bad entry or registers a name
twice is one ``PluginError`` line too.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import pluggy

from gamepit.errors import PluginError, SpecError
from gamepit.plugins import hookspecs
from gamepit.plugins.builtin import BUILTIN_PLUGINS
from gamepit.protocols import KINDS, Agent, Game, Option, PluginEntry
from gamepit.specs import bind_options, format_spec, split_spec

ENTRY_POINT_GROUP = "gamepit"
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
REGISTER_HOOKS = {"gamepit_add_games": "game", "gamepit_add_agents": "agent",
                  "gamepit_add_searches": "search", "gamepit_add_learners": "learner"}
# What a built object must have, per kind, to keep its protocol.
_REQUIRED = {
    "game": ("name", "num_players", "num_actions", "new_state"),
    "agent": ("reset", "act"),
    "search": ("search",),
    "learner": ("train",),
}


class PluginManager:
    """Loads plugins and calls hooks, isolating each plugin's failures."""

    def __init__(self, plugin_paths: Iterable[str] = (), autoload: bool | None = None) -> None:
        self.pm = pluggy.PluginManager("gamepit")
        self.pm.add_hookspecs(hookspecs)
        self.errors: list[PluginError] = []
        self.origins: dict[str, str] = {}  # plugin name -> where it came from
        self._registry: Registry | None = None
        self._warned: set[tuple[str, str]] = set()
        for name in BUILTIN_PLUGINS:
            self._register_module(name, origin="builtin")
        if autoload is None:
            autoload = os.environ.get("GAMEPIT_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")
        if autoload:
            self._load_entry_points()
        paths = list(plugin_paths)
        paths += [p for p in os.environ.get("GAMEPIT_PLUGINS", "").split(os.pathsep) if p]
        for path in paths:
            self._load_path(path)

    # ------------------------------------------------------------------ loading

    def register(self, plugin: object, name: str | None = None, origin: str = "code") -> None:
        """Register a plugin object (module, class instance) directly."""
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        try:
            self.pm.register(plugin, name=name)
        except Exception as error:  # pluggy validates hook names and signatures
            self.errors.append(PluginError(name, f"cannot register: {error}",
                                           "check hook names and arguments against hookspecs.py"))
            return
        self.origins[name] = origin
        self._registry = None
        for caller in self.pm.get_hookcallers(plugin) or []:
            if caller.spec is None:  # pluggy accepts unknown hooks silently; a typo is an error
                self.errors.append(PluginError(
                    name, f"implements unknown hook {caller.name!r}",
                    "use a hook name from gamepit/plugins/hookspecs.py"))
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                if impl.hookwrapper:
                    self.pm.unregister(plugin)
                    self.errors.append(PluginError(
                        name, f"{caller.name} uses the old-style hookwrapper=True",
                        "use @hookimpl(wrapper=True), which gamepit supports"))
                    return
                guard = _guard_wrapper if impl.wrapper else _guard
                impl.function = guard(self, impl.function, name, caller.name)

    def _register_module(self, module_name: str, origin: str) -> None:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            self.errors.append(_import_error(module_name, error))
            return
        self.register(module, name=module_name, origin=origin)

    def _load_entry_points(self) -> None:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(entry_point, "dist", None)
            origin = f"entry point of {dist.name} {dist.version}" if dist else "entry point"
            if entry_point.name in self.origins:
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                self.errors.append(_import_error(entry_point.name, error))
                continue
            self.register(plugin, name=entry_point.name, origin=origin)

    def _load_path(self, raw_path: str) -> None:
        path = Path(raw_path).expanduser()
        if not path.exists():
            self.errors.append(PluginError(raw_path, "no such file or folder",
                                           "check the --plugins / GAMEPIT_PLUGINS path"))
            return
        if path.is_dir() and (path / "__init__.py").exists():
            files, module_names = [path / "__init__.py"], [path.name]
        elif path.is_dir():
            files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            module_names = [f"gamepit_user_plugin_{p.stem}" for p in files]
        else:
            files, module_names = [path], [f"gamepit_user_plugin_{path.stem}"]
        for file, module_name in zip(files, module_names, strict=True):
            try:
                spec = importlib.util.spec_from_file_location(
                    module_name, file,
                    submodule_search_locations=[str(file.parent)]
                    if file.name == "__init__.py" else None)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            except Exception as error:
                sys.modules.pop(module_name, None)
                self.errors.append(_import_error(str(file), error))
                continue
            self.register(module, name=str(file), origin=f"path {file}")

    # ------------------------------------------------------------------ calling

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook through pluggy; the results of the implementations that did not fail."""
        return getattr(self.pm.hook, hook_name)(**kwargs)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook; failures are reported on stderr once per plugin and hook."""
        before = len(self.errors)
        self.call(hook_name, **kwargs)
        for error in self.errors[before:]:
            key = (error.plugin, hook_name)
            if key not in self._warned:
                self._warned.add(key)
                print(f"gamepit: warning: {error}", file=sys.stderr)

    def failed(self, plugin: str, hook_name: str, error: BaseException) -> None:
        self.errors.append(PluginError(
            plugin, f"{hook_name} raised {type(error).__name__}: {error}",
            "fix the hook implementation or remove the plugin"))

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(self)
        return self._registry


def _guard(manager: PluginManager, function: Callable[..., Any], plugin: str, hook_name: str
           ) -> Callable[..., Any]:
    """``function`` made safe to call: a failure is recorded and the call returns None (which
    pluggy leaves out of the results). Entries from registration hooks are checked and stamped
    with the plugin they came from."""
    kind = REGISTER_HOOKS.get(hook_name)

    def guarded(*args: Any) -> Any:
        try:
            result = function(*args)
        except Exception as error:
            manager.failed(plugin, hook_name, error)
            return None
        if kind is None:
            return result
        entries = []
        for entry in result or []:
            problem = _entry_problem(kind, entry)
            if problem:
                manager.errors.append(PluginError(
                    plugin, problem, "return gamepit.protocols.PluginEntry objects"))
                continue
            origin = f"{plugin} ({manager.origins.get(plugin, '?')})"
            entries.append(dataclasses.replace(entry, origin=origin))
        return entries

    return guarded


def _guard_wrapper(manager: PluginManager, function: Callable[..., Any], plugin: str,
                   hook_name: str) -> Callable[..., Any]:
    """A ``wrapper=True`` implementation made safe: if it raises before or after its ``yield``
    it is recorded and the inner result passes through unchanged."""

    def guarded(*args: Any) -> Generator[None, Any, Any]:
        try:
            wrapper = function(*args)
            next(wrapper)
        except Exception as error:
            manager.failed(plugin, hook_name, error)
            return (yield)
        result = yield
        try:
            wrapper.send(result)
        except StopIteration as stop:
            return stop.value
        except Exception as error:
            manager.failed(plugin, hook_name, error)
            return result
        manager.failed(plugin, hook_name, RuntimeError("the wrapper yielded twice"))
        return result

    return guarded


def _import_error(name: str, error: BaseException) -> PluginError:
    if isinstance(error, ModuleNotFoundError) and error.name:
        return PluginError(name, f"failed to import: no module named {error.name!r}",
                           f"pip install the package that provides {error.name!r}")
    return PluginError(name, f"failed to import: {type(error).__name__}: {error}",
                       "fix the error in the plugin's code")


class Registry:
    """Named entries of the four kinds, collected from every plugin, and how to build them."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self.entries: dict[str, dict[str, PluginEntry]] = {kind: {} for kind in KINDS}
        for hook_name, kind in REGISTER_HOOKS.items():
            # pluggy calls the last registered plugin first; the first registered keeps a name
            for entries in reversed(manager.call(hook_name)):
                for entry in entries:
                    existing = self.entries[kind].setdefault(entry.name, entry)
                    if existing is not entry:
                        manager.errors.append(PluginError(
                            entry.origin.partition(" (")[0],
                            f"{kind} {entry.name!r} is already registered by {existing.origin}",
                            "rename the entry or remove one of the two plugins"))

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def entry(self, kind: str, name: str) -> PluginEntry:
        try:
            return self.entries[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "(none)"
            raise SpecError(f"unknown {kind} {name!r}; available: {known}") from None

    def parse(self, kind: str, spec: str) -> tuple[PluginEntry, dict[str, Any]]:
        """Resolve a spec string to its entry and typed options, or raise SpecError."""
        name, parts = split_spec(spec)
        entry = self.entry(kind, name)
        return entry, bind_options(entry, parts)

    def canonical(self, kind: str, spec: str) -> str:
        """The spec string as the registry writes it, so equal specs compare equal."""
        entry, options = self.parse(kind, spec)
        return format_spec(entry.name, options)

    def build(self, kind: str, spec: str, **extra: Any) -> Any:
        """Build the object a spec string names; ``extra`` keyword arguments pass through."""
        entry, options = self.parse(kind, spec)
        factory = resolve_entry(entry)
        try:
            built = factory(**options, **extra)
        except (SpecError, PluginError):
            raise
        except (TypeError, ValueError) as error:
            raise SpecError(f"{kind} {entry.name!r}: {error}") from None
        missing = [attr for attr in _REQUIRED[kind] if not hasattr(built, attr)]
        if missing:
            raise PluginError(entry.origin, f"{kind} {entry.name!r} lacks {', '.join(missing)}",
                              f"implement the {kind} protocol in gamepit.protocols")
        try:
            built.spec = format_spec(entry.name, options)
        except AttributeError:
            pass
        return built

    def make_game(self, spec: str) -> Game:
        return self.build("game", spec)

    def make_agent(self, spec: str, game: Game | None = None, **extra: Any) -> Agent:
        """Build an agent; with ``game``, also check that it can play it (``check_fit``), so a
        checkpoint for another game is one line before any game, not a forfeit in each."""
        built = self.build("agent", spec, **extra)
        check_fit = getattr(built, "check_fit", None) if game is not None else None
        if check_fit is not None:
            try:
                check_fit(game)
            except Exception:
                built.close()
                raise
        return built


def _entry_problem(kind: str, entry: Any) -> str:
    if not isinstance(entry, PluginEntry):
        return f"returned {type(entry).__name__} instead of a PluginEntry"
    if entry.kind != kind:
        return f"returned a {entry.kind!r} entry from the {kind} hook"
    if not isinstance(entry.name, str) or not _NAME.match(entry.name):
        return f"{kind} name {entry.name!r} must be lower case letters, digits, '_' or '-'"
    if not entry.description:
        return f"{kind} {entry.name!r} has no description"
    if not all(isinstance(option, Option) for option in entry.options):
        return f"{kind} {entry.name!r} has options that are not gamepit.protocols.Option"
    if not (callable(entry.target) or (isinstance(entry.target, str) and ":" in entry.target)):
        return f"{kind} {entry.name!r} target must be a callable or 'module:attribute'"
    return ""


def resolve_entry(entry: PluginEntry) -> Any:
    """The callable an entry builds with (its target, imported if given by name)."""
    if callable(entry.target):
        return entry.target
    module_name, _, attribute = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except Exception as error:
        raise PluginError(entry.origin, f"cannot load {entry.kind} {entry.name!r} from "
                          f"{entry.target}: {type(error).__name__}: {error}",
                          "install what the plugin needs or fix its target") from None


_DEFAULT: PluginManager | None = None


def get_manager(plugin_paths: Iterable[str] = (), refresh: bool = False) -> PluginManager:
    """The process-wide manager (built on first use from the environment and given paths)."""
    global _DEFAULT
    if _DEFAULT is None or refresh or plugin_paths:
        _DEFAULT = PluginManager(plugin_paths)
    return _DEFAULT
