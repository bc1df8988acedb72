"""The plugin system: hooks, the three discovery paths, and broken plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gamepit.arena import MatchSettings
from gamepit.errors import PluginError, SpecError
from gamepit.games.tictactoe import TicTacToe
from gamepit.plugins import hookimpl
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Option, agent, game

GOOD_PLUGIN = """
from gamepit.plugins import hookimpl
from gamepit.protocols import game
from gamepit.games.tictactoe import TicTacToe

class Tiny(TicTacToe):
    name = "{name}"

@hookimpl
def gamepit_add_games():
    return [game("{name}", Tiny, "A renamed tic-tac-toe from a plugin file.")]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_builtins_register_through_the_same_hooks(manager):
    registry = manager.registry
    assert {"tictactoe", "connect_four"} <= set(registry.names("game"))
    assert {"random", "alphabeta", "human"} <= set(registry.names("agent"))
    assert registry.entry("game", "tictactoe").origin == "gamepit.games.tictactoe (builtin)"
    assert manager.errors == []


def test_inline_plugin_class_adds_a_game_and_an_agent(manager):
    class Plugin:
        @hookimpl
        def gamepit_add_games(self):
            return [game("mini", TicTacToe, "Tic-tac-toe under another name.")]

        @hookimpl
        def gamepit_add_agents(self):
            from gamepit.agents.basic import AlphaBetaAgent
            return [agent("deep", AlphaBetaAgent, "Deep alpha-beta.",
                          [Option("depth", int, 9, "plies")])]

    manager.register(Plugin(), name="inline")
    registry = manager.registry
    assert registry.entry("game", "mini").origin == "inline (code)"
    built = registry.make_agent("deep:depth=3")
    assert built.depth == 3 and built.spec == "deep:depth=3"


def test_lazy_targets_are_imported_only_when_built(manager):
    class Plugin:
        @hookimpl
        def gamepit_add_games(self):
            return [game("lazy", "gamepit.games.tictactoe:TicTacToe", "Lazily imported."),
                    game("missing", "gamepit_no_such_module:Game", "Cannot be imported.")]

    manager.register(Plugin(), name="lazy-plugin")
    registry = manager.registry
    assert registry.make_game("lazy").num_actions == 9
    with pytest.raises(PluginError, match="gamepit_no_such_module"):
        registry.make_game("missing")


def test_plugin_file_from_path(tmp_path):
    path = write(tmp_path / "renamed.py", GOOD_PLUGIN.format(name="from_file"))
    manager = PluginManager([str(path)], autoload=False)
    entry = manager.registry.entry("game", "from_file")
    assert str(path) in entry.origin
    assert manager.errors == []


