"""The replay viewer's time to first frame on a 10,000-step Atari replay, and its seeks.

A real random agent plays Breakout for ``--steps`` steps (it never presses FIRE, so after the
first ball the game waits and the episode runs as long as we like; the paddle still moves),
recorded as an ordinary replay. Then, ``--rounds`` times, a fresh ``gamepit view`` process
serves the folder and a client times over HTTP:

- first frame: the replay's JSON (``/api/replay``) plus the PNG of step 0, as the page asks;
- seek to step 9,000 at once (cold: the viewer re-simulates from the nearest state it has,
  while its warm-up thread is still laying snapshots) and the next step after it;
- the same seek after the warm-up (from a snapshot at most 100 steps back).

The peer, side by side in the same script: a viewer without snapshots, which re-simulates
from the start with the kernel's ``gamepit.replay.simulate`` for every screen (plus the same
PNG encoding), run in a fresh process like the server. Ratios are peer time / viewer time
(above 1: the viewer is faster). Where Chromium and Selenium are installed, a last table
times the page itself in headless Chromium, from navigation to the first screen drawn and to
a seek drawn.

Run: ``python benchmarks/viewer_first_frame.py`` (about 4 minutes on a busy 2-core box;
``--replay FILE`` reuses a recorded replay).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from gamepit.arena import MatchSettings, play_match
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, State
from gamepit.replay import read_replay, simulate
from gamepit.viewer.session import encode_png

GAME = "atari:game=breakout"


class RandomWithoutFire(Agent):
    """Uniformly random over every action but FIRE, so a Breakout episode never ends."""

    def act(self, state: State) -> int:
        names = self.game.action_names
        return int(self.rng.choice([a for a, name in enumerate(names) if name != "FIRE"]))


def record(folder: Path, steps: int, manager: PluginManager) -> Path:
    game = manager.registry.make_game(GAME)
    result = play_match(game, [RandomWithoutFire()], 0, ["random-without-fire"],
                        settings=MatchSettings(replay_dir=str(folder), manager=manager,
                                               max_steps=steps))
    assert result.steps == steps, f"the episode ended after {result.steps} steps"
    return Path(result.replay_path)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as response:
        return response.read()


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "gamepit", "view", str(folder), "--port",
                                "0", "--no-browser"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    return process, line.split(" at ")[1].split()[0]


def viewer_round(folder: Path, relative: str, seek: int) -> dict[str, float]:
    process, url = serve(folder)
    try:
        frame = f"{url}api/frame?path={quote(relative)}&step="
        times = {"first frame": timed(lambda: (fetch(f"{url}api/replay?path={quote(relative)}"),
                                               fetch(frame + "0")))}
        times[f"seek to {seek:,}, cold"] = timed(lambda: fetch(frame + str(seek)))
        times[f"next step ({seek + 1:,})"] = timed(lambda: fetch(frame + str(seek + 1)))
        fetch(frame + str(seek + 999))  # the warm-up has passed here by now, or this makes it
        times[f"seek to {seek:,}, warm"] = timed(lambda: fetch(frame + str(seek)))
        return times
    finally:
        process.terminate()
        process.wait()


def peer_round(path: Path, seek: int) -> dict[str, float]:
    """The peer in a fresh process, as the viewer's server is (a warm process would already
    have the ROM loaded)."""
    done = subprocess.run([sys.executable, __file__, "--peer", str(path), "--seek", str(seek)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peer_times(path: Path, seek: int) -> dict[str, float]:
    registry = PluginManager(autoload=False).registry

    def screen(upto: int, replay=None) -> bytes:
        replay = replay or read_replay(path)
        state, _ = simulate(replay, registry, upto=upto)
        return encode_png(state.frame())

    replay = read_replay(path)
    times = {"first frame": timed(lambda: screen(0)),
             f"seek to {seek:,}, cold": timed(lambda: screen(seek, replay)),
             f"next step ({seek + 1:,})": timed(lambda: screen(seek + 1, replay))}
    # without snapshots nothing is warm: a second seek costs what the first did
    times[f"seek to {seek:,}, warm"] = times[f"seek to {seek:,}, cold"]
    return times


def browser_round(folder: Path, relative: str, seek: int) -> dict[str, float] | None:
    if not (os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    process, url = serve(folder)  # a fresh server: the first screen is cold here too
    step = "return Number(document.getElementById('board').dataset.step)"

    def until(wanted: int) -> None:
        while driver.execute_script(step) != wanted:
            time.sleep(0.005)

    try:
        times = {"page to first screen": timed(lambda: (driver.get(f"{url}#path={quote(relative)}"),
                                                        until(0)))}
        seek_script = ("const s = document.getElementById('seek'); s.value = arguments[0];"
                       "s.dispatchEvent(new Event('input'));")
        times[f"seek to {seek:,} drawn, cold"] = timed(
            lambda: (driver.execute_script(seek_script, seek), until(seek)))
        return times
    finally:
        driver.quit()
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="replay length")
    parser.add_argument("--seek", type=int, default=9_000, help="step to seek to")
    parser.add_argument("--rounds", type=int, default=2, help="fresh servers (median kept)")
    parser.add_argument("--replay", type=Path, default=None, help="reuse this replay file")
    parser.add_argument("--peer", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 0 <= args.seek <= args.steps - 1000:
        parser.error("--seek must leave 1,000 steps after it (the warm-up reads step seek + 999)")
    if args.peer:
        print(json.dumps(peer_times(args.peer, args.seek)))
        return
    manager = PluginManager(autoload=False)
    with tempfile.TemporaryDirectory() as scratch:
        if args.replay:
            path = args.replay.resolve()
        else:
            started = time.perf_counter()
            path = record(Path(scratch), args.steps, manager)
            print(f"recorded {args.steps:,} steps of {GAME} in "
                  f"{time.perf_counter() - started:.1f} s: {path.name}")
        folder, relative = path.parent, path.name
        size = path.stat().st_size / 1e6
        print(f"replay file {size:.1f} MB; {args.rounds} rounds, medians in ms\n")
        viewer = [viewer_round(folder, relative, args.seek) for _ in range(args.rounds)]
        peer = [peer_round(path, args.seek) for _ in range(args.rounds)]
        print(f"{'measure':<26} {'viewer':>10} {'re-simulate':>12} {'ratio':>8}")
        for name in viewer[0]:
            mine = statistics.median(run[name] for run in viewer)
            theirs = statistics.median(run[name] for run in peer)
            print(f"{name:<26} {mine:>10.1f} {theirs:>12.1f} {theirs / mine:>7.1f}x")
        page = [browser_round(folder, relative, args.seek) for _ in range(args.rounds)]
        if all(page):
            print(f"\n{'in headless Chromium':<30} {'ms':>10}")
            for name in page[0]:
                print(f"{name:<30} {statistics.median(run[name] for run in page):>10.1f}")
        else:
            print("\n(no chromium/chromedriver/selenium: page timings skipped)")


if __name__ == "__main__":
    main()
