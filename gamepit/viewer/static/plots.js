// Plots for the gamepit viewer, drawn as SVG by hand (no library: the page works offline).
// lineChart: curves over steps (a replay's values, a run's return/evaluation/loss).
// intervalChart: one point and its interval per row (a tournament's Elo table).
// Also the runs page (#runs, #run=PATH) and the tournaments page (#tournaments,
// #tournament=LEDGER/NAME); both update when the server pushes that their file changed.
"use strict";
(() => {
  const gamepit = (window.gamepit = window.gamepit || {});
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = ["#c2410c", "#1d4ed8", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"];

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  }

  // A tick's label: at most 4 significant digits, thousands and millions as k and M.
  function short(value) {
    const size = Math.abs(value);
    if (size >= 1e9 || (size !== 0 && size < 1e-3)) return value.toExponential(1);
    if (size >= 1e6) return String(Number((value / 1e6).toPrecision(4))) + "M";
    if (size >= 1e4) return String(Number((value / 1e3).toPrecision(4))) + "k";
    return String(Number(value.toPrecision(4)));
  }

  // Round tick values covering low..high, about `count` of them.
  function ticks(low, high, count = 5) {
    if (!(high > low)) return [low];
    const raw = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(v);
    return out;
  }

  // series: [{name, points: [[x, y], ...]}]. Returns the <svg>; its data-points counts what
  // was drawn (the tests read it).
  function lineChart(container, { title, series, xLabel = "step", yLabel = "", width = 560, height = 240 }) {
    const drawn = series.filter((s) => s.points.length);
    const all = drawn.flatMap((s) => s.points);
    // The legend: one entry a series in its curve's colour, laid left to right above the plot
    // and wrapped, so long names never overlap (about 6.6 px a character at 11 px, bold).
    const legend = [];
    let [lx, ly] = [52, 34];
    for (const s of drawn) {
      const wide = 14 + 6.6 * s.name.length;
      if (lx > 52 && lx + wide > width - 12) [lx, ly] = [52, ly + 14];
      legend.push([s.name, lx, ly]);
      lx += wide + 12;
    }
    const box = { left: 52, right: 22, top: drawn.length > 1 ? ly + 8 : 26, bottom: 34 };
    const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart",
      "data-points": all.length, "data-series": drawn.length });
    chart.append(svg("text", { x: box.left, y: 16, class: "chart-title" }, title || ""));
    if (!all.length) {
      chart.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" }, "nothing to plot yet"));
      container.append(chart);
      return chart;
    }
    let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
    let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    const single = x1 === x0; // one step: its one tick, in the middle
    if (single) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
    const w = width - box.left - box.right, h = height - box.top - box.bottom;
    const sx = (x) => box.left + (x - x0) / (x1 - x0) * w;
    const sy = (y) => box.top + h - (y - y0) / (y1 - y0) * h;
    for (const t of ticks(y0, y1)) {
      chart.append(svg("line", { x1: box.left, x2: box.left + w, y1: sy(t), y2: sy(t), class: "grid" }));
      chart.append(svg("text", { x: box.left - 4, y: sy(t) + 4, "text-anchor": "end", class: "tick" }, short(t)));
    }
    for (const t of single ? [x0 + 1] : ticks(x0, x1, 6)) {
      chart.append(svg("text", { x: sx(t), y: box.top + h + 14, "text-anchor": "middle", class: "tick" }, short(t)));
    }
    chart.append(svg("rect", { x: box.left, y: box.top, width: w, height: h, class: "frame" }));
    chart.append(svg("text", { x: box.left + w / 2, y: height - 4, "text-anchor": "middle", class: "axis" }, xLabel));
    if (yLabel) chart.append(svg("text", { x: 12, y: box.top + h / 2, transform: `rotate(-90 12 ${box.top + h / 2})`, "text-anchor": "middle", class: "axis" }, yLabel));
    drawn.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const path = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
      chart.append(svg("polyline", { points: path, fill: "none", stroke: colour, "stroke-width": 1.8, class: "curve", "data-name": s.name }));
      if (s.points.length < 60) {
        for (const p of s.points) chart.append(svg("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: colour }));
      }
      if (drawn.length > 1) {
        const [name, x, y] = legend[i];
        chart.append(svg("line", { x1: x, x2: x + 10, y1: y - 4, y2: y - 4, stroke: colour, "stroke-width": 2.5 }));
        chart.append(svg("text", { x: x + 14, y, fill: colour, class: "legend" }, name));
      }
    });
    container.append(chart);
    return chart;
  }

  // rows: [{label, value, low, high}] (value null: unrated, listed without a point).
  function intervalChart(container, { title, rows, xLabel = "Elo (95% interval)", width = 560 }) {
    const rated = rows.filter((r) => typeof r.value === "number");
    const rowHeight = 26, box = { left: 170, right: 20, top: 26, bottom: 30 };
    const height = box.top + box.bottom + rowHeight * Math.max(1, rows.length);
    const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart",
      "data-rows": rated.length });
    chart.append(svg("text", { x: 8, y: 16, class: "chart-title" }, title || ""));
    const values = rated.flatMap((r) => [r.low, r.high, r.value]).filter((v) => typeof v === "number" && isFinite(v));
    let x0 = values.length ? Math.min(...values) : -1, x1 = values.length ? Math.max(...values) : 1;
    if (x1 === x0) { x0 -= 50; x1 += 50; }
    const pad = (x1 - x0) * 0.05;
    x0 -= pad; x1 += pad;
    const w = width - box.left - box.right;
    const sx = (x) => box.left + (x - x0) / (x1 - x0) * w;
    for (const t of ticks(x0, x1, 6)) {
      chart.append(svg("line", { x1: sx(t), x2: sx(t), y1: box.top, y2: height - box.bottom, class: "grid" }));
      chart.append(svg("text", { x: sx(t), y: height - box.bottom + 14, "text-anchor": "middle", class: "tick" }, short(t)));
    }
    chart.append(svg("text", { x: box.left + w / 2, y: height - 4, "text-anchor": "middle", class: "axis" }, xLabel));
    rows.forEach((r, i) => {
      const y = box.top + rowHeight * i + rowHeight / 2;
      chart.append(svg("text", { x: box.left - 8, y: y + 4, "text-anchor": "end", class: "tick" }, r.label.length > 26 ? r.label.slice(0, 25) + "…" : r.label));
      if (typeof r.value !== "number") {
        chart.append(svg("text", { x: box.left + 4, y: y + 4, class: "chart-empty" }, "unrated"));
        return;
      }
      const colour = COLOURS[i % COLOURS.length];
      if (typeof r.low === "number" && typeof r.high === "number" && r.high > r.low) { // (the anchor has none)
        chart.append(svg("line", { x1: sx(r.low), x2: sx(r.high), y1: y, y2: y, stroke: colour, "stroke-width": 2, class: "interval" }));
        for (const end of [r.low, r.high]) chart.append(svg("line", { x1: sx(end), x2: sx(end), y1: y - 5, y2: y + 5, stroke: colour, "stroke-width": 2 }));
      }
      chart.append(svg("circle", { cx: sx(r.value), cy: y, r: 4.5, fill: colour, class: "point" }));
    });
    container.append(chart);
    return chart;
  }

  gamepit.plots = { lineChart, intervalChart };

  // ------------------------------------------------------------------ pages

  const $ = (id) => document.getElementById(id);

  // (viewer.js, loaded after this file, lends these; the pages below run once it has)
  const element = (...args) => gamepit.board.element(...args);
  const getJSON = (url) => gamepit.board.getJSON(url);

  let stream = null; // the push stream of the run or tournament shown
  function listen(url, onChange) {
    if (stream) stream.close();
    stream = new EventSource(url);
    stream.onmessage = onChange;
  }
  function stopListening() {
    if (stream) stream.close();
    stream = null;
  }

  // Training runs: a list, and the chosen run's curves grouped into charts; both redrawn
  // when the run writes metrics.
  async function showRuns(wanted) {
    wanted = await listRuns(wanted);
    if (wanted !== null) {
      await drawRun(wanted);
      listen("/api/live/run?path=" + encodeURIComponent(wanted), () => { listRuns(wanted); drawRun(wanted); });
    } else if ($("runs-list").dataset.root) {
      // nothing to show yet: wait for a training to start writing under --runs
      listen("/api/live/runs", async () => { const found = await listRuns(null); if (found !== null) showRuns(found); });
    }
  }

  // The list of runs; returns the run to show (the wanted one, else the newest), or null.
  async function listRuns(wanted) {
    let data;
    try {
      data = await getJSON("/api/runs");
    } catch (error) {
      $("runs-list").textContent = "cannot list runs: " + error.message;
      return null;
    }
    if (!data.root) {
      $("runs-list").replaceChildren(element("p", {}, "No runs folder: start the viewer with --runs DIR (e.g. gamepit view --runs runs/)."));
      return null;
    }
    if (wanted === null && data.runs.length) wanted = data.runs[0].path;
    $("runs-list").dataset.root = data.root;
    $("runs-list").replaceChildren(element("p", { class: "meta" }, `${data.runs.length} runs in ${data.root}${data.exists ? "" : " (not created yet)"}`),
      ...data.runs.map((run) => element("a", { href: "#run=" + encodeURIComponent(run.path), "data-path": run.path,
        class: run.path === wanted ? "current" : "" }, run.path)));
    return wanted;
  }

  async function drawRun(path) {
    const holder = $("run-charts");
    let data;
    try {
      data = await getJSON("/api/run?path=" + encodeURIComponent(path));
    } catch (error) {
      holder.replaceChildren(element("p", { class: "problem" }, "cannot read the run: " + error.message));
      return;
    }
    const charts = [element("h2", {}, path)];
    // One quantity a chart: the known groups first, then each other metric on its own.
    const titles = { return: "Return", evaluation: "Evaluation", loss: "Loss", length: "Episode length", speed: "Speed" };
    const known = ["return", "evaluation", "loss", "length", "speed"];
    const order = [...known, ...Object.keys(data.groups).filter((g) => !known.includes(g)).sort()];
    for (const group of order) {
      const names = data.groups[group] || [];
      if (!names.length) continue;
      const box = element("div", { class: "plot", id: `run-${group.replace(/[^A-Za-z0-9_-]/g, "_")}` });
      lineChart(box, { title: titles[group] || group,
        series: names.map((name) => ({ name, points: data.curves[name] })) });
      charts.push(box);
    }
    if (charts.length === 1) charts.push(element("p", {}, "no metrics yet"));
    if (data.skipped) charts.push(element("p", { class: "meta" }, `${data.skipped} lines were not metrics and were skipped`));
    holder.replaceChildren(...charts);
    holder.dataset.updated = String(Date.now());
  }

  // Tournaments: every ledger given with --ledger, and one tournament's table and chart;
  // both redrawn as games are committed to its ledger.
  async function showTournaments(wanted) {
    wanted = await listTournaments(wanted);
    if (wanted) {
      const [ledger, ...rest] = wanted.split("/");
      const name = rest.join("/");
      const query = `ledger=${encodeURIComponent(ledger)}&name=${encodeURIComponent(name)}`;
      await drawTournament(query);
      listen("/api/live/tournament?" + query, () => { listTournaments(wanted); drawTournament(query); });
    } else if ($("tournament-list").dataset.ledgers > 0) {
      // nothing to show yet: wait for a tournament to write to one of the --ledger files
      listen("/api/live/tournaments", async () => { const found = await listTournaments(null); if (found) showTournaments(found); });
    }
  }

  // The list of ledgers and their tournaments; returns "LEDGER/NAME" to show, or null.
  async function listTournaments(wanted) {
    let data;
    try {
      data = await getJSON("/api/tournaments");
    } catch (error) {
      $("tournament-list").textContent = "cannot list tournaments: " + error.message;
      return null;
    }
    const links = [];
    let first = null;
    for (const ledger of data.ledgers) {
      links.push(element("p", { class: "meta" }, ledger.error || ledger.path));
      for (const t of ledger.tournaments) {
        const key = `${ledger.ledger}/${t.name}`;
        first = first || key;
        links.push(element("a", { href: "#tournament=" + encodeURIComponent(key), class: key === wanted ? "current" : "" },
          `${t.name} · ${t.game} · ${t.games} games`));
      }
    }
    if (!data.ledgers.length) links.push(element("p", {}, "No ledgers: start the viewer with --ledger FILE (e.g. --ledger gamepit_ledger.sqlite)."));
    $("tournament-list").dataset.ledgers = String(data.ledgers.length);
    $("tournament-list").replaceChildren(...links);
    return wanted || first;
  }

  async function drawTournament(query) {
    const holder = $("tournament-view");
    let data;
    try {
      data = await getJSON("/api/tournament?" + query);
    } catch (error) {
      holder.replaceChildren(element("p", { class: "problem" }, "cannot read the tournament: " + error.message));
      return;
    }
    const parts = [element("h2", {}, `${data.name}: ${data.game}`), element("p", { class: "meta", id: "tournament-games" },
      `${data.games} games recorded` + (data.skipped ? ` (${data.skipped} damaged rows of the ledger skipped)` : ""))];
    if (data.scale) parts.push(element("p", { class: "meta", id: "tournament-scale" }, data.scale));
    const chartBox = element("div", { class: "plot", id: "tournament-chart" });
    let table;
    if (data.kind === "elo") {
      intervalChart(chartBox, { title: "Elo with 95% intervals", rows: data.table.map((r) => ({
        label: r.agent, value: r.elo, low: r.elo === null ? null : r.elo - r.minus, high: r.elo === null ? null : r.elo + r.plus })) });
      table = element("table", { id: "standings" }, element("tr", {}, ...["#", "agent", "Elo", "−", "+", "games", "score", "W", "D", "L"].map((h) => element("th", {}, h))),
        ...data.table.map((r) => element("tr", {}, ...[r.rank || "–", r.agent, r.elo === null ? "–" : r.elo.toFixed(1),
          r.minus === null ? "–" : r.minus.toFixed(0), r.plus === null ? "–" : r.plus.toFixed(0), r.games,
          `${(100 * r.score).toFixed(1)}%`, r.wins, r.draws, r.losses].map((v) => element("td", {}, String(v))))));
    } else {
      lineChart(chartBox, { title: "Mean score by agent", xLabel: "rank", series: data.table.map((r) => ({ name: r.agent, points: [[r.rank, r.mean]] })) });
      table = element("table", { id: "standings" }, element("tr", {}, ...["#", "agent", "mean score", "games"].map((h) => element("th", {}, h))),
        ...data.table.map((r) => element("tr", {}, ...[r.rank, r.agent, r.mean.toFixed(2), r.games].map((v) => element("td", {}, String(v))))));
    }
    parts.push(chartBox, table, element("h3", {}, "Latest games"),
      element("ol", { id: "recent-games" }, ...data.recent.map((g) => element("li", {},
        `${g.agents.join(" vs ")}: ${g.returns.join(" / ")} in ${g.steps} steps${g.forfeit_reason ? " (" + g.forfeit_reason + ")" : ""}`))));
    holder.replaceChildren(...parts);
    holder.dataset.games = String(data.games);
  }

  gamepit.pages = Object.assign(gamepit.pages || {}, {
    runs: (wanted) => showRuns(wanted),
    tournaments: (wanted) => showTournaments(wanted),
    leave: stopListening,
  });
})();
