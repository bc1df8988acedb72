"""The replay viewer: its JSON API and path safety over real HTTP, the exports, the command
line, and the page itself in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium). Replays are recorded here by real matches.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, State
from gamepit.replay import read_replay, simulate
from gamepit.viewer.catalog import summarize
from gamepit.viewer.export import export_replay
from gamepit.viewer.server import WORKERS, ViewerServer
from gamepit.viewer.session import SCREEN_LOCK

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ATARI = "atari:pong,max_frames=1000"  # about 240 steps: enough to cross two snapshots


class FlatMonteCarloAgent(Agent):
    """A small real search, so replays carry the info the viewer draws: UCB1 over the root
    moves, each simulation a random playout; the visit counts are the policy."""

    def __init__(self, simulations: int = 40) -> None:
        self.simulations = simulations

    def act(self, state: State) -> tuple[int, dict]:
        legal = state.legal_actions()
        counts = np.zeros(len(state.legal_mask()), dtype=np.int64)
        totals = np.zeros(len(counts))
        for simulation in range(self.simulations):
            if simulation < len(legal):
                action = legal[simulation]
            else:
                bonus = np.sqrt(2 * math.log(simulation) / counts[legal])
                action = legal[int(np.argmax(totals[legal] / counts[legal] + bonus))]
            child = state.clone()
            child.apply(action)
            while not child.is_terminal():
                child.apply(int(self.rng.choice(child.legal_actions())))
            counts[action] += 1
            totals[action] += child.returns()[self.player]
        best = int(np.argmax(counts))
        top = sorted(legal, key=lambda a: -counts[a])[:3]
        return best, {"policy": counts / counts.sum(), "visit_counts": counts,
                      "value": float(totals[best] / counts[best]), "top_moves": top}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager(autoload=False)


@pytest.fixture(scope="module")
def registry(manager):
    return manager.registry


@pytest.fixture(scope="module")
def folder(tmp_path_factory, manager, registry) -> Path:
    """Served folder: a connect four game by the searching agent, a tic-tac-toe game in a
    subfolder, a short Atari game, a non-replay file, a symlinked file and a symlinked folder
    pointing out, and a symlink loop."""
    root = tmp_path_factory.mktemp("replays")
    c4 = registry.make_game("connect_four")
    searcher, alphabeta = FlatMonteCarloAgent(), registry.make_agent("alphabeta:depth=2")
    play_match(c4, [searcher, alphabeta], 3, ["flat-mc", "alphabeta:depth=2"],
               settings=MatchSettings(replay_dir=str(root), manager=manager))
    ttt = registry.make_game("tictactoe")
    play_match(ttt, [registry.make_agent("random"), registry.make_agent("alphabeta")], 1,
               ["random", "alphabeta"],
               settings=MatchSettings(replay_dir=str(root / "nested"), manager=manager))
    play_match(registry.make_game(ATARI), [registry.make_agent("random")], 5, ["random"],
               settings=MatchSettings(replay_dir=str(root / "atari"), manager=manager))
    (root / "notes.txt").write_text("not a replay")
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "secret.jsonl"
    shutil.copy(next(root.glob("*connect_four*.jsonl")), secret)
    (root / "escape.jsonl").symlink_to(secret)
    (root / "outside-folder").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    return root


def _relative(folder: Path, pattern: str) -> str:
    return next(folder.rglob(pattern)).relative_to(folder).as_posix()


@pytest.fixture(scope="module")
def server(folder, registry):
    viewer = ViewerServer(folder, registry, port=0)
    viewer.start_in_thread()
    yield viewer
    viewer.shutdown()
    viewer.server_close()


def get(server, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=60) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def get_json(server, path: str) -> tuple[int, dict]:
    status, body, kind = get(server, path)
    assert kind == "application/json", (path, kind)
    return status, json.loads(body)


# --------------------------------------------------------------------------- the API


def test_list_has_every_replay_and_none_from_outside(server, folder):
    status, data = get_json(server, "/api/replays")
    assert status == 200
    paths = sorted(row["path"] for row in data["replays"])
    assert len(paths) == 3 and all(p.endswith(".jsonl") for p in paths)
    assert "escape.jsonl" not in paths  # the symlink points out of the folder
    assert data["games"] == ["atari_pong", "connect_four", "tictactoe"]
    assert "flat-mc" in data["agents"]
    for row in data["replays"]:
        replay = read_replay(folder / row["path"])
        assert row["steps"] == len(replay.steps)
        assert row["result"] == replay.describe_result()


def test_filters_by_game_agent_and_result(server, folder):
    _, data = get_json(server, "/api/replays?game=tictactoe")
    assert [row["game_name"] for row in data["replays"]] == ["tictactoe"]
    _, data = get_json(server, "/api/replays?game=atari")
    assert [row["game_name"] for row in data["replays"]] == ["atari_pong"]
    _, data = get_json(server, "/api/replays?agent=alphabeta")
    assert sorted(row["game_name"] for row in data["replays"]) == ["connect_four", "tictactoe"]
    # won/lost are from the filtered agent's side: every game alphabeta played is in exactly one
    # of won, lost or draw, and the split agrees with the recorded returns.
    split = {}
    for result in ("won", "lost", "draw"):
        _, data = get_json(server, f"/api/replays?agent=alphabeta&result={result}")
        split[result] = {row["path"] for row in data["replays"]}
    assert sum(len(paths) for paths in split.values()) == 2
    for result, paths in split.items():
        for path in paths:
            summary = summarize(folder / path)
            seat = summary["agents"].index(next(a for a in summary["agents"] if "alphabeta" in a))
            mine = summary["returns"][seat]
            other = summary["returns"][1 - seat]
            assert (mine > other, mine < other, mine == other)[("won", "lost", "draw")
                                                              .index(result)]
    _, data = get_json(server, "/api/replays?result=unfinished")
    assert data["replays"] == []


def test_replay_boards_are_the_re_simulated_positions(server, folder, registry):
    relative = _relative(folder, "*connect_four*")
    status, data = get_json(server, f"/api/replay?path={quote(relative)}")
    assert status == 200 and data["kind"] == "board" and data["problem"] == ""
    replay = read_replay(folder / relative)
    assert data["num_steps"] == len(replay.steps) == len(data["boards"]) - 1
    for k in range(len(replay.steps) + 1):
        state, _ = simulate(replay, registry, upto=k)
        assert data["boards"][k] == state.board_view()
    first = data["steps"][0]
    assert first["player"] == 0 and len(first["info"]["policy"]) == 7
    assert sum(first["info"]["visit_counts"]) == 40
    assert data["action_labels"] == [str(c) for c in range(7)]


@pytest.mark.parametrize("name", [
    "../OUTSIDE/secret.jsonl", "nested/../../OUTSIDE/secret.jsonl", "escape.jsonl",
    "outside-folder/secret.jsonl",
    "/etc/passwd", "ABSOLUTE_SECRET",
])
def test_server_refuses_paths_outside_its_folder(server, folder, name):
    secret = (folder / "escape.jsonl").resolve()
    assert secret.is_file()  # the refused files exist: only where they are keeps them out
    name = name.replace("OUTSIDE", secret.parent.name)
    if name == "ABSOLUTE_SECRET":
        name = str(secret)
    for route in ("/api/replay", "/api/frame"):
        status, data = get_json(server, f"{route}?path={quote(name)}&step=0")
        assert status == 403, (route, name, data)
        assert "outside the served folder" in data["error"]


def test_server_refuses_static_files_outside_its_folder(server):
    status, _, _ = get(server, "/static/../server.py")
    assert status == 403
    status, _, _ = get(server, "/static/viewer.js")
    assert status == 200


def test_server_answers_only_to_its_own_name(server):
    """A page on another domain that resolves to 127.0.0.1 (DNS rebinding) gets nothing."""
    port = server.server_address[1]
    for host, expected in ((f"evil.example:{port}", 403), (f"localhost:{port}", 200)):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/api/replays", headers={"Host": host})
        assert connection.getresponse().status == expected, host
        connection.close()


def test_head_gets_the_headers_of_get_without_a_body(server):
    port = server.server_address[1]
    for path, expected in (("/", 200), ("/api/replays", 200), ("/api/play/events", 405),
                           ("/nowhere", 404)):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("HEAD", path, headers={"Host": f"127.0.0.1:{port}"})
        response = connection.getresponse()
        assert response.status == expected, path
        assert response.read() == b""
        if expected == 200:
            assert int(response.getheader("Content-Length")) > 0
        connection.close()


def test_port_80_accepts_the_host_browsers_send_without_a_port():
    """Browsers leave out HTTP's default port in Host and Origin; on any other port the port
    must be there, and another name never passes."""
    from gamepit.viewer.server import names_this_machine

    assert names_this_machine("localhost", 80) and names_this_machine("127.0.0.1:80", 80)
    assert names_this_machine("[::1]", 80) and names_this_machine("LOCALHOST:8000", 8000)
    assert not names_this_machine("localhost", 8000)
    assert not names_this_machine("evil.example", 80)
    assert not names_this_machine("localhost:81", 80)


def test_missing_and_wrong_files_are_not_found(server, folder):
    for name in ("nope.jsonl", "notes.txt", "nested"):
        status, data = get_json(server, f"/api/replay?path={quote(name)}")
        assert status == 404, name
    board_game = _relative(folder, "*tictactoe*")
    status, data = get_json(server, f"/api/frame?path={quote(board_game)}&step=0")
    assert status == 400 and "no screen frames" in data["error"]


def test_atari_frames_are_the_re_simulated_screens(server, folder, registry):
    relative = _relative(folder, "atari/*.jsonl")
    status, data = get_json(server, f"/api/replay?path={quote(relative)}")
    assert status == 200 and data["kind"] == "frames"
    replay = read_replay(folder / relative)
    total = len(replay.steps)
    assert total > 200
    for step in (0, 1, total - 1, 150, 149, total, 37):  # forward, seeks both ways
        status, body, kind = get(server, f"/api/frame?path={quote(relative)}&step={step}")
        assert status == 200 and kind == "image/png"
        shown = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        with SCREEN_LOCK:  # the server's warm-up shares the one pong emulator with this thread
            state, _ = simulate(replay, registry, upto=step)
            expected = state.frame()
        assert np.array_equal(shown, expected), step
    status, data = get_json(server, f"/api/frame?path={quote(relative)}&step={total + 1}")
    assert status == 400


# --------------------------------------------------------------------------- exports


def test_html_export_is_one_self_contained_file(folder, registry, tmp_path):
    replay = read_replay(next(folder.glob("*connect_four*.jsonl")))
    output = tmp_path / "game.html"
    export_replay(replay, registry, "html", output)
    text = output.read_text(encoding="utf-8")
    assert "/static/" not in text
    # nothing fetched from anywhere: the one address is SVG's namespace name (never fetched)
    assert set(re.findall(r"https?://[^\s\"'`)]+", text)) <= {"http://www.w3.org/2000/svg"}
    assert "window.GAMEPIT_EMBEDDED" in text and '"boards":' in text
    assert not list(tmp_path.glob(".*partial*"))


def test_html_export_of_a_long_screen_game_keeps_evenly_spaced_screens(folder, registry,
                                                                        tmp_path, monkeypatch):
    monkeypatch.setattr("gamepit.viewer.export.MAX_EMBEDDED_FRAMES", 50)
    replay = read_replay(next(folder.glob("atari/*.jsonl")))
    output = tmp_path / "atari.html"
    export_replay(replay, registry, "html", output)
    text = output.read_text(encoding="utf-8")
    embedded = json.loads(text.split("window.GAMEPIT_EMBEDDED = ", 1)[1]
                          .split(";</script>", 1)[0].replace("<\\/", "</"))
    every = math.ceil((len(replay.steps) + 1) / 50)
    assert embedded["frames"]["every"] == every
    assert len(embedded["frames"]["images"]) == len(range(0, len(replay.steps) + 1, every)) <= 50
    assert f"one screen every {every} steps" in embedded["frame_note"]
    assert len(embedded["steps"]) == len(replay.steps)  # moves and info stay complete


def test_video_exports_hold_every_position(folder, registry, tmp_path, cli):
    for pattern, size in (("*connect_four*.jsonl", (6 * 48, 7 * 48)),
                          ("atari/*.jsonl", (420, 320))):
        source = next(folder.glob(pattern))
        replay = read_replay(source)
        positions = len(replay.steps) + 1
        mp4, gif = tmp_path / (source.stem + ".mp4"), tmp_path / (source.stem + ".gif")
        for fmt, output in (("mp4", mp4), ("gif", gif)):
            done = cli("replay", "export", str(source), "--format", fmt, "-o", str(output))
            assert done.returncode == 0, done.stderr
            if fmt == "mp4":
                done_mp4 = done
        # H.264 where this OpenCV can write it (probed here on its own), else mp4v and one
        # line saying so, without OpenCV's own lines about the encoders it tried
        assert (b"avc1" in mp4.read_bytes()) == h264_writable(tmp_path)
        if not h264_writable(tmp_path):
            assert b"mp4v" in mp4.read_bytes()
            notes = [line for line in done_mp4.stderr.splitlines() if "H.264" in line]
            assert len(notes) == 1 and "Chromium" in notes[0], done_mp4.stderr
        assert "[ERROR" not in done_mp4.stderr and "FFMPEG" not in done_mp4.stderr, \
            done_mp4.stderr
        capture = cv2.VideoCapture(str(mp4))
        frames = []
        while True:
            ok, picture = capture.read()
            if not ok:
                break
            frames.append(picture)
        assert len(frames) == positions and frames[0].shape[:2] == size
        ok, animation = cv2.imreadmulti(str(gif))
        assert ok and len(animation) == positions


def h264_writable(folder: Path) -> bool:
    """Whether this OpenCV opens an H.264 writer (the pip wheels have no encoder for it)."""
    for fourcc in ("avc1", "H264"):
        writer = cv2.VideoWriter(str(folder / "probe.mp4"), cv2.VideoWriter_fourcc(*fourcc),
                                 30.0, (64, 48))
        opened = writer.isOpened()
        writer.release()
        if opened:
            return True
    return False


# --------------------------------------------------------------------------- bad files, abuse


@pytest.fixture(scope="module")
def abuse():
    """benchmarks/viewer_abuse.py: the same client the benchmark uses, at a smaller size."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "viewer_abuse.py"
    spec = importlib.util.spec_from_file_location("viewer_abuse", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up by name)
    spec.loader.exec_module(module)
    return module


