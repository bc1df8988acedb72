"""The out-of-tree example plugin package: installed for real, found through its entry point,
and played from the command line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "gamepit-nim"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("source") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    # Installed from a copy, so the build leaves nothing behind in the checkout.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "--target",
                    str(target), str(source)], check=True, capture_output=True, timeout=300)
    return target


def test_entry_point_plugin_is_listed_and_plays(cli, installed, tmp_path):
    env = {"PYTHONPATH": str(installed)}
    listing = cli("plugins", env=env)
    assert listing.returncode == 0
    assert "nim " in listing.stdout and "entry point of gamepit-nim 0.1.0" in listing.stdout
    assert "nim-perfect" in listing.stdout
    match = cli("match", "nim:heaps=1-3-5-7", "nim-perfect", "random", "-n", "4",
                "--replays", str(tmp_path), env=env)
    assert match.returncode == 0, match.stderr
    assert "nim:heaps=1-3-5-7: nim-perfect vs random: 4 games" in match.stdout
    replay = next(tmp_path.glob("*.jsonl"))
    assert cli("replay", "verify", str(replay), env=env).returncode == 0


def test_autoload_can_be_disabled(cli, installed):
    run = cli("plugins", env={"PYTHONPATH": str(installed),
                              "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert run.returncode == 0 and "nim-perfect" not in run.stdout
    assert "  nim " not in run.stdout


def test_example_game_conforms(installed, monkeypatch):
    monkeypatch.syspath_prepend(str(installed))
    from gamepit_nim import Nim

    from gamepit.authoring.checks import check_game

    check_game(Nim(heaps="2-3"), episodes=3)
