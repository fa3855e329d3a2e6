// One instance: status, times, payloads as collapsible indented text, related instances, actions, the
// waterfall of its work on a time axis (every retry attempt and backoff timer is its own bar) and the
// history table. Refreshes every 2 s while the instance has not finished.
"use strict";

(() => {
  const { el, api, post, time, badge, instanceLink, prettyJson, message, showHub } = devhost;
  const id = new URLSearchParams(location.search).get("id") || "";
  const FINISHED = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
  let stamp = null;
  let info = { actions: false, restart: false };

  const path = () => "/instances/" + encodeURIComponent(id);

  function fact(term, value) {
    return [el("dt", {}, term), el("dd", {}, value)];
  }

  function payload(title, text, open) {
    return el("details", { className: "payload", open: open, dataset: { payload: title.toLowerCase() } },
      el("summary", {}, title), el("pre", { className: "json" }, prettyJson(text)));
  }

  function seconds(ms) {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  }

  function renderWaterfall(spans, nowIso) {
    const box = document.getElementById("waterfall");
    box.replaceChildren();
    if (!spans.length) { box.append(el("p", { className: "muted" }, "No scheduled work yet.")); return; }
    const now = new Date(nowIso).getTime();
    const start = (s) => new Date(s.start).getTime();
    const end = (s) => (s.end ? new Date(s.end).getTime() : now);
    const t0 = Math.min(...spans.map(start));
    const t1 = Math.max(t0 + 1, ...spans.map(end));
    const width = t1 - t0;
    const axis = el("div", { className: "axis", "aria-hidden": "true" });
    for (let i = 0; i <= 4; i += 1) {
      const tick = el("span", { className: "tick" }, "+" + seconds((width * i) / 4));
      tick.style.left = `${(i * 100) / 4}%`;
      axis.append(tick);
    }
    box.append(el("div", { className: "wf-row wf-head" }, el("div", { className: "wf-label" }, "Work"), axis));
    for (const span of spans) {
      const duration = end(span) - start(span);
      const title = span.kind === "timer" ? "backoff / timer" : span.name;
      const counted = span.kind === "timer" || span.kind === "event" ? span.kind : `${span.kind} · attempt ${span.attempt}`;
      const note = span.outcome === "failed" ? `failed: ${span.detail}` : span.outcome;
      const summary = `${seconds(duration)} · ${note}`;
      const label = el("div", { className: "wf-label" },
        span.kind === "suborchestration" && span.instance_id ? instanceLink(span.instance_id) : title,
        el("span", { className: "muted" }, ` ${counted}`),
        el("span", { className: "dur", title: summary }, summary));
      const bar = el("div", {
        className: `bar ${span.kind} ${span.outcome}`,
        title: `${title}: ${summary}` + (span.detail && span.outcome !== "failed" ? ` (${span.detail})` : ""),
      });
      bar.style.left = `${((start(span) - t0) * 100) / width}%`;
      bar.style.width = `${Math.max(0, (duration * 100) / width)}%`;
      const track = el("div", { className: "track" }, bar);
      box.append(el("div", {
        className: "wf-row", role: "listitem",
        dataset: { kind: span.kind, outcome: span.outcome, attempt: span.attempt, name: span.name },
      }, label, track));
    }
  }

  function renderHistory(rows) {
    document.getElementById("history-count").textContent = String(rows.length);
    const body = document.getElementById("history");
    body.replaceChildren();
    for (const row of rows) {
      const data = row.payload
        ? (row.payload.length > 80
          ? el("details", {}, el("summary", {}, row.payload.slice(0, 80) + "…"),
            el("pre", { className: "json" }, prettyJson(row.payload)))
          : el("code", {}, row.payload))
        : "";
      const failed = /Failed$/.test(row.eventType);
      body.append(el("tr", { className: failed ? "failed" : "" },
        el("td", {}, row.index), el("td", {}, row.eventType), el("td", {}, time(row.timestamp, true)),
        el("td", {}, row.name || ""), el("td", {}, typeof row.eventId === "number" && row.eventId >= 0 ? row.eventId : row.scheduledId ?? ""),
        el("td", {}, data)));
    }
  }

  function render(body) {
    const inst = body.instance;
    document.getElementById("instance").hidden = false;
    document.title = `${inst.instanceId} · devhost dashboard`;
    document.getElementById("iid").textContent = inst.instanceId;
    document.getElementById("status").replaceChildren(badge(inst.runtimeStatus));
    document.body.dataset.status = inst.runtimeStatus;
    const facts = document.getElementById("facts");
    facts.replaceChildren(
      ...fact("Orchestrator", inst.name),
      ...fact("Created", time(inst.createdTime)),
      ...fact("Last updated", time(inst.lastUpdatedTime)),
      ...fact("Completed", time(inst.completedTime)),
      ...fact("Execution", inst.executionId),
      ...fact("Parent", inst.parentInstanceId ? instanceLink(inst.parentInstanceId) : "none"));
    const failureBox = document.getElementById("failure-box");
    failureBox.hidden = !body.failure;
    document.getElementById("failure").textContent = body.failure ? prettyJson(body.failure) : "";
    document.getElementById("payloads").replaceChildren(
      payload("Input", inst.input, false), payload("Output", inst.output, true),
      payload("Custom status", inst.customStatus, true));
    const related = document.getElementById("related");
    related.replaceChildren();
    if (inst.parentInstanceId) related.append(el("li", {}, "Parent: ", instanceLink(inst.parentInstanceId)));
    for (const child of body.children) {
      related.append(el("li", { className: "child" }, `${child.name}: `, instanceLink(child.instanceId)));
    }
    if (!related.children.length) related.append(el("li", { className: "muted" }, "None."));
    renderWaterfall(body.waterfall, FINISHED.has(inst.runtimeStatus) ? inst.lastUpdatedTime : new Date().toISOString());
    renderHistory(body.history);
    const running = !FINISHED.has(inst.runtimeStatus);
    for (const button of document.querySelectorAll("#actions button[data-op]")) {
      const op = button.dataset.op;
      const fits = op === "purge" ? !running : op === "restart" ? info.restart : running;
      button.disabled = !info.actions || !fits;
    }
    document.querySelector("#raise button").disabled = !info.actions || !running;
    document.body.dataset.loaded = "true";
  }

  async function load() {
    try {
      const body = await api(path());
      const next = `${body.instance.lastUpdatedTime}/${body.history.length}/${body.instance.runtimeStatus}`;
      if (next !== stamp) { stamp = next; render(body); }
      if (!FINISHED.has(body.instance.runtimeStatus)) setTimeout(load, 2000);
    } catch (error) {
      document.getElementById("instance").hidden = error.status === 404 || error.status === 400;
      message(error.message, "error");
    }
  }

  async function act(op) {
    const verbs = { terminate: "Terminate", suspend: "Suspend", resume: "Resume", restart: "Restart", purge: "Purge" };
    if (!confirm(`${verbs[op]} instance ${id}?`)) return;
    try {
      const result = await post(`${path()}/${op}`, op === "restart" ? { newInstanceId: true } : {});
      if (op === "purge") {
        message(`Purged ${id}.`, "ok");
        document.getElementById("instance").hidden = true;
        return;
      }
      if (op === "restart" && result && result.instanceId) {
        location.href = "/_devhost/instance?id=" + encodeURIComponent(result.instanceId);
        return;
      }
      message(`${verbs[op]} sent.`, "ok");
      stamp = null;
      setTimeout(load, 300);
    } catch (error) {
      message(error.message, "error");
    }
  }

  async function raise(event) {
    event.preventDefault();
    const name = document.getElementById("event-name").value.trim();
    const text = document.getElementById("event-data").value.trim() || "null";
    let value;
    try { value = JSON.parse(text); } catch (error) { message(`Event data is not JSON: ${error.message}`, "error"); return; }
    if (!confirm(`Raise event ${name} into ${id}?`)) return;
    try {
      await api(`${path()}/events/${encodeURIComponent(name)}`, { method: "POST", body: JSON.stringify(value) });
      message(`Event ${name} sent.`, "ok");
      stamp = null;
      setTimeout(load, 300);
    } catch (error) {
      message(error.message, "error");
    }
  }

  for (const button of document.querySelectorAll("#actions button[data-op]")) {
    button.addEventListener("click", () => act(button.dataset.op));
  }
  document.getElementById("raise").addEventListener("submit", raise);
  if (!id) {
    message("No instance id: open an instance from the list.", "error");
  } else {
    showHub().then((found) => {
      info = found;
      document.getElementById("readonly").hidden = info.actions;
    }).catch((error) => message(error.message, "error")).finally(load);
  }
})();