def test_bad_replay_files_are_listed_as_bad_and_the_rest_normally(manager, registry,
                                                                    tmp_path, browser):
    """Malformed JSON, wrong types, a FIFO (which would block a reader forever), a dangling
    link: each is listed with a one-line reason, the good replays as usual; opening one is a
    one-line 4xx."""
    play_match(registry.make_game("tictactoe"), [registry.make_agent("random")] * 2, 0,
               ["random", "random"],
               settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    good = next(tmp_path.glob("*.jsonl"))
    lines = good.read_text(encoding="utf-8").splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])

    def write(name: str, first: dict, last: dict | None = None) -> None:
        body = [json.dumps(first), *lines[1:-1], json.dumps(last or end)]
        (tmp_path / name).write_text("\n".join(body) + "\n", encoding="utf-8")

    (tmp_path / "malformed.jsonl").write_text('{"format": \n', encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n", encoding="utf-8")
    write("agents_number.jsonl", {**header, "agents": 7})
    write("game_number.jsonl", {**header, "game": 5})
    write("agents_numbers.jsonl", {**header, "agents": [1, 2]})
    write("returns_text.jsonl", header, {**end, "returns": ["a", "b"]})
    write("returns_short.jsonl", header, {**end, "returns": [1]})
    write("steps_text.jsonl", header, {**end, "steps": "many"})
    write("forfeit_seat.jsonl", header, {**end, "forfeit_seat": 9})
    os.mkfifo(tmp_path / "fifo.jsonl")
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "missing")
    (tmp_path / "folder.jsonl").mkdir()  # a folder named like a replay: not a file, not listed
    bad = {"malformed", "deep", "agents_number", "game_number", "agents_numbers",
           "returns_text", "returns_short", "steps_text", "forfeit_seat", "fifo", "dangling"}
    viewer = ViewerServer(tmp_path, registry, port=0)
    viewer.start_in_thread()
    try:
        for _ in range(2):  # the second time from the cache
            status, data = get_json(viewer, "/api/replays")
            assert status == 200
            assert [row["path"] for row in data["replays"]] == [good.name]
            reasons = {Path(entry["path"]).stem: entry["error"] for entry in data["unreadable"]}
            assert set(reasons) == bad
            for name, reason in reasons.items():
                assert reason and "\n" not in reason and len(reason) <= 300, (name, reason)
            assert "FIFO" in reasons["fifo"] and "not a regular file" in reasons["fifo"]
            assert "'agents'" in reasons["agents_number"] and "'game'" in reasons["game_number"]
            assert "returns" in reasons["returns_short"]
        for name in bad - {"fifo", "dangling"}:  # opened: shown, or refused in one line
            status, data = get_json(viewer, f"/api/replay?path={name}.jsonl")
            assert status in (200, 422), (name, data)
            assert status == 200 or "\n" not in data["error"], (name, data)
            assert status == 422 or name not in ("malformed", "deep", "game_number"), data
        for name in ("fifo", "dangling", "folder"):
            status, data = get_json(viewer, f"/api/replay?path={name}.jsonl")
            assert status == 404, (name, data)
        # the page lists them too, marked
        browser.get(viewer.url)
        wait_for(browser, lambda: f"({len(bad)} unreadable)" in text_of(browser, "list-count"),
                 "the count of unreadable replays")
        # read in one go: the list may be redrawn between finding an item and reading it
        marked = browser.execute_script(
            "return [...document.querySelectorAll('#replay-list li.bad')]"
            ".map((li) => li.textContent)")
        assert len(marked) == len(bad)
        assert any("not a regular file" in text for text in marked)
    finally:
        viewer.shutdown()
        viewer.server_close()