def test_plugin_folder_from_environment(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    write(folder / "one.py", GOOD_PLUGIN.format(name="one"))
    write(folder / "two.py", GOOD_PLUGIN.format(name="two"))
    monkeypatch.setenv("GAMEPIT_PLUGINS", str(folder))
    manager = PluginManager(autoload=False)
    assert {"one", "two"} <= set(manager.registry.names("game"))


def test_broken_plugins_are_one_line_each_and_the_rest_keeps_working(tmp_path):
    import_error = write(tmp_path / "import_error.py", "import gamepit_definitely_missing\n")
    syntax_error = write(tmp_path / "syntax_error.py", "def broken(:\n")
    duplicate = write(tmp_path / "duplicate.py", GOOD_PLUGIN.format(name="tictactoe"))
    wrong_type = write(tmp_path / "wrong_type.py", """
        from gamepit.plugins import hookimpl

        @hookimpl
        def gamepit_add_agents():
            return ["not an entry"]
    """)
    raising = write(tmp_path / "raising.py", """
        from gamepit.plugins import hookimpl

        @hookimpl
        def gamepit_add_games():
            raise RuntimeError("boom")
    """)
    bad_hook = write(tmp_path / "bad_hook.py", """
        from gamepit.plugins import hookimpl

        @hookimpl
        def gamepit_add_gamez():
            return []
    """)
    good = write(tmp_path / "good.py", GOOD_PLUGIN.format(name="still_here"))
    paths = [import_error, syntax_error, duplicate, wrong_type, raising, bad_hook, good,
             tmp_path / "does_not_exist.py"]
    manager = PluginManager([str(p) for p in paths], autoload=False)
    registry = manager.registry
    assert "still_here" in registry.names("game")
    assert registry.entry("game", "tictactoe").origin.startswith("gamepit.games.tictactoe")
    messages = [str(error) for error in manager.errors]
    assert len(messages) == 7, messages
    assert all("\n" not in message and "fix:" in message for message in messages)
    joined = " | ".join(messages)
    for expected in ("gamepit_definitely_missing", "SyntaxError", "already registered",
                     "instead of a PluginEntry", "RuntimeError: boom", "gamepit_add_gamez",
                     "no such file"):
        assert expected in joined


def test_built_object_that_breaks_the_protocol(manager):
    class NotAGame:
        def __init__(self):
            self.name = "x"

    class Plugin:
        @hookimpl
        def gamepit_add_games(self):
            return [game("hollow", NotAGame, "Lacks the game protocol.")]

    manager.register(Plugin(), name="hollow-plugin")
    with pytest.raises(PluginError, match="hollow-plugin.*lacks num_players"):
        manager.registry.make_game("hollow")


def test_bad_entry_names_and_options_are_rejected(manager):
    class Plugin:
        @hookimpl
        def gamepit_add_games(self):
            return [game("Bad Name", TicTacToe, "Spaces in the name."),
                    game("no_description", TicTacToe, ""),
                    game("bad_options", TicTacToe, "Options of the wrong type.", ["x"])]

    manager.register(Plugin(), name="bad-entries")
    assert not {"Bad Name", "no_description", "bad_options"} & set(manager.registry.names("game"))
    assert len(manager.errors) == 3


def test_lifecycle_observers_see_every_match_event(manager):
    from gamepit.arena import play_match

    events = []

    class Observer:
        @hookimpl
        def gamepit_match_start(self, match):
            events.append(("start", match.game_spec))

        @hookimpl
        def gamepit_match_step(self, step):
            events.append(("step", step.player))

        @hookimpl
        def gamepit_match_end(self, match, result):
            events.append(("end", result.steps))

    manager.register(Observer(), name="observer")
    registry = manager.registry
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    result = play_match(registry.make_game("tictactoe"), agents, seed=3,
                        settings=MatchSettings(manager=manager))
    assert events[0] == ("start", "tictactoe")
    assert events[-1] == ("end", result.steps)
    assert [kind for kind, _ in events[1:-1]] == ["step"] * result.steps
    assert [player for _, player in events[1:-1]] == [i % 2 for i in range(result.steps)]


def test_failing_observer_does_not_stop_the_match(manager, capsys):
    from gamepit.arena import play_match

    class Failing:
        @hookimpl
        def gamepit_match_step(self):
            raise OSError("disk full")

    manager.register(Failing(), name="failing-observer")
    registry = manager.registry
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    result = play_match(registry.make_game("tictactoe"), agents, seed=1,
                        settings=MatchSettings(manager=manager))
    assert result.steps >= 5
    assert "failing-observer" in capsys.readouterr().err


def test_unknown_names_list_what_exists(registry):
    with pytest.raises(SpecError, match="available: .*connect_four.*tictactoe"):
        registry.make_game("chekers")


def test_cli_lists_plugins_and_reports_broken_ones(cli, tmp_path):
    broken = write(tmp_path / "broken.py", "raise ImportError('needs libfoo')\n")
    listing = cli("--plugins", str(broken), "plugins")
    assert listing.returncode == 0
    assert "tictactoe" in listing.stdout and "alphabeta" in listing.stdout
    assert "depth: int in [1..32] = 4" in listing.stdout
    assert "broken.py" in listing.stderr and "needs libfoo" in listing.stderr
    assert "Traceback" not in listing.stderr
    # the broken plugin does not stop a match
    match = cli("--plugins", str(broken), "match", "tictactoe", "random", "random", "-n", "1",
                "--no-replays")
    assert match.returncode == 0, match.stderr
    assert "warning" in match.stderr and "1 games" in match.stdout


@pytest.mark.parametrize("command", [
    ["match", "tictactoe", "random", "random", "-n", "1", "--no-replays"],
    ["replay", "list", "nowhere"], ["tournament", "--list", "--ledger", "none.sqlite"],
])
def test_a_name_registered_twice_is_one_warning_on_every_command(cli, tmp_path, command):
    again = write(tmp_path / "again.py", """
from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, agent

class First(Agent):
    def act(self, state):
        return state.legal_actions()[0]

@hookimpl
def gamepit_add_agents():
    return [agent("random", First, "a second random")]
""")
    done = cli("--plugins", str(again), *command, cwd=tmp_path)
    warnings = [line for line in done.stderr.splitlines() if "already registered" in line]
    assert len(warnings) == 1 and "agent 'random'" in warnings[0], done.stderr
    assert "again.py" in warnings[0] and warnings[0].startswith("gamepit: warning")


# --------------------------------------------------------------------------- pluggy's meaning


def test_hook_calls_keep_pluggy_ordering_wrappers_and_isolate_failures(tmp_path):
    from gamepit.plugins import hookimpl

    heard: list[str] = []

    class First:
        @hookimpl(tryfirst=True)
        def gamepit_train_metrics(self, run, step, metrics):
            heard.append("first")

    class Broken:
        @hookimpl
        def gamepit_train_metrics(self, run, step, metrics):
            raise RuntimeError("boom")

    class Last:
        @hookimpl(trylast=True)
        def gamepit_train_metrics(self, run, step, metrics):
            heard.append("last")

    class Wrapper:
        @hookimpl(wrapper=True)
        def gamepit_train_metrics(self, run, step, metrics):
            heard.append("before")
            result = yield
            heard.append("after")
            return result

    manager = PluginManager(autoload=False)
    for plugin in (Last(), First(), Broken(), Wrapper()):
        manager.register(plugin, name=type(plugin).__name__)
    manager.call("gamepit_train_metrics", run=str(tmp_path), step=0, metrics={})
    assert heard == ["before", "first", "last", "after"]
    assert any(error.plugin == "Broken" and "boom" in str(error) for error in manager.errors)


def test_old_style_hookwrappers_are_refused_in_one_line():
    from gamepit.plugins import hookimpl

    class Old:
        @hookimpl(hookwrapper=True)
        def gamepit_train_metrics(self, run, step, metrics):
            yield

    manager = PluginManager(autoload=False)
    manager.register(Old(), name="old")
    assert any("hookwrapper=True" in str(error) for error in manager.errors)
