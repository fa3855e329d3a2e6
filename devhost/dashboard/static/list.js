// The instance list: filters kept in the address (a link shows the same view), counts per status, newest
// first, paged, refreshed every 2 s while the box is ticked; bulk actions on what the filter selects.
"use strict";

(() => {
  const { el, api, post, time, badge, instanceLink, message, showHub, STATUSES } = devhost;
  const PAGE_SIZE = 50;
  const fields = ["status", "name", "prefix", "from", "to"];
  let page = 1;
  let last = null;
  let timer = null;

  const input = (name) => document.getElementById("f-" + name);

  function toLocalInput(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return "";
    const shifted = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
    return shifted.toISOString().slice(0, 19);
  }

  function readAddress() {
    const params = new URLSearchParams(location.search);
    for (const name of fields) {
      const value = params.get(name) || "";
      input(name).value = (name === "from" || name === "to") && value ? toLocalInput(value) : value;
    }
    page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  }

  function filterParams() {
    const params = new URLSearchParams();
    for (const name of fields) {
      let value = input(name).value.trim();
      if (!value) continue;
      if (name === "from" || name === "to") value = new Date(value).toISOString();
      params.set(name, value);
    }
    return params;
  }

  function writeAddress() {
    const params = filterParams();
    if (page > 1) params.set("page", String(page));
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  function renderCounts(counts) {
    const list = document.getElementById("counts");
    list.replaceChildren();
    for (const status of STATUSES) {
      const button = el("button", { type: "button", className: "count", "aria-pressed":
        input("status").value === status ? "true" : "false", title: `Show only ${status}` },
        badge(status), " ", el("span", { className: "n", dataset: { status } }, counts[status] || 0));
      button.addEventListener("click", () => {
        input("status").value = input("status").value === status ? "" : status;
        changed();
      });
      list.append(el("li", {}, button));
    }
  }

  function render(body) {
    last = body;
    renderCounts(body.counts);
    const rows = document.getElementById("rows");
    rows.replaceChildren();
    for (const item of body.instances) {
      rows.append(el("tr", { dataset: { instanceId: item.instanceId, status: item.runtimeStatus } },
        el("td", { className: "iid" }, instanceLink(item.instanceId)),
        el("td", {}, item.name),
        el("td", {}, badge(item.runtimeStatus)),
        el("td", {}, time(item.createdTime)),
        el("td", {}, time(item.lastUpdatedTime))));
    }
    if (!body.instances.length) {
      rows.append(el("tr", {}, el("td", { colspan: 5, className: "muted" }, "No instance matches.")));
    }
    const pages = Math.max(1, Math.ceil(body.total / body.pageSize));
    document.getElementById("page-info").textContent =
      `Page ${body.page} of ${pages} · ${body.total} instance${body.total === 1 ? "" : "s"}`;
    const asOf = document.getElementById("as-of");
    asOf.replaceChildren(body.asOf ? "as of " : "", body.asOf ? time(body.asOf) : "");
    document.getElementById("prev").disabled = body.page <= 1;
    document.getElementById("next").disabled = body.page >= pages;
    document.getElementById("bulk-terminate").textContent = `Terminate running (${body.eligible.terminate})…`;
    document.getElementById("bulk-purge").textContent = `Purge finished (${body.eligible.purge})…`;
    document.body.dataset.loaded = "true";
  }

  async function load() {
    clearTimeout(timer);
    const params = filterParams();
    params.set("page", String(page));
    params.set("pageSize", String(PAGE_SIZE));
    // The list reads every instance the filter lets through (devhost/dashboard/README.md): on a large hub
    // under load that can take a moment, and the page says so rather than looking stuck.
    const table = document.getElementById("rows");
    const slow = setTimeout(() => {
      table.setAttribute("aria-busy", "true");
      document.getElementById("as-of").textContent = "reading the hub's instances…";
    }, 700);
    try {
      render(await api("/instances?" + params.toString()));
      if (document.getElementById("message").classList.contains("error")) message("");
    } catch (error) {
      message(error.message, "error");
    } finally {
      clearTimeout(slow);
      table.removeAttribute("aria-busy");
    }
    if (document.getElementById("auto").checked) timer = setTimeout(load, 2000);
  }

  function changed() {
    page = 1;
    writeAddress();
    load();
  }

  async function bulk(op) {
    if (!last) return;
    const count = op === "purge" ? last.eligible.purge : last.eligible.terminate;
    const what = op === "purge" ? "finished" : "running";
    if (count === 0) { message(`The current filter selects no ${what} instance.`, "error"); return; }
    if (!confirm(`${op === "purge" ? "Purge" : "Terminate"} ${count} ${what} instance${count === 1 ? "" : "s"} ` +
                 "selected by the current filter?")) return;
    try {
      const result = await post(`/bulk/${op}?` + filterParams().toString(), {});
      const done = op === "purge" ? result.purged : result.terminated;
      message(`${op === "purge" ? "Purged" : "Terminated"} ${done} instance${done === 1 ? "" : "s"}.`, "ok");
    } catch (error) {
      message(error.message, "error");
    }
    load();
  }

  function start() {
    const select = input("status");
    for (const status of STATUSES) select.append(el("option", { value: status }, status));
    readAddress();
    for (const name of fields) input(name).addEventListener("change", changed);
    for (const name of ["name", "prefix"]) input(name).addEventListener("input", changed);
    document.getElementById("filters").addEventListener("reset", () => setTimeout(changed, 0));
    document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); changed(); });
    document.getElementById("auto").addEventListener("change", load);
    document.getElementById("prev").addEventListener("click", () => { page -= 1; writeAddress(); load(); });
    document.getElementById("next").addEventListener("click", () => { page += 1; writeAddress(); load(); });
    document.getElementById("bulk-terminate").addEventListener("click", () => bulk("terminate"));
    document.getElementById("bulk-purge").addEventListener("click", () => bulk("purge"));
    showHub().then((info) => {
      if (!info.actions) {
        for (const id of ["bulk-terminate", "bulk-purge"]) document.getElementById(id).disabled = true;
      }
    }).catch((error) => message(error.message, "error"));
    load();
  }

  start();
})();