def test_viewer_answers_every_request_under_abuse(abuse, tmp_path):
    """A smaller run of benchmarks/viewer_abuse.py against a real ``gamepit view``: a burst of
    concurrent requests, idle connections past the idle timeout, hostile requests and
    hang-ups, a FIFO named like a replay. Every request answered, no traceback on the
    server's stderr, idle connections closed by the server, threads bounded."""
    folder = tmp_path / "replays"
    folder.mkdir()
    rows, server, facts = abuse.run_all(folder, concurrent=150, idle_count=100, hold=3.5,
                                        idle_timeout=2.0)
    table = "\n".join(f"{r.phase}: {r.answered}/{r.sent} {dict(r.statuses)} tracebacks "
                      f"{r.tracebacks} threads {r.peak_threads}/{r.threads_after} {r.note}"
                      for r in rows)
    assert server.tracebacks() == 0, server.stderr()
    for row in rows:
        assert row.answered == row.sent, table
        assert row.peak_threads <= WORKERS + 8, table
    hostile = rows[2]
    assert all(status.isdigit() and int(status) < 600 for status in hostile.statuses), table
    assert facts["opened"] == 100 and facts["closed_by_server"] == 100, table
    assert facts["while_held"] == "200" and facts["seconds"] < 2.0, table
    assert "fifo.jsonl" in facts["marked_bad"], table
    assert server.process.returncode == 0, server.stderr()


