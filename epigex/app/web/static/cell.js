// A cell's predictions: every gene fetched once, searched, sorted by any column and shown a page at a time.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const table = document.getElementById("predictions");
  const cell = table.dataset.cell;
  const body = table.querySelector("tbody");
  const count = document.getElementById("pred-count");
  const pageLabel = document.getElementById("page");
  const PAGE = 200;
  let rows = [], shown = [], page = 0, sortCol = "gex_predicted", sortDir = -1;
  const fmt = (v, d = 4) => (v === null || v === undefined ? "—" : Number(v).toFixed(d));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const render = () => {
    const start = page * PAGE;
    body.innerHTML = shown.slice(start, start + PAGE).map((r) =>
      `<tr><td><a href="/ui/cells/${encodeURIComponent(cell)}/genes/${encodeURIComponent(r.gene_name)}">${esc(r.gene_name)}</a></td>` +
      `<td class="num">${fmt(r.gex_predicted)}</td><td class="num">${fmt(r.p_expressed, 3)}</td>` +
      `<td class="num">${fmt(r.rank_predicted)}</td><td class="num">${fmt(r.pct_lo, 2)}–${fmt(r.pct_hi, 2)}</td>` +
      `<td>${esc(r.references || "")}</td></tr>`).join("");
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    pageLabel.textContent = `page ${page + 1} of ${pages}`;
    count.textContent = `${shown.length.toLocaleString()} of ${rows.length.toLocaleString()} genes`;
  };
  const apply = () => {
    const q = document.getElementById("search").value.trim().toUpperCase();
    shown = q ? rows.filter((r) => r.gene_name.toUpperCase().includes(q)) : rows.slice();
    shown.sort((a, b) => {
      const x = a[sortCol], y = b[sortCol];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
    table.querySelectorAll("th button").forEach((b) => {
      if (b.dataset.col === sortCol) b.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      else b.removeAttribute("aria-sort");
    });
    page = 0;
    render();
  };
  table.querySelectorAll("th button").forEach((b) => b.addEventListener("click", () => {
    sortDir = b.dataset.col === sortCol ? -sortDir : (b.dataset.col === "gene_name" ? 1 : -1);
    sortCol = b.dataset.col;
    apply();
  }));
  document.getElementById("search").addEventListener("input", apply);
  document.getElementById("prev").addEventListener("click", () => { if (page > 0) { page -= 1; render(); } });
  document.getElementById("next").addEventListener("click", () => { if ((page + 1) * PAGE < shown.length) { page += 1; render(); } });
  try {
    const data = await epigex.send("GET", `/predict/${encodeURIComponent(cell)}`);
    rows = data.predictions;
    apply();
    performance.mark("epigex:table-ready");  // bench/ui.py reads it: navigation to a sortable table
    table.dataset.ready = "true";
  } catch (err) {
    count.textContent = err.message;
    count.classList.add("error");
  }
});
