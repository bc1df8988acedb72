// Playing in the browser (#play: the form, #play=ID: a game). The server holds the game and
// the agent; this page draws what it pushes (/api/play/events), sends clicks, keys, undo and
// resign, and shows the agent's thinking with the replay view's panels (window.gamepit.board).
// A reload, or a connection that drops and comes back, finds the same game: the address keeps
// its id, and this tab's token (sessionStorage: kept across reloads, not shared with other
// tabs) is what the server lets follow it; the server waits a while for the page to return.
"use strict";
(() => {
  const gamepit = (window.gamepit = window.gamepit || {});
  const $ = (id) => document.getElementById(id);
  const canvas = $("play-board");
  const PAGE = tabToken();
  let stream = null;
  let view = null; // the last position the server pushed
  let gameId = null;
  let handedOver = null; // a game another tab took over: this page must not take it back
  let selected = null; // the square a chess-style move starts from
  let refusedCell = null;
  const KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", " ": "fire" };
  const held = new Set();
  // frames drawn, with when: the page's frame rate (and the benchmark's)
  window.gamepitPlayFrames = [];

  function tabToken() {
    const random = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
      (byte) => byte.toString(16).padStart(2, "0")).join("");
    try {
      let token = sessionStorage.getItem("gamepit-page");
      if (!token) sessionStorage.setItem("gamepit-page", token = random());
      return token;
    } catch (error) {
      return random(); // no storage: this load of the page only
    }
  }

  function remember(id) {
    try { sessionStorage.setItem("gamepit-game", id); } catch (error) { /* a nicety */ }
  }

  function remembered() {
    try { return sessionStorage.getItem("gamepit-game"); } catch (error) { return null; }
  }

  async function post(path, body) {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function say(text, refused = false) {
    $("play-status").textContent = text;
    $("play-status").classList.toggle("refused", refused);
  }

  // ------------------------------------------------------------------ the form

  async function showForm() {
    $("play-form").hidden = false;
    try {
      const options = await gamepit.board.getJSON("/api/play/options");
      const el = gamepit.board.element;
      $("play-games").replaceChildren(...options.games.map((name) => el("option", { value: name })));
      $("play-agents").replaceChildren(...options.agents.map((name) => el("option", { value: name })));
      $("play-form-note").textContent = `at most ${options.limit} games at once on this server`;
    } catch (error) {
      $("play-form-note").textContent = "cannot reach the server: " + error.message;
      return;
    }
    const id = remembered(); // a game this tab left for another page of the viewer
    if (!id) return;
    try {
      const state = await gamepit.board.getJSON(`/api/play/state?id=${encodeURIComponent(id)}&page=${PAGE}`);
      if (state.status === "over" || !state.yours) return;
      const el = gamepit.board.element;
      $("play-form-note").replaceChildren(el("a", { href: "#play=" + id, id: "play-resume" },
        "back to your game in progress"), ` (it ends if you do not come back soon)`);
    } catch (error) { /* it ended */ }
  }

  $("play-form").onsubmit = async (event) => {
    event.preventDefault();
    try {
      const made = await post("/api/play/new", { game: $("play-game-spec").value.trim(),
        agent: $("play-agent-spec").value.trim(), seat: Number($("play-seat").value), page: PAGE });
      location.hash = "#play=" + made.id;
    } catch (error) {
      $("play-form-note").textContent = error.message;
    }
  };

  // ------------------------------------------------------------------ a game

  function open(id) {
    leave();
    gameId = id;
    view = null;
    selected = null;
    $("play-game").hidden = false;
    $("play-form").hidden = true;
    showBoard(false); // until the game comes: a refused page has no board to click
    say("connecting…");
    window.gamepitPlayFrames = [];
    remember(id);
    const mine = new EventSource(`/api/play/events?id=${encodeURIComponent(id)}&page=${PAGE}`);
    stream = mine;
    mine.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "frame") drawFrame(event);
      else if (event.type === "position") showPosition(event);
      else if (event.type === "replaced") {
        mine.close(); // (else it would reconnect, and take the game back)
        handedOver = id;
        showBoard(false);
        say("This game was opened again in another tab of this browser; play it there.", true);
      }
    };
    mine.onerror = () => {
      if (stream !== mine) return;
      if (mine.readyState === EventSource.CLOSED) explain(id); // refused: say why
      else if (!view || view.status !== "over") say("Connection lost: reconnecting…", true); // EventSource retries
    };
  }

  // The server refused this game's stream: ask it why, in words.
  async function explain(id) {
    try {
      const state = await gamepit.board.getJSON(`/api/play/state?id=${encodeURIComponent(id)}&page=${PAGE}`);
      if (!state.yours) say("This game is being played in another tab: only the tab that started it can play it. It is listed with the replays once it ends.", true);
      else say("The server cannot send this game now (too many open pages?); reload to try again.", true);
    } catch (error) {
      say(`Cannot open this game: ${error.message}.`, true);
    }
  }

  function showBoard(shown) {
    for (const id of ["play-stage", "play-move", "play-info"]) $(id).hidden = !shown;
    if (!shown) view = window.gamepitPlayView = null;
  }

  function leave() {
    if (stream) stream.close(); // the server keeps the game a while for this tab to come back
    stream = null;
    gameId = null;
    held.clear();
  }

  function seatName(seat) {
    const names = view.player_names || [];
    return names[seat] || `player ${seat + 1}`;
  }

  function showPosition(event) {
    view = event;
    showBoard(true);
    window.gamepitPlayView = view; // (the tests and the latency benchmark read it)
    const you = view.human_seat;
    $("play-title").textContent = view.kind === "frames" ? `${view.game}: you play`
      : `${view.game}: you (${seatName(you)}) vs ${view.agents[1 - you]}`;
    $("play-keys").hidden = view.kind !== "frames";
    $("undo").hidden = view.kind === "frames";
    $("undo").disabled = !view.can_undo;
    $("resign").disabled = view.status === "over";
    if (view.status === "over") say(`Game over: ${view.result}.` + (view.replay ? ` Recorded in ${view.replay}.` : ""));
    else if (view.kind === "frames") say(view.started ? `score ${view.score}` : view.steps
      ? "Paused while the page was away: press an arrow key or space to go on."
      : "Press an arrow key or space to start.");
    else if (view.status === "thinking") say(`${view.agents[1 - you]} is thinking…`);
    else if (view.your_turn) say(`Your move (${seatName(you)}).`);
    else say("waiting…");
    canvas.dataset.status = view.status;
    canvas.dataset.steps = view.steps;
    if (view.kind === "board") drawPosition();
  }

  function lastMoveWasAgents() {
    return view.history.length && view.history[view.history.length - 1].player !== view.human_seat;
  }

  function drawPosition() {
    const agentMove = view.agent_move || null;
    const board = view.board;
    const heat = agentMove && lastMoveWasAgents() ? gamepit.board.heatOf(agentMove.info, board) : null;
    gamepit.board.drawBoard(board, agentMove && lastMoveWasAgents() ? agentMove.board : null, heat, canvas);
    marks();
    const el = gamepit.board.element;
    $("play-buttons").replaceChildren(...view.moves.filter((m) => !m.clicks.length).map((m) =>
      el("button", { type: "button", "data-action": m.action }, m.label)));
    for (const button of $("play-buttons").querySelectorAll("button")) {
      button.onclick = () => send(Number(button.dataset.action));
    }
    $("promotion").hidden = true;
    $("play-history").replaceChildren(...view.history.map((h) => el("li", {},
      `${h.player === view.human_seat ? "you" : view.agents[h.player]}: ${h.label}`)));
    if (agentMove) {
      const names = agentMove.names || {};
      const name = (action) => names[action] !== undefined ? names[action] : String(action);
      $("play-move").textContent = `${view.agents[1 - view.human_seat]} played ${agentMove.label}` +
        ` after ${agentMove.seconds.toFixed(3)} s. Its thinking:`;
      $("play-info").replaceChildren(...gamepit.board.infoPanels(agentMove.info, name));
    } else {
      $("play-move").textContent = "";
      $("play-info").replaceChildren();
    }
  }

  // Geometry of the board on the canvas (drawBoard leaves room above for column shares).
  function geometry() {
    const board = view.board;
    const cell = canvas.width / board.cols;
    return { cell, top: canvas.height - board.rows * cell };
  }

  // The selected square, where it can go, and a refused click, over the drawn board.
  function marks() {
    const { cell, top } = geometry();
    const ctx = canvas.getContext("2d");
    const box = (index, colour, width) => {
      const row = Math.floor(index / view.board.cols), col = index % view.board.cols;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.strokeRect(col * cell + 3, top + row * cell + 3, cell - 6, cell - 6);
    };
    if (selected !== null) {
      box(selected, "#2563eb", 4);
      for (const m of view.moves) for (const c of m.clicks) if (c.length === 2 && c[0] === selected) box(c[1], "#60a5fa", 2);
    }
    if (refusedCell !== null) box(refusedCell, "#dc2626", 5);
  }

  function cellAt(event) {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left) * canvas.width / rect.width;
    const y = (event.clientY - rect.top) * canvas.height / rect.height;
    const { cell, top } = geometry();
    const row = Math.floor((y - top) / cell), col = Math.floor(x / cell);
    if (row < 0 || col < 0 || row >= view.board.rows || col >= view.board.cols) return null;
    return row * view.board.cols + col;
  }

  function refuse(index, why) {
    refusedCell = index;
    say(why, true);
    drawPosition();
    canvas.dataset.refused = String(Number(canvas.dataset.refused || 0) + 1);
    setTimeout(() => { if (refusedCell === index) { refusedCell = null; if (view && view.kind === "board") drawPosition(); } }, 1200);
  }

  function clicked(index) {
    if (!view || view.kind !== "board" || index === null) return;
    const name = cellName(index);
    if (view.status === "over") return refuse(index, "The game is over.");
    if (!view.your_turn) return refuse(index, `Not your turn: ${name} refused.`);
    const moves = view.moves;
    const starts = (i) => moves.some((m) => m.clicks.some((c) => c.length === 2 && c[0] === i));
    let chosen = [];
    if (selected !== null) {
      chosen = moves.filter((m) => m.clicks.some((c) => c.length === 2 && c[0] === selected && c[1] === index));
      if (!chosen.length) {
        if (starts(index)) { selected = index; drawPosition(); return; }
        const from = cellName(selected);
        selected = null;
        return refuse(index, `Illegal move: no move from ${from} to ${name}.`);
      }
    } else {
      chosen = moves.filter((m) => m.clicks.some((c) => c.length === 1 && c[0] === index));
      if (!chosen.length && starts(index)) { selected = index; drawPosition(); return; }
      if (!chosen.length && view.board.style === "discs") { // a drop game: anywhere in the column
        const col = index % view.board.cols;
        const inColumn = moves.filter((m) => m.clicks.some((c) => c.length === 1 && c[0] % view.board.cols === col));
        if (inColumn.length === 1) chosen = inColumn;
      }
    }
    if (!chosen.length) return refuse(index, `Illegal move: ${name} is not a legal move here.`);
    selected = null;
    if (chosen.length === 1) return send(chosen[0].action);
    choose(chosen); // several moves share these squares: a promotion
  }

  function cellName(index) {
    const board = view.board;
    const row = Math.floor(index / board.cols), col = index % board.cols;
    return `${String.fromCharCode(97 + col)}${board.rows - row}`;
  }

  function choose(moves) {
    const el = gamepit.board.element;
    $("promotion").replaceChildren(el("span", {}, "Promote to: "), ...moves.map((m) =>
      el("button", { type: "button", "data-action": m.action }, m.label)));
    for (const button of $("promotion").querySelectorAll("button")) {
      button.onclick = () => send(Number(button.dataset.action));
    }
    $("promotion").hidden = false;
    say("Choose the piece.");
  }

  async function send(action) {
    $("promotion").hidden = true;
    try {
      await post("/api/play/move", { id: gameId, action });
    } catch (error) {
      say(error.message, true);
    }
  }

  canvas.addEventListener("click", (event) => { if (view) clicked(cellAt(event)); });
  $("undo").onclick = async () => {
    try { await post("/api/play/undo", { id: gameId }); } catch (error) { say(error.message, true); }
  };
  $("resign").onclick = async () => {
    try { await post("/api/play/resign", { id: gameId }); } catch (error) { say(error.message, true); }
  };

  // ------------------------------------------------------------------ screen games

  let frameImage = null;
  function drawFrame(event) {
    const image = new Image();
    frameImage = image;
    image.onload = () => {
      if (frameImage !== image) return; // a newer frame came first
      const scale = Math.max(1, Math.floor(480 / Math.max(image.width, image.height)));
      if (canvas.width !== image.width * scale) canvas.width = image.width * scale;
      if (canvas.height !== image.height * scale) canvas.height = image.height * scale;
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      const frames = window.gamepitPlayFrames;
      frames.push(performance.now());
      canvas.dataset.frame = event.step;
      if (frames.length > 1) {
        const recent = frames.slice(-30);
        const rate = (recent.length - 1) / ((recent[recent.length - 1] - recent[0]) / 1000);
        $("play-fps").textContent = `${rate.toFixed(1)} frames/s`;
      }
      if (view && view.status !== "over" && view.started && event.step > 0) say(`score ${event.score}`);
    };
    image.src = "data:image/png;base64," + event.image;
  }

  function keys(event, down) {
    if ($("play-page").hidden || !view || view.kind !== "frames" || !(event.key in KEYS)) return;
    event.preventDefault();
    const key = KEYS[event.key];
    const before = held.has(key);
    if (down) held.add(key); else held.delete(key);
    if (before !== down) post("/api/play/keys", { id: gameId, keys: [...held] }).catch(() => {});
  }
  // Chromium keeps a page the person navigated away from (back/forward cache) with its streams
  // open, so the server would never hear the page left: close the stream as the page hides
  // (the server then waits its grace period), and open it again if the page is brought back.
  window.addEventListener("pagehide", () => { if (stream) stream.close(); stream = null; });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && gameId && gameId !== handedOver) open(gameId);
  });
  document.addEventListener("keydown", (event) => keys(event, true));
  document.addEventListener("keyup", (event) => keys(event, false));

  gamepit.pages = Object.assign(gamepit.pages || {}, {
    play: (id) => {
      if (id) {
        if (id !== gameId) open(id);
      } else {
        leave();
        $("play-game").hidden = true;
        showForm();
      }
    },
  });
  const previousLeave = gamepit.pages.leave;
  gamepit.pages.leave = () => { leave(); if (previousLeave) previousLeave(); };
})();