def test_a_body_that_trickles_in_is_cut_off_and_other_requests_are_answered(tmp_path,
                                                                             registry):
    """Twenty POSTs whose bodies arrive a byte every half second: each gets 408 once the idle
    timeout (2 s) has passed since its body began, and a GET meanwhile is answered."""
    viewer = ViewerServer(tmp_path, registry, port=0, idle_timeout=2.0)
    viewer.start_in_thread()
    port = viewer.server_address[1]
    sockets = []
    try:
        for _ in range(20):
            client = socket.create_connection(("127.0.0.1", port), timeout=30)
            client.sendall(b"POST /api/play/new HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{"
                           % port)
            sockets.append(client)
        started = time.monotonic()
        answers: dict[int, bytes] = {}
        while len(answers) < len(sockets) and time.monotonic() - started < 30:
            for index, client in enumerate(sockets):
                if index in answers:
                    continue
                try:
                    client.sendall(b" ")
                except OSError:
                    pass
            time.sleep(0.5)
            status, _ = get_json(viewer, "/api/replays")  # the viewer still answers
            assert status == 200
            for index, client in enumerate(sockets):
                if index in answers:
                    continue
                client.setblocking(False)
                try:
                    data = client.recv(65536)
                    if data:
                        answers[index] = data
                except (BlockingIOError, OSError):
                    pass
                client.setblocking(True)
        assert len(answers) == 20, f"{len(answers)} of 20 trickling bodies were cut off"
        assert all(b" 408 " in answer.split(b"\r\n")[0] for answer in answers.values())
    finally:
        for client in sockets:
            client.close()
        viewer.shutdown()
        viewer.server_close()


