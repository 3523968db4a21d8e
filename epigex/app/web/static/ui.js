// The UI's shared bits: the bearer token (kept in sessionStorage: this tab only) and fetch with it.
// With users on the server, page loads need the token too: it also goes into a SameSite=Strict session cookie,
// which the server reads for GET and HEAD only (a write always sends the Authorization header).
"use strict";
const epigex = {
  token() { return sessionStorage.getItem("epigex-token") || ""; },
  headers(extra = {}) {
    const t = epigex.token();
    return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
  },
  async send(method, url, body) {
    const init = { method, headers: epigex.headers(body ? { "Content-Type": "application/json" } : {}) };
    if (body) init.body = JSON.stringify(body);
    const r = await fetch(url, init);
    const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new Error(typeof data === "object" && data.detail ? data.detail : `${r.status} ${r.statusText}`);
    return data;
  },
  sleep(ms) { return new Promise((ok) => setTimeout(ok, ms)); },
  keepCookie(t) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = t
      ? `epigex_token=${encodeURIComponent(t)}; path=/; SameSite=Strict${secure}`
      : `epigex_token=; path=/; SameSite=Strict; Max-Age=0${secure}`;
  },
  async waitJob(id, onProgress) {
    for (;;) {
      const job = await epigex.send("GET", `/jobs/${id}`);
      onProgress(job);
      if (job.status === "succeeded" || job.status === "failed") return job;
      await epigex.sleep(700);
    }
  },
};
window.epigex = epigex;
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  const state = document.getElementById("token-state");
  state.textContent = epigex.token() ? "token kept for this tab" : "";
  const hadCookie = document.cookie.split("; ").some((c) => c.startsWith("epigex_token="));
  if (epigex.token() && !hadCookie) epigex.keepCookie(epigex.token());
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("epigex-token", input.value.trim());
    epigex.keepCookie(epigex.token());
    input.value = "";
    state.textContent = epigex.token() ? "token kept for this tab" : "no token";
    if (form.dataset.users === "true") location.reload(); // the page shows what this token may read
  });
});
