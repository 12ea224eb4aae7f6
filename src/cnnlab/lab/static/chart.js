// cnnlab lab: the training view's line charts (SVG) and their shared legend.
// Loaded before lab.js, which calls plot(title, series, key) and legend(series).
"use strict";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
// The chart's size and the margins that hold its title, tick labels and axis label.
const CHART = { width: 440, height: 250, left: 52, right: 16, top: 30, bottom: 42 };

function niceTicks(lo, hi, count) {  // about `count` round values covering lo..hi
  if (hi - lo < 1e-12) { const pad = Math.abs(lo) * 0.05 || 0.05; lo -= pad; hi += pad; }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const first = Math.floor(lo / step + 1e-9) * step, last = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toFixed(12)));
  return { ticks, digits: Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / magnitude === 2.5 ? 1 : 0)) };
}

function svgText(x, y, text, attrs = "") {
  return `<text x="${x}" y="${y}" ${attrs}>${text}</text>`;
}

function plot(title, series, key) {
  const { width: W, height: H, left, right, top, bottom } = CHART;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  const lines = series.map((s) => s.epochs.map((e, m) => [e, s[key][m]]).filter(([, v]) => v != null));
  const points = lines.flat();
  if (!points.length) { svg.innerHTML = svgText(20, 30, `${title}: no epochs recorded`); return svg; }
  const y = niceTicks(Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1])), 5);
  const lastEpoch = Math.max(...points.map((p) => p[0]), 1);
  const x = niceTicks(0, lastEpoch, Math.min(lastEpoch, 8));
  const [x0, x1] = [0, x.ticks[x.ticks.length - 1]];
  const [y0, y1] = [y.ticks[0], y.ticks[y.ticks.length - 1]];
  const X = (v) => left + (W - left - right) * (v - x0) / (x1 - x0);
  const Y = (v) => H - bottom - (H - top - bottom) * (v - y0) / (y1 - y0);
  let html = `<rect class="plot-area" x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#999"/>`;
  html += svgText(left, 18, title, 'font-weight="bold"');
  for (const v of y.ticks) {
    html += `<line x1="${left}" x2="${W - right}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`;
    html += svgText(left - 6, Y(v) + 4, v.toFixed(y.digits), 'class="tick y" font-size="11" text-anchor="end"');
  }
  for (const v of x.ticks.filter((t) => Number.isInteger(t))) {
    html += svgText(X(v), H - bottom + 15, String(v), 'class="tick x" font-size="11" text-anchor="middle"');
  }
  html += svgText(left + (W - left - right) / 2, H - 6, "epoch", 'class="axis-label" font-size="11" text-anchor="middle"');
  lines.forEach((line, n) => {
    const colour = COLOURS[n % COLOURS.length];
    const d = line.map(([e, v], m) => `${m ? "L" : "M"}${X(e)},${Y(v)}`).join(" ");
    html += `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`;
    html += line.map(([e, v]) => `<circle cx="${X(e)}" cy="${Y(v)}" r="3" fill="${colour}"/>`).join("");
  });
  svg.innerHTML = html;
  return svg;
}

function legend(series) {  // one legend for the four charts, beside them, never over a curve
  return el("ul", { id: "curve-legend" }, ...series.map((s, n) => el("li", {},
    el("span", { class: "swatch", style: `background:${COLOURS[n % COLOURS.length]}` }), s.run)));
}