# --------------------------------------------------------------------------- command line


def _hears_ctrl_c() -> None:
    """Popen's preexec_fn for a command the test stops with SIGINT: a pytest started where
    Ctrl-C is ignored (a shell's background job) would pass that on to the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_view_command_serves_the_folder_until_interrupted(folder):
    process = subprocess.Popen([sys.executable, "-m", "gamepit", "view", str(folder),
                                "--port", "0", "--no-browser"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_hears_ctrl_c)
    try:
        line = process.stdout.readline()
        assert "serving" in line, line + process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/replays", timeout=30) as response:
            assert len(json.loads(response.read())["replays"]) == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()


def test_view_command_errors_are_one_line(cli, tmp_path):
    done = cli("view", str(tmp_path / "missing"), "--no-browser")
    assert done.returncode == 2
    # (warnings about other plugins, if any are broken, may come first)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("gamepit: warning")]
    assert lines == [f"gamepit: error: view: {tmp_path / 'missing'}: no such folder"]
    done = cli("view", str(tmp_path), "--port", "70000", "--no-browser")
    assert done.returncode == 2 and "--port" in done.stderr


# --------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: the viewer is tested in a real browser; "
                    "install it with: apt-get install -y chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="gamepit-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(browser, condition, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"the page never showed {what}")


def text_of(browser, element_id: str) -> str:
    return browser.execute_script(f"return document.getElementById('{element_id}').textContent")


def shown_step(browser) -> int:
    return int(browser.execute_script("return document.getElementById('board').dataset.step"))


def click(browser, element_id: str) -> None:
    browser.find_element("id", element_id).click()


def click_once_drawn(browser, selector: str) -> None:
    """Click ``selector`` once the page has drawn it: the list redraws itself when it polls
    (on a loaded machine between our finding a link and clicking it), so a stale or missing
    element is found again, up to ``wait_for``'s bound."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def clicked() -> bool:
        try:
            browser.find_element("css selector", selector).click()
        except (NoSuchElementException, StaleElementReferenceException):
            return False
        return True

    wait_for(browser, clicked, f"a clickable {selector}")


