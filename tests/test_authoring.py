"""What a plugin author meets first: the README's recipe runs as it stands, ``gamepit new``
writes plugins that pass the checks and play at once, and the checks say every missing or wrong
piece in one line each, never a raw exception, and nothing when all is well."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from gamepit.authoring.checks import ConformanceError, check_agent, check_game
from gamepit.authoring.command import plugin_text
from gamepit.protocols import Agent, Game
from tests.conftest import ROOT

TEMPLATE = ROOT / "gamepit" / "authoring" / "templates" / "takeaway.py"


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Writing a plugin"):text.index("## Read on")]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_recipe_is_the_example_and_the_scaffold_and_it_plays(cli, tmp_path):
    recipe = readme_recipe()
    assert recipe == TEMPLATE.read_text() == (ROOT / "examples" / "takeaway.py").read_text()
    assert recipe == plugin_text("game", "takeaway")
    path = tmp_path / "takeaway.py"
    path.write_text(recipe)  # saved as the README says, then its commands
    check = cli("--plugins", str(path), "check", "game", "takeaway", cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.startswith("ok:"), check.stderr
    assert check.stderr == ""  # no test-harness chatter, no warnings
    match = cli("--plugins", str(path), "match", "takeaway:stones=9", "random", "alphabeta",
                "-n", "4", cwd=tmp_path)
    assert match.returncode == 0, match.stderr
    assert "alphabeta" in match.stdout
    replay = next((tmp_path / "replays").glob("*.jsonl"))
    verified = cli("--plugins", str(path), "replay", "verify", str(replay), cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    unknown = cli("replay", "verify", str(replay), cwd=tmp_path)
    assert unknown.returncode == 2 and "--plugins PATH" in unknown.stderr


def test_new_writes_plugins_that_pass_the_checks_and_play(cli, tmp_path):
    for kind, name in (("game", "mygame"), ("agent", "mybot"), ("learner", "mylearner")):
        done = cli("new", kind, name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"{name}.py").exists()
        first = (tmp_path / f"{name}.py").read_text().splitlines()[0]
        assert first.startswith(f'"""{name}: a gamepit {kind} plugin in one file')
    plugins = [arg for name in ("mygame", "mybot", "mylearner")
               for arg in ("--plugins", str(tmp_path / f"{name}.py"))]
    assert cli(*plugins, "check", "game", "mygame", cwd=tmp_path).returncode == 0
    checked = cli(*plugins, "check", "agent", "mybot", "--game", "connect_four", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    played = cli(*plugins, "match", "mygame", "mybot", "random", "-n", "4", "--no-replays",
                 cwd=tmp_path)
    assert played.returncode == 0 and "mygame: mybot vs random: 4 games" in played.stdout
    trained = cli(*plugins, "train", "mylearner", "--game", "tictactoe", "--run", "tab",
                  "--set", "episodes=300", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "trained agent: mylearner:checkpoint=tab/table.json" in trained.stdout
    assert (tmp_path / "tab" / "metrics.jsonl").exists()
    played = cli(*plugins, "match", "tictactoe", "mylearner:checkpoint=tab/table.json",
                 "random", "-n", "2", "--no-replays", cwd=tmp_path)
    assert played.returncode == 0, played.stderr


def test_new_package_installs_and_plays_through_its_entry_point(cli, tmp_path):
    done = cli("new", "game", "pilegame", "--package", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    source = tmp_path / "gamepit-pilegame"
    assert (source / "gamepit_pilegame" / "__init__.py").exists()
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "--target",
                    str(site), str(source)], check=True, capture_output=True, timeout=300)
    played = cli("match", "pilegame", "random", "random", "-n", "2", "--no-replays",
                 env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert played.returncode == 0, played.stderr


@pytest.mark.parametrize("arguments, message", [
    (["new", "game", "1bad"], "is not a plugin name"),
    (["new", "game", "class"], "is not a plugin name"),
    (["new", "agent", "random"], "an agent named 'random' already exists"),
    (["new", "robot", "x"], "invalid choice"),
])
def test_new_mistakes_are_one_line_and_write_nothing(cli, tmp_path, arguments, message):
    done = cli(*arguments, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())


def test_new_never_overwrites(cli, tmp_path):
    (tmp_path / "mine.py").write_text("# my work\n")
    done = cli("new", "game", "mine", cwd=tmp_path)
    assert done.returncode == 2 and "already exists" in done.stderr
    assert (tmp_path / "mine.py").read_text() == "# my work\n"


# --------------------------------------------------------------------------- the checks


class Bare:
    """A state with only some of the protocol, as a newcomer might first write it."""

    def __init__(self) -> None:
        self.left = 3

    @property
    def current_player(self) -> int:
        return -1 if self.left == 0 else self.left % 2

    def legal_mask(self) -> np.ndarray:
        return np.array([self.left > 0, False])

    def apply(self, action: int) -> None:
        self.left -= 1

    def is_terminal(self) -> bool:
        return self.left == 0

    def returns(self) -> list[float]:
        return [0.0, 0.0]


class BareGame(Game):
    name, num_players, num_actions, observation_shape = "bare", 2, 2, (1,)

    def new_state(self, seed=None):
        return Bare()


def test_every_missing_piece_is_one_line_saying_what_to_do():
    with pytest.raises(ConformanceError) as caught:
        check_game(BareGame())
    lines = str(caught.value).splitlines()
    assert lines == [
        "bare: Bare lacks legal_actions(): inherit gamepit.protocols.BaseState or define it",
        "bare: Bare lacks clone(): clone() -> State: an independent copy",
        "bare: Bare lacks observation(): observation(player) -> array of the game's "
        "observation_shape",
        "bare: Bare lacks render(): render() -> str: the position as text",
        "bare: Bare lacks fingerprint(): inherit gamepit.protocols.BaseState or define it"]


def test_an_error_in_the_plugin_is_one_line_naming_the_call_and_the_place():
    from gamepit.protocols import BaseState

    class Breaks(BaseState, Bare):
        def clone(self):
            copy = Breaks()
            copy.left = self.left
            return copy

        def observation(self, player):
            return np.zeros(1, np.int8)

        def render(self):
            return "?"

        def apply(self, action):
            raise KeyError("oops")

    class BreakingGame(BareGame):
        def new_state(self, seed=None):
            return Breaks()

    with pytest.raises(ConformanceError) as caught:
        check_game(BreakingGame())
    message = str(caught.value)
    assert "\n" not in message and message.startswith("bare: a random playout raised KeyError")
    assert "test_authoring.py" in message and "in apply" in message


def test_observations_outside_their_bounds_are_named():
    from gamepit.games.tictactoe import TicTacToe

    class Loud(TicTacToe):
        observation_bounds = (0, 0.5)

    with pytest.raises(ConformanceError, match="outside observation_bounds"):
        check_game(Loud(), aec=False)


def test_an_agent_that_raises_is_one_line(registry):
    class Raises(Agent):
        def act(self, state):
            return {}["missing"]

    with pytest.raises(ConformanceError) as caught:
        check_agent(Raises(), registry.make_game("tictactoe"))
    assert "\n" not in str(caught.value) and "playing raised KeyError" in str(caught.value)


def test_a_passing_check_prints_nothing(registry, capsys):
    check_game(registry.make_game("connect_four"))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def _variant(tmp_path, old: str, new: str) -> str:
    """The take-away template with one piece changed, as a file to load with --plugins."""
    text = TEMPLATE.read_text()
    assert old in text
    path = tmp_path / "takeaway.py"
    path.write_text(text.replace(old, new))
    return str(path)


def test_a_match_on_a_game_whose_states_lack_a_method_is_one_line(cli, tmp_path):
    plugin = _variant(tmp_path, "    def clone(self)", "    def copy(self)")
    done = cli("match", "takeaway", "random", "random", "--plugins", plugin, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == ("gamepit: error: game takeaway: its states lack clone (run "
                                   "gamepit check game takeaway for how to add them)")
    assert not (tmp_path / "replays").exists() or not list((tmp_path / "replays").iterdir())


@pytest.mark.parametrize("old, new, message", [
    ('Option("stones", int, 21,', 'Option("stones", int, 200,', "its default 200 lies outside"),
    ('Option("stones", int, 21,', 'Option("pile", int, 21,', "takes no parameter 'pile'"),
    ('Option("stones", int, 21,', 'Option("stones", int, "21",', "is not of type int"),
])
def test_check_names_the_mistakes_in_an_entrys_options(cli, tmp_path, old, new, message):
    plugin = _variant(tmp_path, old, new)
    done = cli("check", "game", "takeaway", "--plugins", plugin, cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _connect_four_with(**methods):
    """Connect four whose states have ``methods`` in place of their own fast paths."""
    from gamepit.games.connect_four import ConnectFour, ConnectFourState

    def clone(self):
        copy = ConnectFourState.clone(self)
        copy.__class__ = type(self)
        return copy

    kind = type("Changed", (ConnectFourState,), {"clone": clone, **methods})

    class Changed(ConnectFour):
        def new_state(self, seed=None):
            state = ConnectFourState()
            state.__class__ = kind
            return state

    return Changed()


def test_fast_paths_are_compared_with_plain_play(registry):
    """Each fast path a state offers must agree with plain play through the protocol; a wrong
    one is the line saying which and how."""
    import numpy as np

    from gamepit.games.connect_four import ConnectFourArrayModel, ConnectFourState
    from gamepit.search.tree import Expansion

    def swapped(states):
        return ConnectFourState.batch_observations(states)[:, ::-1]

    def optimist(self, rng):
        return 0.0 if self.is_terminal() else 1.0

    class Mirror(ConnectFourArrayModel):
        def recurrent(self, handles, actions):
            found = super().recurrent(handles, actions)
            return Expansion(found.handles, found.priors, found.values, found.legal,
                             found.to_play, -found.rewards)

    check_game(_connect_four_with(), aec=False)  # the real ones, through the same harness
    for methods, said in (
            ({"batch_observations": staticmethod(swapped)},
             "batch_observations(states) must equal observation(current_player)"),
            ({"random_playout": optimist}, "random_playout from the start averages 1.000"),
            ({"batch_random_playouts": staticmethod(lambda states, rng: np.ones(len(states)))},
             "batch_random_playouts must give one value per state, 0.0 for a finished game"),
            ({"array_model": staticmethod(lambda rollouts=1, seed=None, capacity=64:
                                          Mirror(rollouts, seed, capacity))},
             "the array model's reward for action")):
        with pytest.raises(ConformanceError, match=re.escape(said)):
            check_game(_connect_four_with(**methods), aec=False)


def test_gamepit_check_game_names_the_optional_methods_a_game_offers(cli):
    result = cli("check", "game", "connect_four")
    assert result.returncode == 0, result.stderr
    assert ("offers: board_view, heuristic_value, random_playout, batch_random_playouts, "
            "batch_observations, array_model (each fast path compared with plain play)"
            in result.stdout)
