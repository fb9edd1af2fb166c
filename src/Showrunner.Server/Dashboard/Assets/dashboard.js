// Showrunner operator dashboard. Plain JavaScript, no dependencies, served by the server itself.
//
// Sign-in: the operator pastes an API key; it is kept in this tab's sessionStorage and sent as
// "Authorization: Bearer" to GET /v1/dashboard and GET /v1/dashboard/stream only. EventSource cannot
// send that header, so the stream is read with fetch() and its server-sent events parsed here.
// Everything the server sends is put on the page as text (textContent), never as HTML.
"use strict";

(() => {
  const KEY_STORAGE = "showrunner.dashboard.key";
  const STALE_AFTER_MS = 5000;
  const COLORS = ["#4ea1ff", "#f5b83d", "#3ecf8e", "#ff7ab6", "#a78bfa", "#5ee1e6", "#ff9f5a", "#c5e35b"];
  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  const $ = (id) => document.getElementById(id);
  const state = {
    key: null,
    snapshot: null,
    receivedAt: 0,
    abort: null,
    retryMs: 1000,
    board: null,
    renders: 0,
  };
  // For people debugging in the console and for the browser test: the last snapshot and how many were drawn.
  window.showrunnerDashboard = state;

  // ---- DOM helpers: text only -------------------------------------------------------------
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function setText(id, text, value) {
    const node = typeof id === "string" ? $(id) : id;
    node.textContent = text;
    if (value !== undefined) node.dataset.value = String(value);
  }
  function fact(list, term, description, attributes) {
    list.append(el("dt", { text: term }), el("dd", Object.assign({ text: description }, attributes || {})));
  }

  // ---- formatting ----------------------------------------------------------------------------
  const fmtInt = (n) => (n === null || n === undefined ? "–" : integer.format(n));
  function fmtRate(n) {
    if (n === null || n === undefined) return "–";
    return Math.abs(n) >= 100 ? integer.format(n) : decimal1.format(n);
  }
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    let s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d > 0) return `${d}d ${h}h`;
    if (h > 0) return `${h}h ${m}m`;
    if (m > 0) return `${m}m ${s}s`;
    return `${s}s`;
  }
  const lastOf = (values) => {
    for (let i = (values || []).length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  };
  const perThousand = (text) => text.replace(" per 1,000 actions", "/1k");
  const shortId = (id) => (id ? id.slice(0, 12) + "…" : "–");
  // Times are shown in UTC, as the server, the schedules and the logs state them.
  const timeOf = (text) => (text ? new Date(text).toLocaleTimeString("en-GB", { hour12: false, timeZone: "UTC" }) : "–");
  const dateTimeOf = (text) => (text ? new Date(text).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "–");

  // ---- sign-in -------------------------------------------------------------------------------
  function show(view) {
    document.body.dataset.view = view;
  }
  async function problemText(response) {
    try {
      const problem = await response.json();
      return `${problem.code}: ${problem.detail}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  }
  async function signIn(key) {
    const response = await fetch("/v1/dashboard", { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
    if (!response.ok) throw new Error(await problemText(response));
    state.key = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    show("signed-in");
    render(await response.json());
    connect();
  }
  function signOut(message) {
    if (state.abort) state.abort.abort();
    state.abort = null;
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    $("login-error").textContent = message || "";
    $("key").value = "";
    show("login");
    $("key").focus();
  }

  // ---- the stream: server-sent events over fetch ------------------------------------------------
  async function connect() {
    if (!state.key) return;
    const controller = new AbortController();
    state.abort = controller;
    setConnection("connecting", "connecting…");
    try {
      const response = await fetch("/v1/dashboard/stream", {
        headers: { Authorization: "Bearer " + state.key, Accept: "text/event-stream" },
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.status === 401 || response.status === 403) {
        signOut(await problemText(response));
        return;
      }
      if (!response.ok || !response.body) throw new Error(await problemText(response));
      state.retryMs = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!handleEvent(block)) return;
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      setConnection("offline", "reconnecting…");
    }
    if (state.abort === controller && state.key) {
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 10000);
    }
  }
  // Returns false when the stream must not be used any more.
  function handleEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (event === "snapshot" && data.length > 0) {
      render(JSON.parse(data.join("\n")));
    } else if (event === "unauthorized") {
      signOut("The key is no longer valid: sign in again.");
      return false;
    }
    return true;
  }
  function setConnection(kind, text) {
    const pill = $("connection");
    pill.dataset.state = kind;
    pill.textContent = text;
  }
  setInterval(() => {
    if (!state.key || !state.snapshot) return;
    const age = Date.now() - state.receivedAt;
    if (age > STALE_AFTER_MS && $("connection").dataset.state === "live") setConnection("stale", `no update for ${fmtDuration(age / 1000)}`);
  }, 1000);

  // ---- rendering ------------------------------------------------------------------------------
  function render(snapshot) {
    state.snapshot = snapshot;
    state.receivedAt = Date.now();
    state.renders++;
    document.body.dataset.sequence = String(snapshot.sequence);
    setConnection("live", "live");
    setText("updated", "updated " + timeOf(snapshot.sampled_at) + " UTC", snapshot.sampled_at);
    renderKpis(snapshot);
    renderEvents(snapshot);
    renderBoard(snapshot);
    renderCharts(snapshot);
    renderReleases(snapshot);
    renderLedger(snapshot);
    renderOutbox(snapshot);
    renderIngest(snapshot);
    const server = snapshot.server;
    setText("server-facts", `Server ${server.state} since ${dateTimeOf(server.since)} · ${fmtInt(server.partitions)} partitions · snapshot #${snapshot.sequence} · times in UTC`);
  }

  function level(node, value) {
    node.closest(".kpi").dataset.level = value || "";
  }

  function renderKpis(s) {
    const series = s.series;
    const actionsRate = lastOf(series.actions_per_second);
    setText("kpi-actions-rate", fmtRate(actionsRate), actionsRate ?? "");
    setText("kpi-accepted", fmtInt(s.totals.accepted), s.totals.accepted);
    const grantsRate = lastOf(series.ledger_entries_per_minute);
    setText("kpi-grants-rate", fmtRate(grantsRate), grantsRate ?? "");
    setText("kpi-ledger-entries", fmtInt(s.ledger.entries), s.ledger.entries);

    const latency = s.ack_latency_ms;
    if (latency) {
      const ms = (n) => (n < 10 ? decimal1.format(n) : integer.format(n));
      setText("kpi-latency", `${ms(latency.p50)} · ${ms(latency.p95)} · ${ms(latency.p99)}`, latency.p99);
      setText("kpi-latency-foot", "ms, send to durable answer");
      level($("kpi-latency"), latency.p99 > 250 ? "bad" : latency.p99 > 100 ? "warn" : "ok");
    } else {
      setText("kpi-latency", "–");
      setText("kpi-latency-foot", s.ack_latency_recorded ? "no batch acknowledged in the last minute" : "not recorded by this server yet");
      level($("kpi-latency"), "");
    }

    setText("kpi-rejected", `${fmtInt(s.totals.rejected)} · ${fmtInt(s.totals.duplicates)}`, s.totals.rejected);
    const codes = Object.entries(s.totals.rejected_by_code || {}).sort((a, b) => b[1] - a[1]);
    setText("kpi-rejected-foot", codes.length ? codes.slice(0, 2).map(([code, n]) => `${code} ${fmtInt(n)}`).join(", ") : "no rejections");

    const outbox = s.outbox;
    setText("kpi-outbox", `${fmtInt(outbox.pending)} · ${fmtInt(outbox.dead_lettered)}`, outbox.pending);
    setText("kpi-outbox-foot", outbox.webhook_configured
      ? (outbox.oldest_pending_age_seconds !== null ? `oldest pending ${fmtDuration(outbox.oldest_pending_age_seconds)}` : "nothing pending")
      : "no webhook configured: grants stay pending");
    level($("kpi-outbox"), outbox.dead_lettered > 0 ? "bad" : (outbox.webhook_configured && outbox.oldest_pending_age_seconds > 60) ? "warn" : "");

    const ledger = s.ledger;
    if (ledger.latest_checkpoint) {
      setText("kpi-checkpoint", fmtDuration(ledger.checkpoint_age_seconds), ledger.checkpoint_age_seconds);
      setText("kpi-checkpoint-seq", `#${fmtInt(ledger.latest_checkpoint.sequence)} · `, ledger.latest_checkpoint.sequence);
      level($("kpi-checkpoint"), ledger.checkpoint_age_seconds > 60 && ledger.uncheckpointed_entries > 0 ? "warn" : "");
    } else {
      setText("kpi-checkpoint", "none yet");
      setText("kpi-checkpoint-seq", "");
      level($("kpi-checkpoint"), "");
    }
    const check = ledger.verification;
    const verification = $("kpi-verification");
    verification.textContent = check ? (check.ok ? `✓ verified ${fmtDuration(check.age_seconds)} ago` : `✗ ${check.result}`) : "self-check pending";
    verification.dataset.value = check ? check.result : "";
    if (check && !check.ok) level($("kpi-checkpoint"), "bad");
    const damaged = ledger.damaged_partitions || [];
    if (damaged.length > 0) {
      verification.textContent = `✗ ${damaged.length} partition${damaged.length === 1 ? "" : "s"} damaged`;
      verification.dataset.value = "ledger_damaged";
      level($("kpi-checkpoint"), "bad");
    }
  }

  function renderEvents(s) {
    const list = $("events");
    const items = s.events.map((event) => {
      const phase = el("span", { class: "phase", "data-phase": event.phase, text: event.phase });
      const left = event.time_left_seconds === null ? "" :
        ({ start: "starts in ", end: "ends in ", grace_end: "grace ends in " }[event.time_left_until] || "") + fmtDuration(event.time_left_seconds);
      const item = el("li", { class: "event", "data-phase": event.phase, "data-event": event.id },
        el("div", { class: "event-top" }, el("span", { class: "event-title", text: event.title || event.id, title: event.id }), phase),
        el("div", { class: "event-meta" },
          el("span", { text: `${event.id} · run ${event.run}` }),
          el("span", { "data-testid": "time-left", "data-value": event.time_left_seconds ?? "", text: left })));
      if (event.community) {
        const goal = event.community;
        const bar = el("div", { class: "bar", "data-reached": String(goal.reached) }, el("span"));
        bar.firstChild.style.width = Math.min(100, goal.percent) + "%";
        item.append(el("div", { class: "goal" },
          el("div", { class: "goal-head" },
            el("span", { text: goal.reached ? "Community goal reached" : "Community goal" }),
            el("span", { "data-testid": "community-progress", "data-value": goal.progress, text: `${fmtInt(goal.progress)} / ${fmtInt(goal.target)} · ${goal.percent}%` })),
          bar));
      }
      return item;
    });
    if (items.length === 0) items.push(el("li", { class: "muted", text: "The active release has no events." }));
    list.replaceChildren(...items);
    const live = s.events.filter((e) => ["active", "paused", "grace", "finalizing"].includes(e.phase)).length;
    setText("events-count", `${live} live · ${s.events.length} in the release`);
  }

  function renderBoard(s) {
    const boards = s.events.filter((e) => e.leaderboard);
    if (!boards.some((e) => e.id === state.board)) state.board = boards.length ? boards[0].id : null;
    const tabs = boards.map((event) => {
      const tab = el("button", { type: "button", class: "tab", role: "tab", "aria-selected": event.id === state.board ? "true" : "false", text: event.id });
      tab.addEventListener("click", () => { state.board = event.id; renderBoard(state.snapshot); });
      return tab;
    });
    $("board-tabs").replaceChildren(...(tabs.length > 1 ? tabs : []));
    const event = boards.find((e) => e.id === state.board);
    const rows = (event ? event.leaderboard.top : []).map((entry) => el("tr", { "data-player": entry.player },
      el("td", { class: "num", text: entry.rank }),
      el("td", { class: "player", text: entry.player, title: entry.player }),
      el("td", { class: "num", "data-value": entry.points, text: fmtInt(entry.points) })));
    if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 3, class: "muted", text: event ? "No points scored yet." : "No live event with a leaderboard." })));
    $("board-rows").replaceChildren(...rows);
    $("board-rows").closest("table").dataset.event = event ? event.id : "";
    setText("board-foot", event ? `${event.title} · ${fmtInt(event.leaderboard.players)} players ranked` : "");
  }

  // ---- charts: canvas, one line per series, gaps where a value is null -------------------------
  function drawChart(canvas, times, series, options) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = Number(canvas.getAttribute("height")) || 150;
    if (canvas.width !== Math.round(width * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.height = height + "px";
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const left = 44, right = 8, top = 8, bottom = 18;
    const plotW = width - left - right, plotH = height - top - bottom;
    let max = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
    max = niceMax(max);
    const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
    const span = Math.max(1, t1 - t0);
    g.font = "11px system-ui, sans-serif";
    g.strokeStyle = "#263142";
    g.fillStyle = "#8d9aac";
    g.lineWidth = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let i = 0; i <= 3; i++) {
      const y = top + plotH - (plotH * i) / 3;
      g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(width - right, y + 0.5); g.stroke();
      g.fillText(compact(max * i / 3), left - 6, y);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    if (times.length > 1) {
      // Three time labels where they fit, the two ends on a narrow chart.
      for (const fraction of plotW >= 260 ? [0, 0.5, 1] : [0, 1]) {
        const t = t0 + span * fraction;
        g.fillText(new Date(t).toLocaleTimeString("en-GB", { hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "UTC" }),
          Math.min(width - right - 24, Math.max(left + 24, left + plotW * fraction)), height - bottom + 4);
      }
    }
    series.forEach((s, index) => {
      g.strokeStyle = s.color || COLORS[index % COLORS.length];
      g.lineWidth = 1.8;
      g.beginPath();
      let open = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { open = false; return; }
        const x = left + (plotW * (times[i] - t0)) / span;
        const y = top + plotH - (plotH * v) / max;
        if (open) g.lineTo(x, y); else g.moveTo(x, y);
        open = true;
      });
      g.stroke();
    });
    if (options && options.empty && series.every((s) => s.values.every((v) => v === null || v === 0))) {
      g.fillStyle = "#8d9aac";
      g.textAlign = "center";
      g.textBaseline = "middle";
      g.fillText(options.empty, left + plotW / 2, top + plotH / 2);
    }
    canvas.dataset.points = String(times.length);
  }
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 1.5, 2, 3, 5, 7.5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }
  function compact(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
    if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + "k";
    return n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
  }
  function legend(id, entries, emptyText) {
    const items = entries.map((entry, index) => el("span", {},
      el("span", { class: "swatch", "data-series": index % COLORS.length }), `${entry.name} `, el("strong", { text: fmtRate(entry.last) })));
    if (items.length === 0) items.push(el("span", { class: "empty", text: emptyText }));
    $(id).replaceChildren(...items);
  }

  function renderCharts(s) {
    const series = s.series;
    setText("actions-window", `${series.actions_window_seconds} s window`);
    drawChart($("chart-actions"), series.t, [{ name: "accepted", values: series.actions_per_second }], { empty: "no actions yet" });

    const grants = Object.entries(series.grants_per_minute).map(([event, values]) => ({ name: event, values, last: lastOf(values) }));
    drawChart($("chart-grants"), series.t, grants, { empty: "no grants yet" });
    legend("legend-grants", grants, "no grants since the dashboard started watching");

    const currency = [];
    for (const [event, rewards] of Object.entries(series.rewards_per_minute)) {
      for (const [name, reward] of Object.entries(rewards)) {
        if (reward.kind === "currency") currency.push({ name: `${event} · ${name}`, values: reward.per_minute, last: lastOf(reward.per_minute) });
      }
    }
    drawChart($("chart-currency"), series.t, currency, { empty: "no currency granted yet" });
    legend("legend-currency", currency, "no currency granted since the dashboard started watching");

    const cohorts = series.cohorts;
    $("cohort-card").hidden = !cohorts;
    if (cohorts) {
      setText("cohort-caption", `rollout ${cohorts.rollout}, step ${cohorts.step}`);
      drawChart($("chart-cohort-actions"), series.t, [
        { name: "baseline", values: cohorts.baseline.actions_per_second, color: COLORS[0] },
        { name: "candidate", values: cohorts.candidate.actions_per_second, color: COLORS[1] }]);
      drawChart($("chart-cohort-grants"), series.t, [
        { name: "baseline", values: cohorts.baseline.grants_per_minute, color: COLORS[0] },
        { name: "candidate", values: cohorts.candidate.grants_per_minute, color: COLORS[1] }]);
      // One line per cohort and currency (the demo has one currency): baseline in blue, candidate in amber.
      const currencyLines = [];
      for (const [name, values] of Object.entries(cohorts.baseline.currency_per_minute)) currencyLines.push({ name: `baseline ${name}`, values, color: COLORS[0] });
      for (const [name, values] of Object.entries(cohorts.candidate.currency_per_minute)) currencyLines.push({ name: `candidate ${name}`, values, color: COLORS[1] });
      drawChart($("chart-cohort-currency"), series.t, currencyLines);
    }
  }

  function renderReleases(s) {
    const facts = $("release-facts");
    facts.replaceChildren();
    const active = s.releases.active;
    if (active) {
      fact(facts, "Active", active.name, { "data-testid": "active-release", "data-value": active.id, title: active.description || "" });
      fact(facts, "Id", shortId(active.id), { class: "id", title: active.id });
      fact(facts, "Since", `${dateTimeOf(active.since)} · register v${active.version}`);
      setText("release-summary", `${active.name} · ${shortId(active.id)}`);
    } else {
      fact(facts, "Active", "no active release");
      setText("release-summary", "no active release");
    }
    const box = $("rollout");
    const rollout = s.rollout;
    if (!rollout) {
      box.replaceChildren(el("p", { class: "muted small", text: "No staged rollout has run. Start one with 'showrunner rollout start'." }));
      box.dataset.state = "none";
      return;
    }
    box.dataset.state = rollout.state;
    box.dataset.rollout = String(rollout.id);
    box.dataset.step = String(rollout.step);
    box.dataset.candidate = rollout.candidate.id;
    const running = rollout.state === "running" || rollout.state === "held";
    const steps = el("div", { class: "steps", title: `step ${rollout.step + 1} of ${rollout.steps}` });
    for (let i = 0; i < rollout.steps; i++) {
      steps.append(el("span", { "data-done": String(i < rollout.step || rollout.state === "completed"), "data-current": String(running && i === rollout.step) }));
    }
    const details = el("dl", { class: "facts" });
    fact(details, "Candidate", rollout.candidate.name, { "data-testid": "candidate-release", "data-value": rollout.candidate.id, title: rollout.candidate.id });
    fact(details, "State", rollout.state.replace("_", " "), { class: "status", "data-status": rollout.state, "data-testid": "rollout-state" });
    fact(details, "Step", `${rollout.step + 1} of ${rollout.steps} · ${rollout.mode} ${rollout.percent}%`, { "data-testid": "rollout-step", "data-value": rollout.step });
    if (running) {
      fact(details, "Soak", rollout.soak_remaining_seconds > 0 ? `${fmtDuration(rollout.soak_remaining_seconds)} left` :
        (rollout.auto_advance ? "done: advances when the gates pass" : "done: advance by hand"));
      fact(details, "Actions", `${fmtInt(rollout.candidate_actions)} candidate · ${fmtInt(rollout.baseline_actions)} baseline`);
      fact(details, "Gates", rollout.overall, { class: "status", "data-status": rollout.overall, "data-testid": "gates-overall" });
    } else if (rollout.last_change) {
      fact(details, "Last change", `${rollout.last_change.kind} by ${rollout.last_change.actor} at ${timeOf(rollout.last_change.at)}`);
    }
    const gates = el("ul", { class: "gates", "data-testid": "gates" }, ...rollout.gates.map((gate) => el("li", {
      class: "gate", "data-status": gate.status, title: gate.detail },
      el("span", { class: "dot" }),
      el("span", { class: "name", text: gate.gate.replace("_", " ") + (gate.event ? ` · ${gate.event}` : "") + (gate.reward ? ` · ${gate.reward}` : "") }),
      el("span", { class: "verdict", text: gate.status }),
      el("span", { class: "values", text: `candidate ${perThousand(gate.candidate)} · baseline ${perThousand(gate.baseline)} · allowed ${gate.threshold}` }))));
    box.replaceChildren(el("div", { class: "rollout" }, el("div", { class: "card-head" }, el("h2", { text: `Rollout ${rollout.id}` })), steps, details,
      rollout.gates.length ? gates : null));
  }

  function renderLedger(s) {
    const ledger = s.ledger;
    const facts = $("ledger-facts");
    facts.replaceChildren();
    fact(facts, "Entries", fmtInt(ledger.entries), { "data-value": ledger.entries });
    if (ledger.latest_checkpoint) {
      const checkpoint = ledger.latest_checkpoint;
      fact(facts, "Checkpoint", `#${fmtInt(checkpoint.sequence)} at ${timeOf(checkpoint.time)} · ${fmtInt(checkpoint.entries)} entries`);
      fact(facts, "Age", `${fmtDuration(ledger.checkpoint_age_seconds)} · ${fmtInt(ledger.uncheckpointed_entries)} entries not yet covered`);
      fact(facts, "Signing key", shortId(checkpoint.key_id), { class: "id", title: checkpoint.key_id });
    } else {
      fact(facts, "Checkpoint", "none signed yet");
    }
    const check = ledger.verification;
    if (check) {
      fact(facts, "Self-check", check.ok ? `ok · ${fmtDuration(check.age_seconds)} ago` : check.result,
        { class: "status", "data-status": check.ok ? "ok" : "failed", title: check.detail, "data-testid": "ledger-check" });
      fact(facts, "", check.detail, { class: "small muted", title: check.detail });
    } else {
      fact(facts, "Self-check", "runs within seconds of start");
    }
    // Damaged partitions are shown as soon as they are known (at start or by a read), not only at the next self-check.
    for (const damage of ledger.damaged_partitions || []) {
      const at = damage.first_bad_index === null ? "no single entry named" : `first bad entry ${fmtInt(damage.first_bad_index)}`;
      fact(facts, `Partition ${damage.partition}`, `damaged · ${damage.check} · ${at}`,
        { class: "status", "data-status": "failed", title: damage.detail, "data-testid": "ledger-damaged" });
      fact(facts, "", `${damage.detail} (found ${damage.found_by === "startup" ? "at start" : "by a read"})`, { class: "small muted", title: damage.detail });
    }
  }

  function renderOutbox(s) {
    const outbox = s.outbox;
    const facts = $("outbox-facts");
    facts.replaceChildren();
    fact(facts, "Webhook", outbox.webhook_configured ? `configured · circuit ${outbox.circuit || "–"}` : "not configured");
    fact(facts, "Pending", fmtInt(outbox.pending), { "data-value": outbox.pending });
    fact(facts, "Delivered", fmtInt(outbox.delivered));
    fact(facts, "Dead letters", fmtInt(outbox.dead_lettered), { class: "status", "data-status": outbox.dead_lettered > 0 ? "fail" : "ok" });
    fact(facts, "Counted", `${timeOf(outbox.counted_at)}${outbox.failed_attempts ? ` · ${fmtInt(outbox.failed_attempts)} failed attempts` : ""}`);
  }

  function renderIngest(s) {
    const totals = s.totals;
    const facts = $("ingest-facts");
    facts.replaceChildren();
    fact(facts, "Accepted", fmtInt(totals.accepted));
    fact(facts, "Duplicates", `${fmtInt(totals.duplicates)} (answered with the original result)`);
    fact(facts, "Queued", `${fmtInt(totals.queued_actions)} actions in the partitions' inboxes`);
    fact(facts, "Overloaded", `${fmtInt(totals.overloaded_batches)} batches refused with 503`,
      { class: "status", "data-status": totals.overloaded_batches > 0 ? "inconclusive" : "ok" });
    const codes = Object.entries(totals.rejected_by_code || {}).sort((a, b) => b[1] - a[1]).slice(0, 6);
    fact(facts, "Rejected", codes.length ? "" : "none", { "data-testid": "rejected-codes" });
    for (const [code, count] of codes) fact(facts, "", `${code} · ${fmtInt(count)}`, { class: "id" });
  }

  // ---- start -------------------------------------------------------------------------------------
  window.addEventListener("resize", () => { if (state.snapshot) renderCharts(state.snapshot); });
  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = $("key").value.trim();
      $("sign-in").disabled = true;
      $("login-error").textContent = "";
      try {
        await signIn(key);
      } catch (error) {
        $("login-error").textContent = "Sign-in refused: " + error.message;
      } finally {
        $("sign-in").disabled = false;
      }
    });
    $("sign-out").addEventListener("click", () => signOut(""));
    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) {
      signIn(saved).catch((error) => signOut("Sign in again: " + error.message));
    } else {
      show("login");
      $("key").focus();
    }
  });
})();