def pixel(browser, x: float, y: float) -> list[int]:
    return browser.execute_script(
        "return Array.from(document.getElementById('board').getContext('2d')"
        f".getImageData({x}, {y}, 1, 1).data)")


def test_page_lists_and_filters_replays(browser, server):
    browser.get(server.url)
    wait_for(browser, lambda: "3 of 3" in text_of(browser, "list-count"), "the list")
    assert len(browser.find_elements("css selector", "#replay-list li")) == 3
    browser.find_element("css selector", "#filter-game option[value=tictactoe]").click()
    wait_for(browser, lambda: "1 of 3" in text_of(browser, "list-count"), "the filtered list")
    assert "tictactoe" in text_of(browser, "replay-list")


def test_connect_four_steps_forward_and_back_with_agent_info(browser, server, folder):
    relative = _relative(folder, "*connect_four*")
    replay = read_replay(folder / relative)
    total = len(replay.steps)
    browser.get(server.url)
    click_once_drawn(browser, f"#replay-list a[data-path='{relative}']")
    wait_for(browser, lambda: shown_step(browser) == 0, "the start position")
    assert text_of(browser, "position") == f"0 / {total}"
    # the searching agent moves first: its value, policy, visit counts and top moves show,
    # and its policy tints the columns it considered
    assert text_of(browser, "info-value") == f"{replay.steps[0]['info']['value']:.3f}"
    assert browser.find_elements("css selector", "#info-policy tr")
    assert browser.find_elements("css selector", "#info-visits tr")
    assert browser.find_elements("css selector", "#info-top-moves li")
    heated = sum(1 for v in replay.steps[0]["info"]["visit_counts"] if v > 0)
    assert browser.execute_script("return document.getElementById('board').dataset.heat") \
        == str(heated)
    for _ in range(3):
        click(browser, "forward")
    wait_for(browser, lambda: shown_step(browser) == 3, "step 3")
    # alphabeta moves next: its value and top moves show, and it has no policy to draw
    alphabeta_info = replay.steps[3]["info"]
    assert text_of(browser, "info-value") == f"{alphabeta_info['value']:.3f}"
    assert len(browser.find_elements("css selector", "#info-top-moves li")) == \
        len(alphabeta_info["top_moves"])
    assert not browser.find_elements("css selector", "#info-policy tr")
    click(browser, "back")
    wait_for(browser, lambda: shown_step(browser) == 2, "step 2 again")
    assert text_of(browser, "position") == f"2 / {total}"
    # the first disc is drawn where it fell: red (X) in the bottom row of its column
    column, cell = replay.steps[0]["action"], 64
    top = 22 if "policy" in replay.steps[2]["info"] else 0
    red, green, _, _ = pixel(browser, column * cell + cell / 2, top + 5 * cell + cell / 2)
    assert red > 180 and green < 110
    browser.find_element("tag name", "body").send_keys("\ue014")  # arrow right
    wait_for(browser, lambda: shown_step(browser) == 3, "a step by keyboard")
    browser.find_element("css selector", "#speed option[value='60']").click()
    click(browser, "play")
    wait_for(browser, lambda: shown_step(browser) == total, "the end, by playing")
    assert "Game over" in text_of(browser, "move")


