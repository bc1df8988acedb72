"""How live the browser viewer is, measured in a real headless Chromium on this machine.

1. Watching: a match of two real agents that each take ``--pause`` seconds a move is recorded
   into the folder ``gamepit view`` serves; a page watches the replay. For every move, the time
   from the agent's ``act`` returning (the arena then applies it and the recorder flushes the
   line) to the page showing that many moves (``window.gamepitArrivals``, set when the page
   draws a new length). The viewer's way is a push: the server looks at the file's size every
   50 ms and sends an event; the page then fetches the replay once. The peer, side by side: the
   same page polling ``/api/replay`` every ``--poll`` seconds, the way a page without pushes
   stays current; the table also counts the requests each made.
2. Playing: a person's MinAtar and Atari game in the browser, a key held down: the frames the
   page drew per second (``window.gamepitPlayFrames``) against the frame rate the server
   steps at (``--fps``, several), over ``--seconds`` seconds each.

Run: ``python benchmarks/viewer_latency.py`` (about a minute and a half on a busy 2-core box).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from gamepit.arena import MatchSettings, play_match
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, State
from gamepit.viewer.server import ViewerServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

POLLING_PAGE = """
window.gamepitPolled = {};
window.gamepitRequests = 0;
const path = arguments[0], every = arguments[1];
async function poll() {
  window.gamepitRequests++;
  const data = await (await fetch('/api/replay?path=' + encodeURIComponent(path))).json();
  if (!(data.num_steps in window.gamepitPolled)) window.gamepitPolled[data.num_steps] = Date.now();
  if (data.end === null) setTimeout(poll, every * 1000);
}
poll();
"""


class TimedAgent(Agent):
    """A real agent that thinks ``pause`` seconds, then notes when its move left it."""

    def __init__(self, inner: Agent, pause: float, moves: list[float]) -> None:
        self.inner, self.pause, self.moves = inner, pause, moves

    def reset(self, game, player, seed=None) -> None:
        super().reset(game, player, seed)
        self.inner.reset(game, player, seed)

    def act(self, state: State):
        time.sleep(self.pause)
        result = self.inner.act(state)
        self.moves.append(time.time())
        return result


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="gamepit-bench-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER)), profile


def wait(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit("benchmark: the page never showed what it waited for")


def watch_once(browser, server: ViewerServer, manager: PluginManager, folder: Path,
               way: str, pause: float, poll: float) -> dict:
    """One match watched by pushes or by polling: latencies (ms) per move, requests made."""
    registry = manager.registry
    moves: list[float] = []
    agents = [TimedAgent(registry.make_agent("alphabeta:depth=2"), pause, moves),
              TimedAgent(registry.make_agent("alphabeta:depth=1"), pause, moves)]
    target = folder / way
    match = threading.Thread(target=play_match, args=(
        registry.make_game("connect_four"), agents, 11, ["timed-a", "timed-b"],
        MatchSettings(replay_dir=str(target), manager=manager)))
    match.start()
    path = wait(lambda: next(target.glob("*.jsonl"), None))
    relative = path.relative_to(server.root).as_posix()
    if way == "push":
        browser.get(server.url + f"#path={quote(relative)}")
        wait(lambda: browser.execute_script("return document.getElementById('live') && "
                                            "!document.getElementById('live').hidden"))
    else:
        browser.get(server.url + "static/viewer.css")  # a page of the server's origin
        browser.execute_script(POLLING_PAGE, relative, poll)
    match.join()
    time.sleep(max(1.0, 2 * poll))
    arrivals = browser.execute_script(
        "return window.gamepitArrivals" if way == "push" else "return window.gamepitPolled")
    requests = browser.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
        ".length" if way == "push" else "return window.gamepitRequests")
    latencies = [(arrivals[str(k)] / 1000 - moves[k - 1]) * 1000
                 for k in range(1, len(moves) + 1) if str(k) in arrivals]
    return {"way": way, "moves": len(moves), "seen": len(latencies), "requests": requests,
            "latencies": latencies}


def play_rate(browser, server: ViewerServer, game: str, fps: float, seconds: float) -> dict:
    """Frames the page drew per second while a key was held in a screen game."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    server.table.fps = fps
    request = urllib.request.Request(server.url + "api/play/new",
                                     data=json.dumps({"game": game, "seed": 1}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        made = json.loads(response.read())
    browser.get(server.url + f"#play={made['id']}")
    wait(lambda: browser.execute_script("return window.gamepitPlayFrames.length >= 1"))
    body = browser.find_element("tag name", "body")
    ActionChains(browser).key_down(Keys.ARROW_UP, body).perform()
    time.sleep(seconds)
    frames = browser.execute_script("return window.gamepitPlayFrames")
    ActionChains(browser).key_up(Keys.ARROW_UP, body).perform()
    game_state = server.table.get(made["id"])
    steps = len(game_state.history)
    ended = game_state.status != "playing"  # (the episode ended before the time was up)
    browser.get("about:blank")  # ends the game
    wait(lambda: game_state.status == "over", 120)
    recent = [t for t in frames if t >= frames[-1] - (seconds - 1) * 1000]
    drawn = (len(recent) - 1) / ((recent[-1] - recent[0]) / 1000) if len(recent) > 1 else 0.0
    return {"game": game, "fps": fps, "drawn": drawn, "steps": steps,
            "ended": ended}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pause", type=float, default=0.25,
                        help="seconds each agent thinks per move (default 0.25)")
    parser.add_argument("--poll", type=float, default=0.5,
                        help="the polling peer's period in seconds (default 0.5)")
    parser.add_argument("--fps", default="15,30,60",
                        help="frame rates the play server steps at (default 15,30,60)")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="seconds of play per frame rate (default 6)")
    parser.add_argument("--games", default="minatar:freeway,atari:game=pong",
                        help="screen games played (default minatar:freeway,atari:game=pong)")
    args = parser.parse_args()
    manager = PluginManager()
    folder = Path(tempfile.mkdtemp(prefix="gamepit-latency-"))
    # reconnect_grace=0: a page left ends its game at once (the default waits 30 s for it)
    server = ViewerServer(folder, manager.registry, port=0, manager=manager, reconnect_grace=0)
    server.start_in_thread()
    browser, profile = start_browser()
    try:
        print(f"watching a connect four match ({args.pause:g} s a move) in headless Chromium")
        print(f"{'way':<22} {'moves':>5} {'seen':>5} {'median ms':>10} {'p90 ms':>8} "
              f"{'max ms':>8} {'requests':>9}")
        rows = {}
        for way in ("push", "poll"):
            row = watch_once(browser, server, manager, folder, way, args.pause, args.poll)
            rows[way] = row
            values = sorted(row["latencies"])
            p90 = values[int(0.9 * (len(values) - 1))]
            name = "push (viewer, SSE)" if way == "push" else f"poll every {args.poll:g} s"
            print(f"{name:<22} {row['moves']:>5} {row['seen']:>5} "
                  f"{statistics.median(values):>10.0f} {p90:>8.0f} {max(values):>8.0f} "
                  f"{row['requests']:>9}")
        ratio = statistics.median(rows["poll"]["latencies"]) / statistics.median(
            rows["push"]["latencies"])
        push = rows["push"]
        seen = ("push saw every move" if push["seen"] == push["moves"] else
                f"push saw {push['seen']} of {push['moves']} moves: a busy machine fetched "
                "after two had landed")
        print(f"median latency, poll / push: {ratio:.1f}x  ({seen}; polling sees only the "
              "lengths it happened to fetch)")
        print()
        print(f"a person playing in the browser, arrow key held, {args.seconds:g} s each")
        print(f"{'game':<22} {'target fps':>10} {'drawn fps':>10} {'drawn/target':>13} "
              f"{'steps':>6}")
        for game in args.games.split(","):
            for fps in (float(x) for x in args.fps.split(",")):
                row = play_rate(browser, server, game, fps, args.seconds)
                print(f"{game:<22} {fps:>10g} {row['drawn']:>10.1f} "
                      f"{row['drawn'] / fps:>13.2f} {row['steps']:>6}"
                      + ("  (episode ended early)" if row["ended"] else ""))
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
