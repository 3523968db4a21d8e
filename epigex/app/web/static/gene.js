// A gene: the SHAP waterfall of both stages (SVG) and the igv.js genome view, from the package's own files only.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
function waterfall(fig, stage, part, unit) {
  const items = part.contributions;
  const rowH = 18, left = 230, width = 420, h = rowH * (items.length + 2) + 30;
  let level = part.base_value;
  const steps = items.map((c) => { const s = { ...c, from: level, to: level + c.shap }; level += c.shap; return s; });
  const xs = [part.base_value, level, ...steps.flatMap((s) => [s.from, s.to])];
  const lo = Math.min(...xs), hi = Math.max(...xs), span = hi - lo || 1;
  const x = (v) => left + ((v - lo) / span) * (width - left - 10);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${h}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${stage}: SHAP waterfall from the base value ${part.base_value.toFixed(3)} to ${level.toFixed(3)} ${unit}`);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(SVG, tag);
    Object.entries(attrs).forEach(([k, v]) => el.setAttribute(k, v));
    if (text !== undefined) el.textContent = text;
    svg.appendChild(el);
    return el;
  };
  add("text", { x: 0, y: 12 }, `${stage} (${unit}): base ${part.base_value.toFixed(3)}`);
  steps.forEach((s, i) => {
    const y = 22 + i * rowH;
    const v = s.value === null ? "missing" : Number(s.value).toFixed(2);
    add("text", { x: 0, y: y + 12 }, `${s.feature} = ${v}`).setAttribute("class", "label");
    add("rect", { x: Math.min(x(s.from), x(s.to)), y: y + 2, width: Math.max(1, Math.abs(x(s.to) - x(s.from))), height: rowH - 4,
      fill: s.shap >= 0 ? "#c62828" : "#1f6f8b" });
  });
  add("text", { x: 0, y: 22 + steps.length * rowH + 14 }, `= ${level.toFixed(3)} (the top ${steps.length} of the features; the rest sum to the remainder)`);
  fig.replaceChildren(svg);
  const cap = document.createElement("figcaption");
  cap.textContent = `${stage}: red raises the score, blue lowers it.`;
  fig.appendChild(cap);
}
document.addEventListener("DOMContentLoaded", async () => {
  const info = JSON.parse(document.getElementById("gene-info").textContent);
  const status = document.getElementById("prediction");
  try {
    const ex = await epigex.send("GET", `/explain/${encodeURIComponent(info.gene)}?cell_line=${encodeURIComponent(info.cell)}&top=15`);
    status.textContent = `predicted ${ex.gex_predicted.toFixed(4)} (P(expressed) ${ex.p_expressed.toFixed(3)}, percentile ${ex.pct_lo?.toFixed(2)}–${ex.pct_hi?.toFixed(2)})` +
      (ex.references ? `; informed by the references ${ex.references} — the SHAP values explain the marks-only prediction ${ex.marks_only.gex_predicted.toFixed(4)}` : "");
    waterfall(document.getElementById("classifier"), "classifier", ex.stages.classifier, "log-odds");
    waterfall(document.getElementById("regressor"), "regressor", ex.stages.regressor, "rank");
  } catch (err) { status.textContent = err.message; status.classList.add("error"); }
  const div = document.getElementById("igv");
  const tracks = JSON.parse(document.getElementById("igv-tracks").textContent);
  const browser = await igv.createBrowser(div, {
    loadDefaultGenomes: false,  // igv would fetch its genome list from igv.org: everything here is local
    reference: { id: "hg38", name: "hg38 (chromosome sizes; no sequence)", format: "chromsizes", fastaURL: "/ui/genome/hg38.chrom.sizes" },
    locus: div.dataset.locus,
    tracks,
    showCenterGuide: true,
    search: false,
    showCursorGuide: false,
  });
  window.epigexBrowser = browser;
  performance.mark("epigex:tracks-drawn");  // bench/ui.py reads it: createBrowser resolves once tracks are drawn
  div.dataset.ready = "true";
});