def test_atari_replay_steps_and_seeks(browser, server, folder):
    relative = _relative(folder, "atari/*.jsonl")
    total = len(read_replay(folder / relative).steps)
    browser.get(server.url + f"#path={quote(relative)}")
    wait_for(browser, lambda: shown_step(browser) == 0, "the first screen")
    width, height = browser.execute_script(
        "const c = document.getElementById('board'); return [c.width, c.height]")
    assert (width, height) == (320, 420)  # the 160x210 screen, twice
    click(browser, "forward")
    wait_for(browser, lambda: shown_step(browser) == 1, "the second screen")
    click(browser, "back")
    wait_for(browser, lambda: shown_step(browser) == 0, "the first screen again")
    browser.execute_script("const s = document.getElementById('seek'); s.value = 200;"
                           "s.dispatchEvent(new Event('input'));")
    wait_for(browser, lambda: shown_step(browser) == 200, "a seek to step 200")
    assert text_of(browser, "position") == f"200 / {total}"
    assert "Score:" in text_of(browser, "move")
    assert "Next: random" in text_of(browser, "move")


def test_exported_html_plays_offline(browser, folder, registry, tmp_path):
    for pattern in ("*connect_four*.jsonl", "atari/*.jsonl"):
        replay = read_replay(next(folder.glob(pattern)))
        output = tmp_path / (Path(replay.path).stem + ".html")
        export_replay(replay, registry, "html", output)
        browser.get(output.as_uri())
        wait_for(browser, lambda: shown_step(browser) == 0, f"{pattern} opened from disk")
        assert not browser.find_element("id", "library").is_displayed()
        click(browser, "forward")
        wait_for(browser, lambda: shown_step(browser) == 1, f"{pattern} stepping offline")
        assert text_of(browser, "position") == f"1 / {len(replay.steps)}"


