"""The viewer's live side in a real headless Chromium (Selenium, as ``test_viewer.py``): a
person playing against agents by clicks and keys, a match watched while it is played, the
plots of replays, training runs and tournaments, and the server's refusals on the new routes.
One browser and one server serve the whole module; each page leaves a screenshot in
``$GAMEPIT_ARTIFACTS`` (default: a pytest temporary folder) for a person to look at.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from gamepit.arena import MatchSettings, play_match
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, State
from gamepit.replay import read_replay
from gamepit.tournament.ledger import GameRecord, Ledger
from gamepit.training.metrics_file import append_metrics
from gamepit.viewer.play import action_for_keys, click_targets
from gamepit.viewer.server import ViewerServer
from tests.test_viewer import _hears_ctrl_c, browser, text_of, wait_for  # noqa: F401 - the module's browser

__all__ = ["browser"]
GRACE = 1.0  # seconds the module's server keeps a game whose page left (its default is 30)


class SlowAgent(Agent):
    """A real agent that takes its time, so a match lasts long enough to be watched live:
    alpha-beta's move (with its value), ``pause`` seconds later."""

    def __init__(self, inner: Agent, pause: float) -> None:
        self.inner, self.pause = inner, pause

    def reset(self, game, player, seed=None) -> None:
        super().reset(game, player, seed)
        self.inner.reset(game, player, seed)

    def act(self, state: State):
        time.sleep(self.pause)
        return self.inner.act(state)


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    return PluginManager(autoload=False)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = os.environ.get("GAMEPIT_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory, manager):
    """A replay folder with a searched connect four game and a MinAtar episode, a runs
    folder with one run, and a ledger with one tournament of real games."""
    root = tmp_path_factory.mktemp("browser")
    replays, runs = root / "replays", root / "runs"
    registry = manager.registry
    play_match(registry.make_game("connect_four"),
               [registry.make_agent("mcts:sims=30"), registry.make_agent("alphabeta:depth=2")], 1,
               ["mcts:sims=30", "alphabeta:depth=2"],
               settings=MatchSettings(replay_dir=str(replays / "c4"), manager=manager))
    play_match(registry.make_game("minatar:breakout"), [registry.make_agent("random")], 3,
               ["random"],
               settings=MatchSettings(replay_dir=str(replays / "minatar"), manager=manager))
    for step in range(1, 11):
        append_metrics(str(runs / "dqn-breakout"), step * 100,
                       {"episode_return": step * 0.5, "eval/return": step * 0.4,
                        "loss": 1.0 / step, "episode/length": 30.0 + step * 6,
                        "charts/return_of_the_greedy_policy_on_held_out_seeds": step * 0.3,
                        "rollout/return_with_exploration_noise_included": step * 0.2,
                        "progress/total_steps": 1000.0})
    append_metrics(str(runs / "dqn-breakout"), 14068, {"buffer/size": 4096.0})  # one point
    ledger = root / "ledger.sqlite"
    with Ledger(ledger) as book:
        book.open_tournament("league", "tictactoe", 0, {})
        for index in range(6):
            record_game(manager, book, ["alphabeta", "random"], index)
    return {"replays": replays, "runs": runs, "ledger": ledger}


def record_game(manager, book: Ledger, pairing: list[str], index: int) -> None:
    """Play one real tic-tac-toe game and append it to the ledger, seats alternating."""
    registry = manager.registry
    seats = pairing if index % 2 == 0 else pairing[::-1]
    result = play_match(registry.make_game("tictactoe"),
                        [registry.make_agent(spec) for spec in seats], index, seats,
                        settings=MatchSettings(manager=manager))
    book.record("league", "tictactoe", GameRecord(pairing, index, seats, index, result.returns,
                                                  result.steps, 0.01))


@pytest.fixture(scope="module")
def server(folders, manager):
    viewer = ViewerServer(folders["replays"], manager.registry, port=0, runs=folders["runs"],
                          ledgers=[folders["ledger"]], manager=manager, max_games=3,
                          reconnect_grace=GRACE)
    viewer.start_in_thread()
    yield viewer
    viewer.shutdown()
    viewer.server_close()


def post(server, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(server.url.rstrip("/") + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def play_view(browser) -> dict:
    return browser.execute_script("return window.gamepitPlayView || {}")


def click_cell(browser, index: int) -> None:
    """A real mouse click in the middle of one cell of the play board."""
    canvas = browser.find_element("id", "play-board")
    board = play_view(browser)["board"]
    width, height = browser.execute_script(
        "const c = document.getElementById('play-board'); return [c.width, c.height]")
    cell = width / board["cols"]
    top = height - board["rows"] * cell
    row, col = divmod(index, board["cols"])
    x, y = col * cell + cell / 2, top + row * cell + cell / 2
    ActionChains(browser).move_to_element_with_offset(canvas, x - width / 2,
                                                      y - height / 2).click().perform()


def shoot(browser, artifacts: Path, name: str) -> None:
    browser.save_screenshot(str(artifacts / f"{name}.png"))
    assert (artifacts / f"{name}.png").stat().st_size > 1000


def wait_your_turn(browser, steps: int | None = None) -> dict:
    return wait_for(browser, lambda: (lambda v: v if v.get("your_turn") and (
        steps is None or v["steps"] == steps) else None)(play_view(browser)), "your turn")


# --------------------------------------------------------------------------- playing


def connect_four_choice(cells: list[str], me: str, them: str) -> int:
    """Win if a drop wins, else block the opponent's win, else the most central open column."""
    def landing(column: int) -> int | None:
        for row in range(5, -1, -1):
            if not cells[row * 7 + column]:
                return row * 7 + column
        return None

    def wins(board: list[str], index: int, piece: str) -> bool:
        row, col = divmod(index, 7)
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            count = 1
            for sign in (1, -1):
                r, c = row + sign * dr, col + sign * dc
                while 0 <= r < 6 and 0 <= c < 7 and board[r * 7 + c] == piece:
                    count += 1
                    r, c = r + sign * dr, c + sign * dc
            if count >= 4:
                return True
        return False

    open_columns = [c for c in (3, 2, 4, 1, 5, 0, 6) if landing(c) is not None]
    for piece in (me, them):
        for column in open_columns:
            if wins(cells, landing(column), piece):
                return column
    return open_columns[0]


def connect_four_to_the_end(browser) -> dict:
    """Play X by clicks (``connect_four_choice``) until the game is over and recorded; the
    last view."""
    for _ in range(21):
        view = wait_for(browser, lambda: (lambda v: v if v.get("your_turn") or
                                          v.get("status") == "over" else None)(
            play_view(browser)), "my turn or the end")
        if view["status"] == "over":
            break
        column = connect_four_choice(view["board"]["cells"], "X", "O")
        click_cell(browser, column)  # the top cell: the disc falls down the column
        wait_for(browser, lambda before=view["steps"]: play_view(browser)["steps"] > before,
                 "my move")
    return wait_for(browser, lambda: (lambda v: v if v.get("status") == "over" and v["replay"]
                                      else None)(play_view(browser)), "the end")


def test_connect_four_won_by_clicks_against_random(browser, server, artifacts):
    status, made = post(server, "/api/play/new", {"game": "connect_four", "agent": "random",
                                                  "seat": 0, "seed": 5})
    assert status == 200, made
    browser.get(server.url + f"#play={made['id']}")
    view = connect_four_to_the_end(browser)
    assert view["result"] == "X wins", view["result"]
    assert "X wins" in text_of(browser, "play-status")
    shoot(browser, artifacts, "play-connect-four-won")
    replay = read_replay(view["replay"])
    assert replay.header["agents"] == ["human@browser", "random"]
    assert replay.end["returns"] == [1.0, -1.0] and replay.end["forfeit_seat"] is None
    assert len(replay.steps) == view["steps"]


def test_a_reloaded_page_keeps_its_game_and_another_tab_cannot_take_it(browser, tmp_path,
                                                                       manager, artifacts):
    """A reload shows the same game at the same position (board, moves, the agent's thinking,
    whose turn), and so do going back to the page from another, a dropped connection and the
    play tab's way back; play goes on to one replay with every move and no forfeit; another tab
    opening the game's address is told the game is played elsewhere, and gets no board; a
    duplicated tab takes the game over and the first says so."""
    viewer = ViewerServer(tmp_path, manager.registry, port=0, manager=manager, max_games=1)
    viewer.start_in_thread()
    try:
        status, made = post(viewer, "/api/play/new", {"game": "connect_four", "agent": "random",
                                                      "seed": 5})
        assert status == 200, made
        browser.get(viewer.url + f"#play={made['id']}")
        for steps in (0, 2):
            view = wait_your_turn(browser, steps)
            click_cell(browser, connect_four_choice(view["board"]["cells"], "X", "O"))
        before = wait_your_turn(browser, 4)
        history, thinking = text_of(browser, "play-history"), text_of(browser, "play-info")
        game = viewer.table.get(made["id"])
        actions = [entry[1] for entry in game.history]
        browser.refresh()
        after = wait_your_turn(browser, 4)
        for key in ("id", "board", "history", "agent_move", "to_move", "moves"):
            assert after[key] == before[key], key
        assert text_of(browser, "play-history") == history
        assert text_of(browser, "play-info") == thinking
        assert "Your move" in text_of(browser, "play-status")
        shoot(browser, artifacts, "play-connect-four-reloaded")
        assert game.status == "playing" and game.streaming
        # away to another page and back (Chromium keeps the page in its back/forward cache)
        mark_stale(browser)
        browser.get("about:blank")
        wait_for(browser, lambda: not game.streaming, "the stream closed")
        browser.back()
        assert reattached(browser, game, 4)["board"] == before["board"]
        # the connection drops (cut at the server's end): the page reconnects by itself
        mark_stale(browser)
        for connection in list(viewer.hub._streams):
            connection.shutdown(socket.SHUT_RDWR)
        assert reattached(browser, game, 4)["board"] == before["board"]
        # to the replays tab and back to the play tab: the form leads back to the game
        mark_stale(browser)
        browser.find_element("css selector", "#pages a[data-page=replays]").click()
        wait_for(browser, lambda: not game.streaming, "the stream closed")
        browser.find_element("css selector", "#pages a[data-page=play]").click()
        wait_for(browser, lambda: browser.find_elements("id", "play-resume"),
                 "the way back")[0].click()
        assert reattached(browser, game, 4)["board"] == before["board"]
        assert game.status == "playing"
        # another tab (its own session) is refused, clearly, and leaves the game alone
        first = browser.current_window_handle
        token = browser.execute_script("return sessionStorage.getItem('gamepit-page')")
        browser.switch_to.new_window("tab")
        try:
            browser.get(viewer.url + f"#play={made['id']}")
            wait_for(browser, lambda: "another tab" in text_of(browser, "play-status"),
                     "the refusal")
            assert "refused" in browser.find_element("id", "play-status").get_attribute("class")
            assert not play_view(browser)
            assert not browser.find_element("id", "play-stage").is_displayed()  # no resign
            shoot(browser, artifacts, "play-connect-four-another-tab")
            # a duplicated tab (it copies sessionStorage) takes the game over
            browser.execute_script("sessionStorage.setItem('gamepit-page', arguments[0])", token)
            browser.refresh()
            assert wait_your_turn(browser, 4)["board"] == before["board"]
        finally:
            browser.close()
            browser.switch_to.window(first)
        wait_for(browser, lambda: "opened again in another tab" in text_of(browser, "play-status"),
                 "the first tab giving way")
        assert not browser.find_element("id", "play-stage").is_displayed()
        browser.refresh()  # and a reload takes it back
        assert wait_your_turn(browser, 4)["board"] == before["board"]
        assert game.status == "playing" and game.streaming
        view = connect_four_to_the_end(browser)
    finally:
        viewer.shutdown()
        viewer.server_close()
    (path,) = tmp_path.glob("*.jsonl")  # one game, one file
    replay = read_replay(path)
    assert replay.end["forfeit_seat"] is None and replay.end["returns"] == [1.0, -1.0]
    assert len(replay.steps) == view["steps"] > 4
    assert [step["action"] for step in replay.steps[:4]] == actions


def test_a_closed_page_past_the_grace_period_ends_its_game_as_a_forfeit(browser, server):
    status, made = post(server, "/api/play/new", {"game": "tictactoe", "agent": "random",
                                                  "seed": 3})
    assert status == 200, made
    browser.get(server.url + f"#play={made['id']}")
    wait_your_turn(browser, 0)
    click_cell(browser, 4)
    wait_your_turn(browser, 2)
    game = server.table.get(made["id"])
    browser.get("about:blank")
    wait_for(browser, lambda: game.status == "over" and game.replay_path, "the game's end")
    replay = read_replay(game.replay_path)
    assert len(replay.steps) == 2
    assert replay.end["forfeit_seat"] == 0
    assert replay.end["forfeit_reason"] == "unfinished: the page was closed"


def mark_stale(browser) -> None:
    """Mark the position the page shows, to tell it from the one a new stream brings."""
    browser.execute_script("window.gamepitPlayView.stale = true")


def reattached(browser, game, steps: int) -> dict:
    """The position the page shows once its game's stream is open again, on my turn."""
    wait_for(browser, lambda: game.streaming, "the page back")
    return wait_for(browser, lambda: (lambda v: v if v.get("your_turn") and not v.get("stale")
                                      and v["steps"] == steps else None)(play_view(browser)),
                    "the position again")


def open_stream(viewer, game_id: str, page: str | None) -> tuple[int, object]:
    """A game's event stream as a page opens it: (status, response)."""
    connection = http.client.HTTPConnection("127.0.0.1", viewer.server_address[1], timeout=30)
    query = f"id={game_id}" + (f"&page={page}" if page else "")
    connection.request("GET", f"/api/play/events?{query}")
    return connection.getresponse()


def next_event(response) -> dict | None:
    """The stream's next event, or None once the server closed it."""
    while True:
        line = response.fp.readline()
        if not line:
            return None
        if line.startswith(b"data: "):
            return json.loads(line[6:])


@contextlib.contextmanager
def one_game_server(folder: Path, manager):
    """A viewer that plays one game at a time and waits 30 s for a page that went away."""
    viewer = ViewerServer(folder, manager.registry, port=0, manager=manager, max_games=1,
                          reconnect_grace=30.0)
    viewer.start_in_thread()
    try:
        yield viewer
    finally:
        viewer.shutdown()
        viewer.server_close()


def test_only_the_grace_timer_of_the_current_departure_ends_the_game(tmp_path, manager):
    """A timer of a departure the page has come back from ends nothing, a stale one neither,
    and the timer of the current departure ends the game. (The timers are driven by hand
    here: the server's own wait is 30 s.)"""
    with one_game_server(tmp_path, manager) as viewer:
        game = viewer.table.new("tictactoe", "alphabeta", 0, 0)
        stream = open_stream(viewer, game.id, "page-a")
        assert next_event(stream)["your_turn"]
        stream.close()
        wait_until(lambda: not game.streaming)  # gone once: the timer for departure 1 runs
        again = open_stream(viewer, game.id, "page-a")
        assert next_event(again)["your_turn"]
        game._grace_over(1)  # departure 1's timer fires after the page came back
        assert game.status == "playing" and game.forfeit is None
        again.close()
        wait_until(lambda: not game.streaming)  # gone again: departure 2
        game._grace_over(1)  # a stale timer still ends nothing
        assert game.status == "playing"
        game._grace_over(2)
        wait_until(lambda: game.status == "over")
        assert game.forfeit == (0, "unfinished: the page was closed")


def test_a_reattached_game_is_one_game_holding_one_slot(tmp_path, manager):
    """The same page's second stream (a reload the server has not noticed yet, or a dropped
    connection the browser reopens) replaces the first; another page's is refused; a game
    waiting for its page holds its slot; a stopping server records it, as it records every
    game."""
    with one_game_server(tmp_path, manager) as viewer:
        game = viewer.table.new("tictactoe", "alphabeta", 0, 0)
        first = open_stream(viewer, game.id, "page-a")
        assert first.status == 200 and next_event(first)["your_turn"]
        assert post(viewer, "/api/play/move", {"id": game.id, "action": 4})[0] == 200
        second = open_stream(viewer, game.id, "page-a")  # the first is still open
        assert second.status == 200
        assert next_event(second)["steps"] in (1, 2)
        events = []
        while (event := next_event(first)) is not None:
            events.append(event)
        assert events[-1]["type"] == "replaced", events  # then the server closed it
        assert open_stream(viewer, game.id, "x" * 65).status == 400  # not a token
        other = open_stream(viewer, game.id, "page-b")
        assert other.status == 409
        assert "another tab" in json.loads(other.read())["error"]
        status, state = get(viewer, f"/api/play/state?id={game.id}&page=page-b")
        assert status == 200 and not state["yours"] and state["attached"]
        second.close()
        wait_until(lambda: not game.streaming)
        assert game.status in ("playing", "thinking")  # kept for its page
        status, answer = post(viewer, "/api/play/new", {"game": "tictactoe"})
        assert status == 429, answer  # its slot is held
        third = open_stream(viewer, game.id, "page-a")  # back within the grace period
        view = next_event(third)
        while view["steps"] < 2:
            view = next_event(third)
        assert view["your_turn"] and view["agent_move"]["info"]["value"] is not None
        assert post(viewer, "/api/play/resign", {"id": game.id})[0] == 200
        third.close()
        # its slot is let go once, so a new game fits: the reattached game was one game
        wait_until(lambda: post(viewer, "/api/play/new", {"game": "tictactoe"})[0] == 200)
        status, made = post(viewer, "/api/play/new", {"game": "tictactoe"})
        assert status == 429, made  # (the game made just above holds the one slot)
    assert game.status == "over"
    (path,) = tmp_path.glob("*.jsonl")
    replay = read_replay(path)
    assert len(replay.steps) == 2
    assert replay.end["forfeit_reason"] == "resigned"


def test_a_stopping_server_records_a_game_waiting_for_its_page(tmp_path, manager):
    viewer = ViewerServer(tmp_path, manager.registry, port=0, manager=manager,
                          reconnect_grace=30.0)
    viewer.start_in_thread()
    try:
        game = viewer.table.new("tictactoe", "random", 0, 0)
        stream = open_stream(viewer, game.id, "page-a")
        assert next_event(stream)["your_turn"]
        assert post(viewer, "/api/play/move", {"id": game.id, "action": 4})[0] == 200
        stream.close()
        wait_until(lambda: not game.streaming)
        assert game.status != "over"
    finally:
        viewer.shutdown()
        viewer.server_close()  # the game waiting for its page is recorded, unfinished
    assert game.status == "over"
    replay = read_replay(game.replay_path)
    assert len(replay.steps) == 2
    assert replay.end["forfeit_reason"] == "unfinished: the server stopped"


def test_a_game_past_its_grace_period_frees_its_slot(tmp_path, manager):
    viewer = ViewerServer(tmp_path, manager.registry, port=0, manager=manager, max_games=1,
                          reconnect_grace=0.3)
    viewer.start_in_thread()
    try:
        game = viewer.table.new("tictactoe", "random", 0, 0)
        stream = open_stream(viewer, game.id, None)
        assert next_event(stream)["your_turn"]
        assert post(viewer, "/api/play/move", {"id": game.id, "action": 0})[0] == 200
        stream.close()
        wait_until(lambda: game.status == "over" and game.replay_path)
        assert read_replay(game.replay_path).end["forfeit_reason"] == \
            "unfinished: the page was closed"
        wait_until(lambda: post(viewer, "/api/play/new", {"game": "tictactoe"})[0] == 200)
        status, answer = get(viewer, "/api/play/state?id=nosuchgame")
        assert status == 404 and "no such game" in answer["error"]
    finally:
        viewer.shutdown()
        viewer.server_close()


def get(server, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_illegal_click_refused_thinking_shown_undo_and_resign(browser, server, artifacts):
    browser.get(server.url + "#play")
    form = wait_for(browser, lambda: browser.find_element("id", "play-form").is_displayed()
                    and browser.find_element("id", "play-game-spec"), "the form")
    form.clear()
    form.send_keys("tictactoe")
    agent = browser.find_element("id", "play-agent-spec")
    agent.clear()
    agent.send_keys("mcts:sims=60")
    browser.find_element("id", "play-start").click()
    view = wait_your_turn(browser, 0)
    click_cell(browser, 4)  # the centre
    view = wait_your_turn(browser, 2)
    assert view["board"]["cells"][4] == "X"
    # the agent's thinking: value, visit counts, policy as a heat map over the free cells
    wait_for(browser, lambda: browser.find_elements("css selector", "#play-info #info-visits tr"),
             "the visit counts")
    assert text_of(browser, "info-value").strip()
    assert int(browser.execute_script(
        "return document.getElementById('play-board').dataset.heat")) > 0
    shoot(browser, artifacts, "play-tictactoe-thinking")
    # a click on a taken cell is refused on the page, and the server refuses the move too
    click_cell(browser, 4)
    wait_for(browser, lambda: "Illegal move" in text_of(browser, "play-status"), "a refusal")
    assert "refused" in browser.find_element("id", "play-status").get_attribute("class")
    shoot(browser, artifacts, "play-tictactoe-refused")
    status, answer = post(server, "/api/play/move", {"id": view["id"], "action": 4})
    assert status == 409 and "illegal" in answer["error"]
    assert play_view(browser)["steps"] == 2
    # undo takes back my move and the reply; resign ends the game, recorded
    browser.find_element("id", "undo").click()
    wait_your_turn(browser, 0)
    browser.find_element("id", "resign").click()
    view = wait_for(browser, lambda: (lambda v: v if v.get("status") == "over" and v["replay"]
                                      else None)(play_view(browser)), "the resignation")
    assert "resigned" in view["result"]
    end = read_replay(view["replay"]).end
    assert end["forfeit_seat"] == 0 and end["forfeit_reason"] == "resigned"


def test_chess_moves_are_two_clicks_and_promotions_a_choice(manager):
    """Click targets on a chess board: from and to squares, and a promotion shares its
    squares between four moves (found in real random games)."""
    game = manager.registry.make_game("openspiel:chess")
    state = game.new_state(0)
    moves = click_targets(state, state.legal_actions())
    assert {m["label"] for m in moves if m["clicks"] == [[52, 36]]} == {"e4"}  # e2 to e4
    assert all(len(click) == 2 for m in moves for click in m["clicks"])
    import numpy as np

    rng = np.random.default_rng(1)
    for _ in range(200):
        state = game.new_state(int(rng.integers(1000)))
        while not state.is_terminal():
            legal = state.legal_actions()
            names = [state.action_to_string(a) for a in legal]
            if any("=" in name for name in names):
                moves = click_targets(state, legal)
                promoting = [m for m in moves if "=" in m["label"]]
                shared = {tuple(map(tuple, m["clicks"])) for m in promoting}
                assert len(promoting) == 4 * len(shared), promoting
                return
            state.apply(int(rng.choice(legal)))
    pytest.fail("no promotion came up in 200 random games")


def test_keys_spell_the_games_own_actions():
    names = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "LEFTFIRE"]
    assert action_for_keys(names, []) == 0
    assert action_for_keys(names, ["left", "fire"]) == names.index("LEFTFIRE")
    assert action_for_keys(names, ["up", "left"]) == names.index("UPLEFT")
    assert action_for_keys(names, ["right", "fire"]) == names.index("RIGHT")  # no RIGHTFIRE
    assert action_for_keys(["NOOP", "LEFT", "RIGHT", "FIRE"], ["up", "right"]) == 2


def test_minatar_played_on_the_keyboard_paused_by_a_reload_and_ended_by_a_closed_page(
        browser, server, artifacts):
    """Keys move the chicken; a reload pauses the screen game (it waits for a key again, on the
    same step), and a page gone past the grace period ends it as the person's forfeit."""
    status, made = post(server, "/api/play/new", {"game": "minatar:freeway", "agent": "random",
                                                  "seed": 2})
    assert status == 200, made
    browser.get(server.url + f"#play={made['id']}")
    wait_for(browser, lambda: "Press an arrow key" in text_of(browser, "play-status"),
             "the invitation to start")
    body = browser.find_element("tag name", "body")
    ActionChains(browser).key_down(Keys.ARROW_LEFT, body).perform()
    wait_for(browser, lambda: shown_frame(browser) >= 5, "frames")
    ActionChains(browser).key_up(Keys.ARROW_LEFT, body).perform()
    assert "frames/s" in text_of(browser, "play-fps")
    shoot(browser, artifacts, "play-minatar")
    game = server.table.get(made["id"])
    server.table.grace = 30.0  # long enough for any reload on a busy machine
    try:
        browser.refresh()
        wait_for(browser, lambda: "to go on" in text_of(browser, "play-status"),
                 "the invitation to go on")
        paused = len(game.history)  # (the game waits for a key: this is where it stopped)
        wait_for(browser, lambda: shown_frame(browser) == paused, "the paused screen")
        assert game.status == "playing" and not play_view(browser)["started"]
        body = browser.find_element("tag name", "body")  # (the reloaded page's)
        ActionChains(browser).key_down(Keys.ARROW_UP, body).perform()
        wait_for(browser, lambda: shown_frame(browser) >= paused + 5, "frames after the reload")
        ActionChains(browser).key_up(Keys.ARROW_UP, body).perform()
    finally:
        server.table.grace = GRACE
    browser.get("about:blank")  # the tab goes away: past the grace period the game ends
    wait_for(browser, lambda: game.status == "over" and game.replay_path, "the game's end")
    replay = read_replay(game.replay_path)
    actions = [step["action"] for step in replay.steps]
    assert game.names.index("LEFT") in actions[:paused]
    assert game.names.index("UP") in actions[paused:]
    assert replay.end["forfeit_seat"] == 0
    assert replay.end["forfeit_reason"] == "unfinished: the page was closed"


def shown_frame(browser) -> int:
    return int(browser.find_element("id", "play-board").get_attribute("data-frame") or 0)


def test_games_at_once_are_limited(server):
    made = []
    try:
        while len(made) < server.table.limit:
            status, answer = post(server, "/api/play/new", {"game": "tictactoe"})
            assert status == 200, answer
            made.append(server.table.get(answer["id"]))
        status, answer = post(server, "/api/play/new", {"game": "tictactoe"})
        assert status == 429 and "finish one first" in answer["error"]
    finally:
        for game in made:
            game.abandon()
    status, answer = post(server, "/api/play/new", {"game": "hex"})
    assert status == 400 and "\n" not in answer["error"]


# --------------------------------------------------------------------------- live


def test_a_match_in_progress_is_watched_live(browser, server, folders, manager, artifacts):
    registry = manager.registry
    agents = [SlowAgent(registry.make_agent("alphabeta"), 0.4),
              SlowAgent(registry.make_agent("alphabeta:depth=1"), 0.4)]
    browser.get(server.url)
    wait_for(browser, lambda: " replays" in text_of(browser, "list-count"), "the list")
    match = threading.Thread(target=play_match, args=(
        registry.make_game("tictactoe"), agents, 7, ["slow-alphabeta", "slow-depth-1"],
        MatchSettings(replay_dir=str(folders["replays"] / "live"), manager=manager)))
    match.start()
    try:
        # the new game appears in the list by itself, unfinished
        link = wait_for(browser, lambda: browser.find_elements(
            "css selector", "#replay-list a[data-path^='live/']"), "the new game in the list")
        link[0].click()
        wait_for(browser, lambda: browser.find_element("id", "live").is_displayed(),
                 "the live mark")
        seen = set()
        deadline = time.monotonic() + 30
        while match.is_alive() and time.monotonic() < deadline:
            seen.add(browser.execute_script("return document.getElementById('seek').max"))
            time.sleep(0.05)
        shoot(browser, artifacts, "live-match")
    finally:
        match.join()
    path = next((folders["replays"] / "live").glob("*.jsonl"))
    total = len(read_replay(path).steps)
    wait_for(browser, lambda: not browser.find_element("id", "live").is_displayed(),
             "the end of the live game")
    assert text_of(browser, "position") == f"{total} / {total}"  # it followed to the end
    assert len(seen) >= 3, seen  # and showed the game growing on the way


# --------------------------------------------------------------------------- plots


def test_replay_plots_values_and_cumulative_reward(browser, server, folders, artifacts):
    for pattern, title, series in (("c4/*.jsonl", "Value for the mover", 2),
                                   ("minatar/*.jsonl", "Cumulative reward", 1)):
        relative = next(folders["replays"].glob(pattern)).relative_to(folders["replays"])
        browser.get(server.url + f"#path={quote(relative.as_posix())}")
        chart = wait_for(browser, lambda title=title: (
            lambda c: c if c and title in c["text"] else None)(
            browser.execute_script("""
                const svg = document.querySelector('#replay-plot svg[data-points]');
                return svg && {text: svg.textContent, series: Number(svg.dataset.series),
                               points: Number(svg.dataset.points),
                               lines: svg.querySelectorAll('polyline').length};""")),
            f"the replay's plot ({title})")
        assert chart["series"] == series and chart["lines"] == series
        assert chart["points"] > 3
        browser.execute_script("document.getElementById('replay-plot').scrollIntoView()")
        shoot(browser, artifacts, "plot-replay-" + pattern.split("/")[0])


def chart_facts(browser, selector: str) -> dict | None:
    """What one chart drew, read in one go (a push may redraw it at any moment)."""
    return browser.execute_script("""
        const svg = document.querySelector(arguments[0]);
        return svg && {points: Number(svg.dataset.points), rows: Number(svg.dataset.rows),
                       intervals: svg.querySelectorAll('line.interval').length,
                       standings: document.querySelectorAll('#standings tr').length};""",
                                  selector)


def test_run_curves_update_as_metrics_arrive(browser, server, folders, artifacts):
    browser.get(server.url + "#runs")
    wait_for(browser, lambda: chart_facts(browser, "#run-loss svg"), "charts")
    for group in ("return", "evaluation", "loss"):
        assert chart_facts(browser, f"#run-{group} svg")["points"] >= 10, group
    shoot(browser, artifacts, "plot-run")
    append_metrics(str(folders["runs"] / "dqn-breakout"), 1100, {"loss": 0.05})
    wait_for(browser, lambda: (chart_facts(browser, "#run-loss svg") or {}).get("points") == 11,
             "the pushed update")


def test_run_charts_show_one_quantity_each_with_legends_in_their_colours(browser, server,
                                                                       artifacts):
    """Issue 25: legends were all grey (CSS beat the colour), episode length shared the return
    axis, a one-point chart read "14068.2", and long legend names overlapped."""
    browser.get(server.url + "#runs")
    wait_for(browser, lambda: chart_facts(browser, "#run-length svg"), "the length chart")
    facts = browser.execute_script("""
        const chart = (id) => document.querySelector(id + ' svg');
        const legend = [...chart('#run-return').querySelectorAll('text.legend')].map((t) => {
            const box = t.getBBox();
            return {name: t.textContent, fill: getComputedStyle(t).fill,
                    box: [box.x, box.y, box.x + box.width, box.y + box.height]}; });
        const strokes = [...chart('#run-return').querySelectorAll('polyline')].map(
            (p) => getComputedStyle(p).stroke);
        const ticks = [...chart('#run-buffer_size').querySelectorAll('text.tick')].map(
            (t) => t.textContent);
        return {legend, strokes, ticks,
                returnText: chart('#run-return').textContent,
                plotted: [...document.querySelectorAll('#run-charts .plot')].map((d) => d.id)};""")
    legend = facts["legend"]
    assert len(legend) == 3 and len({entry["fill"] for entry in legend}) == 3, legend
    assert [entry["fill"] for entry in legend] == facts["strokes"]  # the colour of its curve
    assert "rgb(107, 114, 128)" not in facts["strokes"]  # (not the grey of the ticks)
    for i, a in enumerate(legend):  # no two names overlap
        for b in legend[i + 1:]:
            apart = a["box"][2] <= b["box"][0] or b["box"][2] <= a["box"][0] or \
                a["box"][3] <= b["box"][1] or b["box"][3] <= a["box"][1]
            assert apart, (a, b)
    assert "length" not in facts["returnText"]
    assert facts["plotted"][:4] == ["run-return", "run-evaluation", "run-loss", "run-length"]
    assert "run-progress_total_steps" not in facts["plotted"]
    assert "14.07k" in facts["ticks"] and not any("14068." in t for t in facts["ticks"])
    browser.execute_script("document.getElementById('run-return').scrollIntoView()")
    shoot(browser, artifacts, "plot-run-legends")


def test_tournament_chart_and_standings_update_as_games_end(browser, server, folders,
                                                             manager, artifacts):
    browser.get(server.url + "#tournaments")
    chart = wait_for(browser, lambda: chart_facts(browser, "#tournament-chart svg[data-rows]"),
                     "the Elo chart")
    assert chart["rows"] == 2
    assert chart["intervals"] == 2  # no anchor: both relative to the mean, both with intervals
    assert chart["standings"] == 3
    shoot(browser, artifacts, "plot-tournament")
    with Ledger(folders["ledger"]) as book:
        record_game(manager, book, ["alphabeta", "random"], 6)
    wait_for(browser, lambda: browser.execute_script(
        "return document.getElementById('tournament-view').dataset.games") == "7",
        "the standings after one more game")
    assert "7 games" in text_of(browser, "tournament-games")


# --------------------------------------------------------------------------- refusals


def test_new_routes_keep_the_refusals(server, folders):
    port = server.server_address[1]
    for method, path, body in (("GET", "/api/live/replays", None),
                               ("GET", "/api/live/runs", None),
                               ("GET", "/api/live/tournaments", None),
                               ("GET", "/api/runs", None),
                               ("POST", "/api/play/new", b'{"game": "tictactoe"}')):
        for host, expected in ((f"evil.example:{port}", 403), (f"localhost:{port}", 200)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(method, path, body=body, headers={
                "Host": host, "Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == expected, (method, path, host)
            if expected == 200 and path == "/api/play/new":
                server.table.get(json.loads(response.read())["id"]).abandon()
            connection.close()
    outside = "../" + folders["ledger"].name
    for path in (f"/api/live/replay?path={quote(outside)}", f"/api/run?path={quote('../..')}",
                 f"/api/live/run?path={quote('/etc')}"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        assert connection.getresponse().status == 403, path
        connection.close()
    status, answer = post(server, "/api/play/new", {"game": "tictactoe"},
                          {"Origin": "http://evil.example"})
    assert status == 403 and "other sites" in answer["error"]
    request = urllib.request.Request(server.url + "api/play/new", data=b"game=tictactoe",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 415


# --------------------------------------------------------------------------- the command


def test_play_command_serves_the_game_in_the_browser(browser, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "play", "tictactoe", "human", "random", "--browser",
         "--no-open", "--replays", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        line = process.stdout.readline()
        assert "your game is at" in line, line + process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        browser.get(url)
        wait_your_turn(browser, 0)
        browser.find_element("id", "resign").click()
        assert process.wait(timeout=60) == 0
        out = process.stdout.read()
        assert "resigned" in out and "replay:" in out, out
    finally:
        process.kill()
        process.wait()
    assert len(list(tmp_path.glob("*.jsonl"))) == 1


def test_a_person_plays_stockfish_in_the_browser(browser, tmp_path):
    """Black is seat 0 in OpenSpiel's chess, so Stockfish (White) moves first over UCI."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "play", "openspiel:chess", "human",
         "uci:cmd=stockfish,depth=1", "--browser", "--no-open", "--replays", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stdout.readline()
        assert "your game is at" in line, line + process.stderr.read()
        browser.get(line.split(" at ")[1].split()[0])
        view = wait_your_turn(browser, 1)  # Stockfish has moved
        assert view["steps"] == 1
        browser.find_element("id", "resign").click()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
    replay = read_replay(next(tmp_path.glob("*.jsonl")))
    assert replay.steps[0]["player"] == 1 and replay.steps[0]["info"]["move"][:2] in {
        f"{c}{r}" for c in "abcdefgh" for r in "12"}


@pytest.mark.parametrize("page", ["x" * 65, "caf\u00e9", "tab\tbed"])
def test_new_refuses_the_page_tokens_attach_refuses(server, page):
    status, answer = post(server, "/api/play/new", {"game": "tictactoe", "page": page})
    assert status == 400 and "page must be a short token" in answer["error"], answer


def test_the_page_starts_no_engine_it_was_not_granted(server, monkeypatch):
    monkeypatch.delenv("GAMEPIT_ALLOW_ENGINE", raising=False)
    status, answer = post(server, "/api/play/new", {"game": "go:size=9",
                                                    "agent": "gtp:cmd=gnugo --mode gtp"})
    assert status == 400 and "--allow-engine gnugo" in answer["error"], answer


def test_play_browser_mistakes_are_one_line(cli):
    for arguments, message in (
            (("openspiel:hex", "human", "random"), "neither a board view nor screens"),
            (("tictactoe", "random", "random"), "name 'human' as exactly one"),
            (("tictactoe", "human", "nosuchagent"), "unknown agent"),
            (("tictactoe", "human:x=1", "random"), "no option 'x'"),
            (("tictactoe", "human", "random", "--isolate"), "--isolate"),
            (("tictactoe", "human", "random", "--move-time", "5"), "--move-time"),
            (("tictactoe", "human", "random", "--reconnect-grace", "nan"), "--reconnect-grace")):
        done = cli("play", *arguments, "--browser", "--no-open", "--no-replays")
        assert done.returncode == 2, done.stderr
        lines = [line for line in done.stderr.splitlines()
                 if not line.startswith("gamepit: warning")]
        assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.parametrize("spec", ["go:size=9", "openspiel:othello", "tictactoe"])
def test_placing_games_are_one_click_on_the_cell_played(manager, spec):
    """Go (captures empty cells), othello (flips change others) and tic-tac-toe: a move is a
    click on the cell it fills (these games number their moves by cell); pass is a button."""
    import numpy as np

    game = manager.registry.make_game(spec)
    state, rng = game.new_state(0), np.random.default_rng(0)
    for _ in range(30):
        if state.is_terminal():
            break
        for move in click_targets(state, state.legal_actions(), game.action_to_string):
            assert move["clicks"] in ([[move["action"]]], []), move
            assert move["clicks"] or move["label"].lower() == "pass", move
        state.apply(int(rng.choice(state.legal_actions())))


class LineAgent(Agent):
    """Plays its side of a fixed line of moves: the opponent's half of a random chess game
    that reaches a promotion, so the person's side can be led there."""

    line: list[int] = []

    def reset(self, game, player, seed=None) -> None:
        super().reset(game, player, seed)
        self.moves = iter(self.line)

    def act(self, state: State) -> int:
        return next(self.moves)


def promotion_line(game) -> tuple[list[tuple[int, int]], int]:
    """(player, action) moves of a random game up to a position where the side to move can
    promote, and that side."""
    import numpy as np

    for seed in range(200):
        rng, state, moves = np.random.default_rng(seed), game.new_state(0), []
        while not state.is_terminal() and len(moves) < 400:
            legal = state.legal_actions()
            if any("=" in state.action_to_string(a) for a in legal):
                return moves, state.current_player
            action = int(rng.choice(legal))
            moves.append((state.current_player, action))
            state.apply(action)
    pytest.fail("no promotion came up in 200 random games")


def test_chess_promotion_is_chosen_on_the_page(browser, tmp_path, artifacts):
    from gamepit.plugins import hookimpl
    from gamepit.protocols import agent as agent_entry

    class Plugin:
        @hookimpl
        def gamepit_add_agents(self):
            return [agent_entry("line", LineAgent, "Plays a fixed line of moves.")]

    manager = PluginManager(autoload=False)
    manager.register(Plugin(), name="line-agent")
    game = manager.registry.make_game("openspiel:chess")
    moves, seat = promotion_line(game)
    LineAgent.line = [action for player, action in moves if player != seat]
    viewer = ViewerServer(tmp_path, manager.registry, port=0, manager=manager)
    viewer.start_in_thread()
    try:
        status, made = post(viewer, "/api/play/new", {"game": "openspiel:chess",
                                                      "agent": "line", "seat": seat, "seed": 0})
        assert status == 200, made
        browser.get(viewer.url + f"#play={made['id']}")
        playing = viewer.table.get(made["id"])
        for step, (player, action) in enumerate(moves):
            if player == seat:  # my half of the line, sent as the page would send it
                wait_for(browser, lambda step=step: len(playing.history) == step
                         and playing.status == "playing", f"my turn at move {step}")
                assert post(viewer, "/api/play/move", {"id": made["id"], "action": action})[0] \
                    == 200
        view = wait_your_turn(browser, len(moves))
        promoting = [move for move in view["moves"] if "=" in move["label"]]
        start, end = promoting[0]["clicks"][0]
        click_cell(browser, start)
        click_cell(browser, end)
        buttons = wait_for(browser, lambda: browser.find_element("id", "promotion").is_displayed()
                           and browser.find_elements("css selector", "#promotion button"),
                           "the choice of piece")
        labels = [button.text for button in buttons]
        assert sorted(label.split("=")[1][0] for label in labels) == ["B", "N", "Q", "R"], labels
        shoot(browser, artifacts, "play-chess-promotion")
        next(button for button in buttons if "=N" in button.text).click()  # underpromote
        view = wait_for(browser, lambda: (lambda v: v if v["steps"] > len(moves) else None)(
            play_view(browser)), "the promotion played")
        assert view["board"]["cells"][end] in ("N", "n"), view["board"]["cells"][end]
    finally:
        viewer.shutdown()
        viewer.server_close()


def test_the_page_cannot_seat_the_terminal_human(server):
    """'human' is the terminal agent: seated by a page it would wait on the server's terminal."""
    for spec in ("human", "human:x=1", " human"):
        status, answer = post(server, "/api/play/new", {"game": "tictactoe", "agent": spec})
        assert status == 400 and "terminal" in answer["error"], (spec, answer)
    assert not any(game.agent_spec.strip().startswith("human")
                   for game in list(server.table._games.values()))


def test_runs_and_ledgers_are_named_only_inside_their_bounds(tmp_path, manager):
    """A run whose metrics.jsonl is a link out of the runs folder is neither listed nor read
    (as a replay linked out is refused), and ledgers are numbered from 0 only."""
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    append_metrics(str(runs / "good"), 1, {"loss": 1.0})
    append_metrics(str(outside), 1, {"secret": 42.0})
    (runs / "linked").mkdir()
    (runs / "linked" / "metrics.jsonl").symlink_to(outside / "metrics.jsonl")
    ledger = tmp_path / "ledger.sqlite"
    with Ledger(ledger) as book:
        book.open_tournament("league", "tictactoe", 0, {})
    viewer = ViewerServer(tmp_path, manager.registry, port=0, runs=runs, ledgers=[ledger],
                          manager=manager)
    viewer.start_in_thread()
    try:
        port = viewer.server_address[1]

        def status_of(path: str) -> tuple[int, bytes]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read() if response.status != 200 or "/live/" not in path else b""
            connection.close()
            return response.status, body

        status, body = status_of("/api/runs")
        assert status == 200 and [run["path"] for run in json.loads(body)["runs"]] == ["good"]
        for path in ("/api/run?path=linked", "/api/live/run?path=linked"):
            status, body = status_of(path)
            assert status == 403 and b"secret" not in body, (path, body)
        assert status_of("/api/tournament?ledger=0&name=league")[0] == 200
        for index in ("-1", "+0", " 0"):
            assert status_of(f"/api/tournament?ledger={quote(index)}&name=league")[0] == 404
            assert status_of(f"/api/live/tournament?ledger={quote(index)}")[0] == 404
    finally:
        viewer.shutdown()
        viewer.server_close()


def first_events(port: int, path: str, count: int, timeout: float = 30) -> list[dict]:
    """The first ``count`` events of a stream, read from a raw connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    events = []
    try:
        while len(events) < count:
            line = response.fp.readline()
            if line.startswith(b"data: "):
                events.append(json.loads(line[len(b"data: "):]))
    finally:
        connection.close()
    return events


def test_a_ledger_and_runs_folder_made_after_the_viewer_started_appear_live(
        browser, tmp_path, manager, artifacts):
    """Start the viewer first, then the tournament and the training: the ledger and the runs
    folder need not exist yet, and the pages (empty until then) fill in as they are written."""
    ledger, runs = tmp_path / "later.sqlite", tmp_path / "runs"
    viewer = ViewerServer(tmp_path, manager.registry, port=0, runs=runs, ledgers=[ledger],
                          manager=manager)
    viewer.start_in_thread()
    port = viewer.server_address[1]
    try:
        assert first_events(port, "/api/live/tournaments", 1)[0]["type"] == "changed"
        assert first_events(port, "/api/live/runs", 1)[0]["type"] == "changed"
        browser.get(viewer.url + "#tournaments")
        wait_for(browser, lambda: "not created yet" in text_of(browser, "tournament-list"),
                 "the ledger listed as not created yet")
        with Ledger(ledger) as book:
            book.open_tournament("league", "tictactoe", 0, {})  # (record_game's name)
            for index in range(2):
                record_game(manager, book, ["alphabeta", "random"], index)
        wait_for(browser, lambda: browser.execute_script(
            "const v = document.getElementById('tournament-view');"
            "return v && v.dataset.games") == "2", "the new tournament's standings")
        shoot(browser, artifacts, "plot-tournament-late")
        browser.get(viewer.url + "#runs")
        wait_for(browser, lambda: "0 runs" in text_of(browser, "runs-list"), "an empty list")
        append_metrics(str(runs / "late"), 100, {"loss": 0.5})
        append_metrics(str(runs / "late"), 200, {"loss": 0.25})
        wait_for(browser, lambda: (chart_facts(browser, "#run-loss svg") or {}).get("points")
                 == 2, "the new run's curve")
    finally:
        browser.get("about:blank")
        viewer.shutdown()
        viewer.server_close()


def test_view_reconnect_grace_is_the_wait_for_a_page(cli, tmp_path):
    done = cli("view", str(tmp_path), "--no-browser", "--reconnect-grace", "-1")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "--reconnect-grace" in done.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "view", str(tmp_path), "--port", "0", "--no-browser",
         "--reconnect-grace", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(" at ")[1].split()[0]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        request = urllib.request.Request(url + "api/play/new", data=b'{"game": "tictactoe"}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            game_id = json.loads(response.read())["id"]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/api/play/events?id={game_id}&page=a")
        stream = connection.getresponse()
        assert next_event(stream)["your_turn"]
        request = urllib.request.Request(url + "api/play/move",
                                         data=json.dumps({"id": game_id, "action": 4}).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).close()
        stream.close()
        connection.close()  # the page goes; 0.2 s later (not 30) its game is over

        def state() -> dict:
            with urllib.request.urlopen(f"{url}api/play/state?id={game_id}&page=a",
                                        timeout=30) as response:
                return json.loads(response.read())

        wait_until(lambda: state()["status"] == "over" and state()["result"], 15)
    finally:
        process.kill()
        process.wait()
    (replay,) = tmp_path.glob("*.jsonl")
    assert read_replay(replay).end["forfeit_reason"] == "unfinished: the page was closed"


def test_view_names_a_ledger_or_runs_folder_not_made_yet_in_one_note(cli, tmp_path):
    """A ledger or runs folder that does not exist yet is a note (it may be a typo), one
    whose folder does not exist either is an error, as is a folder given as a ledger."""
    for arguments, message in (
            (("--ledger", str(tmp_path / "no" / "l.sqlite")), "no such folder"),
            (("--ledger", str(tmp_path)), "not a file"),
            (("--runs", str(tmp_path / "no" / "runs")), "no such folder")):
        done = cli("view", str(tmp_path), "--port", "0", "--no-browser", *arguments)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert message in done.stderr, done.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "view", str(tmp_path), "--port", "0", "--no-browser",
         "--ledger", str(tmp_path / "l.sqlite"), "--runs", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in process.stdout.readline()
        notes = [process.stderr.readline(), process.stderr.readline()]
        assert all(note.startswith("gamepit viewer: note:") and "does not exist yet" in note
                   for note in notes), notes
    finally:
        process.kill()
        process.wait()


def test_a_page_that_hangs_up_as_its_game_stream_opens_ends_the_game(server):
    """The tab closed (a reset) between asking for its game's stream and the answer: the game
    must still end, not hold one of the server's few game slots for ever."""
    import struct

    status, answer = post(server, "/api/play/new", {"game": "tictactoe"})
    assert status == 200, answer
    game = server.table.get(answer["id"])
    client = socket.create_connection(("127.0.0.1", server.server_address[1]))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    port = server.server_address[1]
    client.sendall(f"GET /api/play/events?id={game.id} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
    client.close()  # a reset, before the server answers
    deadline = time.monotonic() + 30
    while game.status != "over" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert game.status == "over" and not game.streaming, (game.status, game.streaming)


def test_an_agent_still_thinking_for_a_closed_page_keeps_its_game_slot(tmp_path, manager):
    """The limit on games at once bounds the agents thinking at once: a page closed while its
    agent thinks frees its slot (and closes the agent) only once the agent has answered."""
    viewer = ViewerServer(tmp_path, manager.registry, port=0, manager=manager, max_games=1,
                          play_replays=False, reconnect_grace=0.2)  # (the agent takes 5 s)
    viewer.start_in_thread()
    port = viewer.server_address[1]
    try:
        game = viewer.table.new("tictactoe", "alphabeta", 0, 0)
        game.agent = SlowAgent(game.agent, 5.0)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/api/play/events?id={game.id}")
        response = connection.getresponse()
        wait_until(lambda: game.status == "playing")
        assert post(viewer, "/api/play/move", {"id": game.id, "action": 4})[0] == 200
        wait_until(lambda: game.status == "thinking")
        response.close()
        connection.close()  # the tab is closed while the agent thinks
        wait_until(lambda: game.status == "over")
        status, answer = post(viewer, "/api/play/new", {"game": "tictactoe"})
        assert status == 429, answer  # its agent is still thinking
        wait_until(lambda: post(viewer, "/api/play/new", {"game": "tictactoe"})[0] == 200)
    finally:
        viewer.shutdown()
        viewer.server_close()


def wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_damaged_ledger_rows_are_skipped_and_counted(tmp_path, manager):
    """A ledger is untrusted like a replay: rows whose JSON is of the wrong shape (edited, or
    written by something else) are left out of the standings and counted, not a 500."""
    import sqlite3

    from gamepit.viewer import charts

    ledger = tmp_path / "ledger.sqlite"
    with Ledger(ledger) as book:
        book.open_tournament("league", "tictactoe", 0, {})
        for index in range(10):
            record_game(manager, book, ["alphabeta", "random"], index)
    damage = [("pairing", "5"), ("returns", '"x"'), ("agents", "null"), ("returns", "[1]"),
              ("pairing", '["a"]'), ("returns", '["a", "b"]'), ("agents", '["x", "y"]'),
              ("returns", "[1, 2, 3]")]
    with contextlib.closing(sqlite3.connect(ledger)) as connection:
        for row, (column, value) in enumerate(damage, 1):
            connection.execute(f"UPDATE results SET {column} = ? WHERE id = ?", (value, row))
        connection.commit()
    table = charts.standings(ledger, "league")
    assert table["games"] == 2 and table["skipped"] == len(damage), table
    assert {row["agent"] for row in table["table"]} == {"alphabeta", "random"}


def test_ctrl_c_on_play_browser_records_the_game_and_says_where(tmp_path):
    """Ctrl-C while a game is being played: recorded as unfinished, and the command says so
    and where the replay is, as when the game ends on the page."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "play", "connect_four", "human", "random",
         "--browser", "--no-open", "--replays", str(tmp_path)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_hears_ctrl_c)
    try:
        line = process.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        port, game_id = int(url.split(":")[2].split("/")[0]), url.split("play=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/api/play/events?id={game_id}")
        response = connection.getresponse()
        while b"your_turn\":true" not in response.fp.readline():
            pass
        body = json.dumps({"id": game_id, "action": 3}).encode()
        request = urllib.request.Request(url.split("#")[0] + "api/play/move", data=body,
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        out, err = process.communicate()
        assert "stopped" in out and "replay:" in out and not err, (out, err)
    finally:
        process.kill()
        process.wait()
    (replay,) = tmp_path.glob("*.jsonl")
    assert read_replay(replay).end["forfeit_reason"] == "unfinished: the server stopped"
