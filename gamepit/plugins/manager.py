"""Plugin discovery and the registry of named games, agents, searches and learners.

Plugins come from three places: the built-ins, installed distributions declaring the
``gamepit`` entry-point group (skipped when ``GAMEPIT_DISABLE_PLUGIN_AUTOLOAD=1``), and files or
folders named with ``--plugins PATH`` or ``GAMEPIT_PLUGINS`` (paths joined by ``os.pathsep``).
A plugin that fails to import, registers a name twice or breaks a protocol becomes one
``PluginError`` line; the others keep working.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pluggy

from gamepit.errors import PluginError, SpecError
from gamepit.plugins import hookspecs
from gamepit.plugins.builtin import BUILTIN_PLUGINS
from gamepit.protocols import KINDS, Option, PluginEntry
from gamepit.specs import bind_options, format_spec, split_spec

ENTRY_POINT_GROUP = "gamepit"
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_REGISTER_HOOKS = {
    "game": "gamepit_add_games",
    "agent": "gamepit_add_agents",
    "search": "gamepit_add_searches",
    "learner": "gamepit_add_learners",
}
# What a built object must have, per kind, to keep its protocol.
_REQUIRED = {
    "game": ("name", "num_players", "num_actions", "new_state", "aec_env"),
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
        for name in BUILTIN_PLUGINS:
            self._register_module(name, origin="builtin")
        if autoload is None:
            autoload = os.environ.get("GAMEPIT_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")
        if autoload:
            self._load_entry_points()
        paths = list(plugin_paths)
        env_paths = os.environ.get("GAMEPIT_PLUGINS", "")
        paths += [p for p in env_paths.split(os.pathsep) if p]
        for path in paths:
            self._load_path(path)

    # ------------------------------------------------------------------ loading

    @property
    def hook(self) -> Any:
        return self.pm.hook

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
            files = [path / "__init__.py"]
            module_names = [path.name]
        elif path.is_dir():
            files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            module_names = [f"gamepit_user_plugin_{p.stem}" for p in files]
        else:
            files, module_names = [path], [f"gamepit_user_plugin_{path.stem}"]
        for file, module_name in zip(files, module_names):
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

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of a hook separately; returns (plugin name, result) pairs.
        A failing implementation becomes a PluginError and the rest still run."""
        caller = getattr(self.pm.hook, hook_name)
        results = []
        for impl in caller.get_hookimpls():  # registration order: built-ins first
            arguments = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                results.append((impl.plugin_name, impl.function(**arguments)))
            except Exception as error:
                self.errors.append(PluginError(
                    impl.plugin_name, f"{hook_name} raised {type(error).__name__}: {error}",
                    "fix the hook implementation or remove the plugin"))
        return results

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook; failures are reported on stderr once per plugin and hook."""
        before = len(self.errors)
        self.call_each(hook_name, **kwargs)
        for error in self.errors[before:]:
            key = (error.plugin, hook_name)
            if key not in _WARNED:
                _WARNED.add(key)
                print(f"gamepit: warning: {error}", file=sys.stderr)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(self)
        return self._registry


_WARNED: set[tuple[str, str]] = set()


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
        for kind, hook_name in _REGISTER_HOOKS.items():
            for plugin_name, result in manager.call_each(hook_name):
                for entry in result or []:
                    self._add(kind, plugin_name, entry)

    def _add(self, kind: str, plugin_name: str, entry: Any) -> None:
        errors = self.manager.errors
        origin = f"{plugin_name} ({self.manager.origins.get(plugin_name, '?')})"
        problem = _entry_problem(kind, entry)
        if problem:
            errors.append(PluginError(plugin_name, problem,
                                      "return gamepit.protocols.PluginEntry objects"))
            return
        existing = self.entries[kind].get(entry.name)
        if existing is not None:
            errors.append(PluginError(
                plugin_name, f"{kind} {entry.name!r} is already registered by {existing.origin}",
                "rename the entry or remove one of the two plugins"))
            return
        self.entries[kind][entry.name] = PluginEntry(
            kind, entry.name, entry.target, entry.description, entry.options, origin)

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

    def build(self, kind: str, spec: str, **extra: Any) -> Any:
        """Build the object a spec string names; ``extra`` keyword arguments pass through."""
        entry, options = self.parse(kind, spec)
        factory = _resolve(entry)
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

    def make_game(self, spec: str) -> Any:
        return self.build("game", spec)

    def make_agent(self, spec: str, **extra: Any) -> Any:
        return self.build("agent", spec, **extra)


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


def _resolve(entry: PluginEntry) -> Any:
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
