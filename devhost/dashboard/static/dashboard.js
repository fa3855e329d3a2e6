// Shared by the pages: the API call (with the master key when the host asks for one), safe element
// building (text only: stored values never become HTML), times and status badges.
"use strict";

const devhost = (() => {
  const API = "/_devhost/api";
  const KEY = "devhost-master-key";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function message(text, kind) {
    const box = document.getElementById("message");
    box.textContent = text || "";
    box.className = "message" + (kind ? " " + kind : "");
  }

  class ApiError extends Error {
    constructor(status, text) { super(text); this.status = status; }
  }

  function askForKey() {
    const form = document.getElementById("key-form");
    form.hidden = false;
    return new Promise((resolve) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        sessionStorage.setItem(KEY, document.getElementById("key").value);
        form.hidden = true;
        resolve();
      }, { once: true });
      document.getElementById("key").focus();
    });
  }

  async function api(path, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers["x-functions-key"] = key;
    if (opts.method === "POST") headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method: opts.method, headers, body: opts.body, credentials: "same-origin", cache: "no-store",
    });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      message("This dashboard needs the host's master key.", "error");
      await askForKey();
      message("");
      return api(path, options);
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const text = body && body.error ? body.error : `HTTP ${response.status}`;
      throw new ApiError(response.status, text);
    }
    return body;
  }

  function post(path, value) {
    return api(path, { method: "POST", body: JSON.stringify(value === undefined ? {} : value) });
  }

  // Local time on the page, the stored UTC value on hover; `precise` adds milliseconds (history rows).
  function time(iso, precise) {
    if (!iso) return el("span", { className: "muted" }, "—");
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return el("span", {}, iso);
    const local = at.toLocaleString(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
      fractionalSecondDigits: precise ? 3 : undefined,
    });
    return el("time", { datetime: iso, title: "UTC " + iso }, local);
  }

  const STATUSES = ["Running", "Pending", "Suspended", "Completed", "Failed", "Terminated", "Canceled",
                    "ContinuedAsNew"];

  function badge(status) {
    return el("span", { className: "badge status-" + status }, status);
  }

  function instanceLink(id) {
    return el("a", { href: "/_devhost/instance?id=" + encodeURIComponent(id) }, id);
  }

  // Stored JSON text, indented when it parses; shown with textContent only.
  function prettyJson(text) {
    if (text === null || text === undefined) return "null";
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return String(text); }
  }

  async function showHub() {
    const info = await api("/info");
    const mode = info.actions ? "actions allowed" : "read-only";
    document.getElementById("hub").textContent = `Task hub ${info.hub} · ${mode}`;
    return info;
  }

  return { el, api, post, time, badge, instanceLink, prettyJson, message, showHub, STATUSES, ApiError };
})();