def cell_picture(browser, board: dict, index: int) -> dict:
    """What the canvas shows in one cell: the colour a little off its centre (off a go board's
    lines, still on a stone) and how many dark pixels (piece outlines) lie inside it."""
    return browser.execute_script("""
        const [rows, cols, index] = arguments;
        const canvas = document.getElementById('board');
        const cell = canvas.width / cols, top = canvas.height - rows * cell;
        const x = (index % cols) * cell, y = top + Math.floor(index / cols) * cell;
        const context = canvas.getContext('2d');
        const near = Array.from(context.getImageData(x + cell * 0.75, y + cell * 0.75, 1, 1).data);
        const area = context.getImageData(x + cell / 5, y + cell / 5, cell * 0.6, cell * 0.6)
            .data;
        let dark = 0;
        for (let i = 0; i < area.length; i += 4) {
            if (0.299 * area[i] + 0.587 * area[i + 1] + 0.114 * area[i + 2] < 80) dark++;
        }
        return {near, dark};
    """, board["rows"], board["cols"], index)


@pytest.mark.parametrize("spec", ["go:size=9,max_moves=30", "openspiel:othello,max_moves=24",
                                  "openspiel:chess,max_moves=24"])
def test_go_othello_and_chess_boards_are_drawn(browser, manager, registry, tmp_path, spec):
    game = registry.make_game(spec)
    result = play_match(game, [registry.make_agent("random"), registry.make_agent("random")], 2,
                        ["random", "random"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    replay = read_replay(result.replay_path)
    output = tmp_path / "game.html"
    export_replay(replay, registry, "html", output)
    browser.get(output.as_uri())
    step = len(replay.steps)
    browser.execute_script("const s = document.getElementById('seek'); s.value = arguments[0];"
                           "s.dispatchEvent(new Event('input'));", step)
    wait_for(browser, lambda: shown_step(browser) == step, "the last position")
    board = simulate(replay, registry)[0].board_view()
    assert board["cells"].count("") < len(board["cells"])
    for index, piece in enumerate(board["cells"]):
        seen = cell_picture(browser, board, index)
        red, green, blue = seen["near"][:3]
        if board["style"] == "chess":
            assert (seen["dark"] > 0) == bool(piece), (index, piece, seen)
        elif piece == "B":
            assert max(red, green, blue) < 60, (index, seen)
        elif piece == "W":
            assert min(red, green, blue) > 200, (index, seen)
        else:
            assert max(red, green, blue) >= 60 and min(red, green, blue) <= 200, (index, seen)


def test_games_without_pictures_show_their_text(browser, manager, registry, tmp_path):
    """Hex through OpenSpiel has neither board_view() nor frame(): the page shows render()."""
    game = registry.make_game("openspiel:hex(board_size=5)")
    result = play_match(game, [registry.make_agent("random"), registry.make_agent("random")], 4,
                        ["random", "random"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    replay = read_replay(result.replay_path)
    output = tmp_path / "hex.html"
    export_replay(replay, registry, "html", output)
    browser.get(output.as_uri())
    wait_for(browser, lambda: shown_step(browser) == 0, "the text board")
    click(browser, "forward")
    wait_for(browser, lambda: shown_step(browser) == 1, "the text board after a move")
    assert text_of(browser, "text-board") == simulate(replay, registry, upto=1)[0].render()
    assert not browser.find_element("id", "board").is_displayed()
    done = subprocess.run([sys.executable, "-m", "gamepit", "replay", "export", replay.path,
                           "--format", "gif", "-o", str(tmp_path / "hex.gif")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "neither screens nor a board_view" in done.stderr
