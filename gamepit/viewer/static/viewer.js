// The gamepit replay viewer page. Plain JavaScript, no build step.
// Two modes: served by `gamepit view` (a list from /api/replays, replays from /api/replay,
// screens from /api/frame), or embedded in one exported HTML file (window.GAMEPIT_EMBEDDED
// holds the replay and, for pixel games, its screens as data URIs).
// Served, it also routes between the pages (#play, #runs, #tournaments; plots.js and play.js
// draw those), follows replays still being written (pushes from /api/live/...), and lends its
// board drawing and agent-info panels to the play page (window.gamepit.board).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const gamepit = (window.gamepit = window.gamepit || {});
  const embedded = window.GAMEPIT_EMBEDDED || null;
  const canvas = $("board");
  let ctx = canvas.getContext("2d"); // drawBoard points it at the canvas it draws on

  let replay = null; // what /api/replay returned
  let position = 0; // positions run 0..num_steps: the state after that many actions
  let timer = null;

  // ------------------------------------------------------------------ helpers

  async function getJSON(url) {
    const response = await fetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // A move's name: from the position it was played in when the game names moves that way
  // (chess), else from the game's list, else its number.
  function label(action, step) {
    const named = step !== undefined && replay.steps[step] && replay.steps[step].labels;
    if (named && named[action] !== undefined) return named[action];
    const labels = replay.action_labels || [];
    return action >= 0 && action < labels.length ? labels[action] : String(action);
  }

  function agentOf(player) {
    const agents = replay.header.agents || [];
    return player >= 0 && player < agents.length ? agents[player] : `player ${player}`;
  }

  function number(value, digits = 3) {
    return typeof value === "number" ? value.toFixed(digits) : String(value);
  }

  function asArray(value) {
    return Array.isArray(value) && value.every((x) => typeof x === "number") ? value : null;
  }

  // ------------------------------------------------------------------ the replay list

  async function loadList() {
    const params = new URLSearchParams();
    for (const [key, id] of [["game", "filter-game"], ["agent", "filter-agent"],
      ["result", "filter-result"]]) {
      const value = $(id).value.trim();
      if (value) params.set(key, value);
    }
    let data;
    try {
      data = await getJSON("/api/replays?" + params);
    } catch (error) {
      $("list-count").textContent = "cannot list replays: " + error.message;
      return;
    }
    $("where").textContent = data.root;
    const games = $("filter-game");
    const chosen = games.value;
    games.replaceChildren(element("option", { value: "" }, "all games"),
      ...data.games.map((name) => element("option", { value: name }, name)));
    games.value = chosen;
    $("agent-names").replaceChildren(...data.agents.map((spec) => element("option", { value: spec })));
    const shown = data.replays.length;
    let count = `${shown} of ${data.total} replays`;
    if (data.unreadable.length) count += ` (${data.unreadable.length} unreadable)`;
    $("list-count").textContent = count;
    $("replay-list").replaceChildren(...data.replays.map((row) => {
      const link = element("a", { href: "#path=" + encodeURIComponent(row.path), "data-path": row.path },
        element("div", { class: "game" }, row.game),
        element("div", {}, row.agents.join(" vs ")),
        element("div", { class: "meta" },
          `${row.result} · ${row.steps} steps · ${row.created.replace("T", " ").slice(0, 16)}`));
      return element("li", {}, link);
    }), ...data.unreadable.map((bad) => element("li", { class: "bad", title: bad.error },
      element("div", { class: "game" }, bad.path),
      element("div", { class: "meta" }, "cannot list: " + bad.error))));
    markCurrent();
  }

  function markCurrent() {
    for (const link of document.querySelectorAll("#replay-list a")) {
      link.classList.toggle("current", replay !== null && link.dataset.path === replay.relative);
    }
  }

  // ------------------------------------------------------------------ opening a replay

  function fromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    return { path: params.get("path"), step: params.has("step") ? Number(params.get("step")) : null };
  }

  async function openFromHash() {
    const wanted = fromHash();
    if (!wanted.path) return;
    if (replay && replay.relative === wanted.path) {
      if (wanted.step !== null) show(wanted.step);
      return;
    }
    pause();
    $("problem").hidden = true;
    try {
      const data = await getJSON("/api/replay?path=" + encodeURIComponent(wanted.path));
      data.relative = wanted.path;
      start(data, wanted.step);
      follow();
    } catch (error) {
      $("player").hidden = false;
      $("welcome").hidden = true;
      $("problem").hidden = false;
      $("problem").textContent = "cannot open replay: " + error.message;
    }
  }

  function start(data, step) {
    replay = data;
    frameShown = -1;
    $("welcome").hidden = true;
    $("player").hidden = false;
    const header = replay.header;
    $("title").textContent = `${header.game}: ${(header.agents || []).join(" vs ")}`;
    $("subtitle").textContent = `${replay.result} · ${replay.num_steps} steps · seed ${header.seed}` +
      ` · ${header.created || ""}`;
    $("seek").max = replay.num_steps;
    $("speed").value = replay.kind === "frames" ? "15" : "2";
    $("note").textContent = replay.frame_note || "";
    if (replay.problem) {
      $("problem").hidden = false;
      $("problem").textContent = replay.problem;
    }
    canvas.hidden = replay.kind === "text";
    $("text-board").hidden = replay.kind !== "text";
    $("live").hidden = replay.end !== null;
    markCurrent();
    // a game still being played opens at its newest position, and stays there as it grows
    const newest = replay.end === null && !embedded ? replay.num_steps : 0;
    show(step === null ? newest : step);
    plotReplay();
  }

  // ------------------------------------------------------------------ games in progress

  // A replay without its end record is a game still being played (or one cut off): the server
  // pushes when its file grows, and the page fetches it again, staying at the newest position
  // if it was there. window.gamepitArrivals[steps] is when each length was first shown (the
  // latency benchmark reads it).
  let replayStream = null;
  window.gamepitArrivals = {};

  function follow() {
    if (replayStream) replayStream.close();
    replayStream = null;
    if (!replay || replay.end !== null) return;
    const path = replay.relative;
    replayStream = new EventSource("/api/live/replay?path=" + encodeURIComponent(path));
    replayStream.onmessage = async () => {
      if (!replay || replay.relative !== path) return;
      let data;
      try {
        data = await getJSON("/api/replay?path=" + encodeURIComponent(path));
      } catch (error) {
        return; // a line half written: the next push brings it whole
      }
      if (!replay || replay.relative !== path || data.num_steps < replay.num_steps) return;
      const atEnd = position >= replay.num_steps;
      data.relative = path;
      replay = data;
      $("seek").max = replay.num_steps;
      $("subtitle").textContent = `${replay.result} · ${replay.num_steps} steps · seed ${replay.header.seed}` +
        ` · ${replay.header.created || ""}`;
      $("live").hidden = replay.end !== null;
      show(atEnd ? replay.num_steps : position);
      plotReplay();
      if (!(replay.num_steps in window.gamepitArrivals)) window.gamepitArrivals[replay.num_steps] = Date.now();
      if (replay.end !== null) {
        replayStream.close();
        replayStream = null;
        loadList();
      }
    };
  }

  // ------------------------------------------------------------------ the replay's plot

  // Two-player games: each seat's value (as its agent saw it) over the game. One-player and
  // screen games: the score so far.
  function plotReplay() {
    const holder = $("replay-plot");
    if (!holder || !gamepit.plots) return;
    holder.replaceChildren();
    const seats = replay.header.num_players || 2;
    const series = [];
    if (seats === 1 || replay.kind === "frames") {
      for (let seat = 0; seat < seats; seat++) {
        let total = 0;
        const points = [[0, 0]];
        replay.steps.forEach((step, i) => {
          total += (step.rewards || [])[seat] || 0;
          points.push([i + 1, total]);
        });
        series.push({ name: `${agentOf(seat)} (cumulative reward)`, points });
      }
      gamepit.plots.lineChart(holder, { title: "Cumulative reward", series });
    } else {
      for (let seat = 0; seat < seats; seat++) {
        const points = [];
        replay.steps.forEach((step, i) => {
          if (step.player === seat && typeof step.info.value === "number") points.push([i, step.info.value]);
        });
        series.push({ name: `seat ${seat}: ${agentOf(seat)}`, points });
      }
      gamepit.plots.lineChart(holder, { title: "Value for the mover, by seat", series, yLabel: "value" });
    }
  }

  // ------------------------------------------------------------------ moving through it

  function show(step) {
    if (!replay) return;
    position = Math.max(0, Math.min(replay.num_steps, Math.round(step) || 0));
    $("seek").value = position;
    $("position").textContent = `${position} / ${replay.num_steps}`;
    const next = position < replay.num_steps ? replay.steps[position] : null;
    if (replay.kind === "board") {
      const board = replay.boards[Math.min(position, replay.boards.length - 1)];
      const before = position > 0 ? replay.boards[position - 1] : null;
      drawBoard(board, before, next ? heatOf(next.info, board) : null);
      canvas.dataset.step = position;
    } else if (replay.kind === "frames") {
      requestFrame(position);
    } else {
      $("text-board").textContent = replay.texts[position];
      canvas.dataset.step = position;
    }
    describeMove(next);
  }

  function play() {
    if (!replay) return;
    if (position >= replay.num_steps) show(0);
    $("play").innerHTML = "&#x2016; pause";
    const tick = () => {
      if (position >= replay.num_steps) return pause();
      show(position + 1);
      timer = setTimeout(tick, 1000 / Number($("speed").value));
    };
    clearTimeout(timer);
    timer = setTimeout(tick, 1000 / Number($("speed").value));
  }

  function pause() {
    clearTimeout(timer);
    timer = null;
    $("play").innerHTML = "&#x25B6; play";
  }

  // ------------------------------------------------------------------ screens (Atari)

  let frameWanted = 0;
  let frameLoading = false;
  let frameShown = -1;

  function frameSource(step) {
    if (replay.frames) { // embedded: maybe one image every few steps
      const index = Math.min(replay.frames.images.length - 1, Math.floor(step / replay.frames.every));
      return replay.frames.images[index];
    }
    return replay.frame_url.replace("{step}", String(step));
  }

  // One image request at a time; while playing fast, skip to the newest wanted screen.
  function requestFrame(step) {
    frameWanted = step;
    if (frameLoading || frameShown === step) return;
    frameLoading = true;
    // a cold seek re-simulates the emulator up to the step: say so if it takes a while
    const slow = setTimeout(() => { $("status").textContent = `re-simulating to step ${step}…`; }, 300);
    const image = new Image();
    image.onload = () => {
      clearTimeout(slow);
      $("status").textContent = "";
      const scale = Math.max(1, Math.floor(320 / image.width));
      canvas.width = image.width * scale;
      canvas.height = image.height * scale;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      frameShown = step;
      canvas.dataset.step = step;
      frameLoading = false;
      if (frameWanted !== step) requestFrame(frameWanted);
    };
    image.onerror = () => {
      clearTimeout(slow);
      $("status").textContent = "";
      frameLoading = false;
      $("problem").hidden = false;
      $("problem").textContent = `cannot load the screen at step ${step}`;
    };
    image.src = frameSource(step);
  }

  // ------------------------------------------------------------------ boards

  const PIECES = { K: "\u2654", Q: "\u2655", R: "\u2656", B: "\u2657", N: "\u2658", P: "\u2659",
    k: "\u265A", q: "\u265B", r: "\u265C", b: "\u265D", n: "\u265E", p: "\u265F" };
  const STYLES = {
    grid: { background: "#ffffff", line: "#1d2330" },
    discs: { background: "#1d4ed8", line: null },
    go: { background: "#dcb35c", line: "#3b2f1e" },
    othello: { background: "#2f7d3a", line: "#16401d" },
    chess: { background: "#f0d9b5", line: null },
  };

  // The policy (or, without one, the visit counts) drawn over the cells it is about: one value
  // per cell (go, tic-tac-toe; a trailing pass is left to the panel) or per column (connect four).
  function heatOf(info, board) {
    if (!info || !board) return null;
    const values = asArray(info.policy) || asArray(info.visit_counts);
    if (!values) return null;
    const cells = board.rows * board.cols;
    const total = values.reduce((a, b) => a + b, 0) || 1;
    const shares = values.map((v) => v / total);
    if (shares.length === cells || shares.length === cells + 1) return { per: "cell", shares };
    if (shares.length === board.cols) return { per: "column", shares };
    return null;
  }

  function drawBoard(board, before, heat, target = canvas) {
    const saved = ctx;
    ctx = target.getContext("2d");
    try {
      drawOn(target, board, before, heat);
    } finally {
      ctx = saved;
    }
  }

  function drawOn(canvas, board, before, heat) {
    const style = STYLES[board.style] || STYLES.grid;
    const cell = Math.max(24, Math.min(64, Math.floor(480 / Math.max(board.rows, board.cols))));
    const pad = board.style === "go" ? cell / 2 : 0;
    const top = heat && heat.per === "column" ? 22 : 0; // room for column percentages
    canvas.width = board.cols * cell;
    canvas.height = board.rows * cell + top;
    ctx.fillStyle = style.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.save();
    ctx.translate(0, top);
    const at = (row, col) => [col * cell + cell / 2, row * cell + cell / 2];

    if (board.style === "chess") {
      for (let r = 0; r < board.rows; r++) {
        for (let c = 0; c < board.cols; c++) {
          ctx.fillStyle = (r + c) % 2 ? "#b58863" : "#f0d9b5";
          ctx.fillRect(c * cell, r * cell, cell, cell);
        }
      }
    } else if (board.style === "go") {
      ctx.strokeStyle = style.line;
      ctx.lineWidth = 1;
      for (let i = 0; i < board.rows; i++) line(pad, i * cell + pad, (board.cols - 1) * cell + pad, i * cell + pad);
      for (let i = 0; i < board.cols; i++) line(i * cell + pad, pad, i * cell + pad, (board.rows - 1) * cell + pad);
    } else if (style.line) {
      ctx.strokeStyle = style.line;
      ctx.lineWidth = board.style === "grid" ? 2 : 1;
      for (let i = 1; i < board.rows; i++) line(0, i * cell, board.cols * cell, i * cell);
      for (let i = 1; i < board.cols; i++) line(i * cell, 0, i * cell, board.rows * cell);
    }

    let heated = 0;
    if (heat && heat.per === "cell") {
      const best = Math.max(...heat.shares.slice(0, board.rows * board.cols)) || 1;
      for (let index = 0; index < board.rows * board.cols; index++) {
        const share = heat.shares[index];
        if (share <= 0) continue;
        heated++;
        const [x, y] = at(Math.floor(index / board.cols), index % board.cols);
        ctx.fillStyle = `rgba(234, 88, 12, ${0.1 + 0.5 * share / best})`;
        if (board.style === "go") disc(x, y, cell * 0.42, ctx.fillStyle);
        else ctx.fillRect(x - cell / 2 + 2, y - cell / 2 + 2, cell - 4, cell - 4);
        if (cell >= 32 && !board.cells[index]) percent(share, x, y, "#111");
      }
    }

    for (let index = 0; index < board.cells.length; index++) {
      const piece = board.cells[index];
      const [x, y] = at(Math.floor(index / board.cols), index % board.cols);
      if (board.style === "discs") disc(x, y, cell * 0.4, piece === "X" ? "#dc2626" : piece === "O" ? "#facc15" : "#f8fafc");
      else if (piece) drawPiece(board.style, piece, x, y, cell);
      if (before && before.cells[index] !== piece) { // what the last move changed
        ctx.strokeStyle = "#ea580c";
        ctx.lineWidth = 3;
        ctx.strokeRect(x - cell / 2 + 2, y - cell / 2 + 2, cell - 4, cell - 4);
      }
    }
    ctx.restore();

    if (heat && heat.per === "column") {
      const best = Math.max(...heat.shares) || 1;
      for (let col = 0; col < board.cols; col++) {
        const share = heat.shares[col];
        if (share <= 0) continue;
        heated++;
        ctx.fillStyle = `rgba(234, 88, 12, ${0.08 + 0.32 * share / best})`;
        ctx.fillRect(col * cell + 3, top, cell - 6, board.rows * cell);
        ctx.fillStyle = "#ffffff";
        ctx.fillRect(col * cell, 0, cell, top);
        percent(share, col * cell + cell / 2, top / 2, "#111");
      }
    }
    canvas.dataset.heat = heated; // how many cells or columns the policy tinted
  }

  function line(x1, y1, x2, y2) {
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
  }

  function disc(x, y, radius, fill, stroke) {
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    if (stroke) {
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1;
      ctx.stroke();
    }
  }

  function percent(share, x, y, color) {
    ctx.fillStyle = color;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(`${Math.round(share * 100)}%`, x, y);
  }

  function drawPiece(style, piece, x, y, cell) {
    if ((style === "go" || style === "othello") && (piece === "B" || piece === "W")) {
      disc(x, y, cell * (style === "go" ? 0.47 : 0.4), piece === "B" ? "#111" : "#f5f5f5", "#333");
      return;
    }
    const glyph = style === "chess" && PIECES[piece] ? PIECES[piece] : piece;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = `${Math.floor(cell * (style === "chess" ? 0.75 : 0.6))}px system-ui, sans-serif`;
    ctx.fillStyle = piece === "X" ? "#b91c1c" : piece === "O" ? "#1d4ed8" : "#111";
    ctx.fillText(glyph, x, y + 1);
  }

  // ------------------------------------------------------------------ the agent's info

  function describeMove(next) {
    const last = position > 0 ? replay.steps[position - 1] : null;
    const parts = [];
    if (last) parts.push(`Last: ${agentOf(last.player)} played ${label(last.action, position - 1)}.`);
    const returns = scoreAt(position);
    if (returns) parts.push(`Score: ${returns.map((r) => number(r, 0)).join(" / ")}.`);
    if (next) parts.push(`Next: ${agentOf(next.player)} (player ${next.player}) plays ${label(next.action, position)}` +
      (typeof next.seconds === "number" ? ` after ${next.seconds.toFixed(3)} s.` : "."));
    else parts.push(`Game over: ${replay.result}.`);
    $("move").textContent = parts.join("  ");
    $("info").replaceChildren(...(next ? infoPanels(next.info) : []));
  }

  function scoreAt(step) { // screen games and one-player games: the score so far, per seat
    const seats = replay.header.num_players || 2;
    if (replay.kind !== "frames" && seats !== 1) return null;
    const totals = new Array(seats).fill(0);
    for (let i = 0; i < step; i++) {
      (replay.steps[i].rewards || []).forEach((reward, seat) => { totals[seat] += reward || 0; });
    }
    return totals;
  }

  function infoPanels(info, name = (action) => label(action, position)) {
    const panels = [];
    const used = new Set();
    if ("value" in info) {
      used.add("value");
      panels.push(panel("Value (for the mover)", element("div", { class: "value", id: "info-value" }, number(info.value))));
    }
    const policy = asArray(info.policy);
    if (policy) {
      used.add("policy");
      panels.push(panel("Policy", shareTable(policy, "policy", name)));
    }
    const visits = asArray(info.visit_counts);
    if (visits) {
      used.add("visit_counts");
      panels.push(panel(`Visit counts (${visits.reduce((a, b) => a + b, 0)} in all)`, shareTable(visits, "visits", name)));
    }
    if (Array.isArray(info.top_moves)) {
      used.add("top_moves");
      const items = info.top_moves.map((move) => element("li", {},
        typeof move === "number" ? name(move) : JSON.stringify(move)));
      panels.push(panel("Top moves", element("ol", { id: "info-top-moves" }, ...items)));
    }
    const rest = Object.entries(info).filter(([key]) => !used.has(key));
    if (rest.length) {
      const text = rest.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join("\n");
      panels.push(panel("Other info", element("pre", {}, text.length > 2000 ? text.slice(0, 2000) + " …" : text)));
    }
    if (!panels.length) panels.push(panel("Agent info", element("p", {}, "none recorded for this move")));
    return panels;
  }

  function panel(title, body) {
    return element("section", {}, element("h3", {}, title), body);
  }

  // The largest entries as bars: move, share, and the raw number for counts.
  function shareTable(values, kind, name) {
    const total = values.reduce((a, b) => a + b, 0) || 1;
    const order = values.map((v, action) => [v, action]).filter(([v]) => v > 0)
      .sort((a, b) => b[0] - a[0]).slice(0, 8);
    const rows = order.map(([v, action]) => element("tr", {},
      element("td", {}, name(action)),
      element("td", { class: "bar" }, element("div", { style: `width:${(100 * v / order[0][0]).toFixed(1)}%` })),
      element("td", {}, kind === "visits" ? `${v}` : `${(100 * v / total).toFixed(1)}%`)));
    return element("table", { id: `info-${kind}` }, ...rows);
  }

  // ------------------------------------------------------------------ wiring

  $("first").onclick = () => { pause(); show(0); };
  $("back").onclick = () => { pause(); show(position - 1); };
  $("forward").onclick = () => { pause(); show(position + 1); };
  $("last").onclick = () => { pause(); show(replay ? replay.num_steps : 0); };
  $("play").onclick = () => (timer ? pause() : play());
  $("seek").oninput = () => { pause(); show(Number($("seek").value)); };
  document.addEventListener("keydown", (event) => {
    if (!replay || event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    const moves = { ArrowLeft: () => show(position - 1), ArrowRight: () => show(position + 1),
      Home: () => show(0), End: () => show(replay.num_steps) };
    if (event.key === " ") { event.preventDefault(); timer ? pause() : play(); }
    else if (moves[event.key]) { event.preventDefault(); pause(); moves[event.key](); }
  });

  gamepit.board = { drawBoard, heatOf, infoPanels, element, getJSON, number };

  // ------------------------------------------------------------------ pages

  // #path=... (or nothing): replays. #play, #play=ID: play.js. #runs, #run=PATH and
  // #tournaments, #tournament=LEDGER/NAME: plots.js.
  const PAGES = { replays: ["library", "player", "welcome"], play: ["play-page"], runs: ["runs-page"],
    tournaments: ["tournaments-page"] };
  let listStream = null;
  let page = null;

  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    const [key, ...rest] = hash.split("=");
    const value = rest.length ? rest.join("=") : null;
    const name = key === "play" ? "play" : key === "runs" || key === "run" ? "runs"
      : key === "tournaments" || key === "tournament" ? "tournaments" : "replays";
    for (const [other, ids] of Object.entries(PAGES)) {
      for (const id of ids) if (other !== name) $(id).hidden = true;
    }
    for (const link of document.querySelectorAll("#pages a")) link.classList.toggle("current", link.dataset.page === name);
    if (name !== page && gamepit.pages && gamepit.pages.leave) gamepit.pages.leave();
    if (name !== "replays" && replayStream) { replayStream.close(); replayStream = null; replay = null; }
    if (name !== "replays" && listStream) { listStream.close(); listStream = null; }
    page = name;
    if (name === "replays") {
      $("library").hidden = false;
      if (!replay) $("welcome").hidden = false;
      if (!listStream) { // the list changes as matches start and end
        listStream = new EventSource("/api/live/replays");
        listStream.onmessage = () => loadList();
        loadList();
      }
      openFromHash();
    } else {
      $(PAGES[name][0]).hidden = false;
      gamepit.pages[name](value);
    }
  }

  if (embedded) {
    document.body.classList.add("embedded");
    embedded.relative = embedded.path;
    start(embedded, null);
  } else {
    let typing = null;
    $("filter-game").onchange = loadList;
    $("filter-result").onchange = loadList;
    $("filter-agent").oninput = () => { clearTimeout(typing); typing = setTimeout(loadList, 250); };
    $("filters").onsubmit = (event) => { event.preventDefault(); loadList(); };
    window.addEventListener("hashchange", route);
    route();
  }
})();
