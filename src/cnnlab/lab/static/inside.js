// cnnlab lab: inside one network, its layers' outputs, first filters, the chosen method's map
// and each map cell's receptive field. Loaded before lab.js, whose helpers ($, el, api, bars) it uses.
"use strict";

// -- the layers ------------------------------------------------------------------

async function inside() {
  const runId = $("#inside-run").value;
  if (!runId || !state.lastInput) { $("#layers").textContent = "Draw or drop a picture first."; return; }
  const asked = ++state.insideAsked;
  try {
    const answer = await api(`/api/activations/${encodeURIComponent(runId)}?${query({ method: $("#method").value })}`,
      { method: "POST", body: state.lastInput, headers: { "Content-Type": state.lastInput.type } });
    if (asked !== state.insideAsked) return;  // a later request (another run chosen) wins
    bars(answer.probabilities, $("#scores"), state.runs.find((r) => r.id === runId).data.class_names);
    $("#inside-map").src = answer.attribution.map;
    $("#inside-method").textContent = answer.attribution.method.replaceAll("_", " ") +
      (answer.attribution.note ? ` (${answer.attribution.note})` : "");
    $("#filters").replaceChildren(answer.filters
      ? el("img", { src: answer.filters.image, style: `width:${8 * imageWidth(answer.filters)}px`, alt: "first-layer filters" })
      : "no conv layer");
    state.insideLayers = answer.layers;
    $("#layers").replaceChildren(...answer.layers.map(layerView));
    $("#hover-hint").hidden = !answer.layers.some((layer) => layer.shape.length === 3);
    document.body.dataset.inside = answer.run;
    document.body.dataset.insideMethod = answer.attribution.method;
  } catch (error) { status(error.message); }
}

function imageWidth(filters) {  // filters.shape: (C_out, 1, k, k), tiled with 1-pixel gaps
  const k = filters.shape[3];
  return filters.columns * (k + 1) - 1;
}

function layerView(layer) {
  const colours = layer.signed ? " · blue < 0 < red" : "";
  const caption = el("div", { class: "meta" }, `${layer.name} (${layer.kind}) ${layer.shape.join("×")}${colours}`);
  if (layer.shape.length === 1) {
    return el("div", { class: "layer" }, caption, el("img", { class: "strip", src: layer.image, alt: layer.name }));
  }
  const [, h, w] = layer.shape;
  const rows = Math.ceil(layer.shape[0] / layer.columns);
  const scale = Math.max(2, Math.floor(240 / (layer.columns * (w + 1))));
  const img = el("img", { src: layer.image, alt: layer.name,
    style: `width:${scale * (layer.columns * (w + layer.gap) - layer.gap)}px;height:${scale * (rows * (h + layer.gap) - layer.gap)}px` });
  img.addEventListener("mousemove", (event) => showField(event, img, layer));
  img.addEventListener("mouseleave", () => $("#rf").getContext("2d").clearRect(0, 0, 112, 112));
  return el("div", { class: "layer" }, caption, img);
}

function showField(event, img, layer) {
  const [channels, h, w] = layer.shape;
  const box = img.getBoundingClientRect();
  const scale = box.width / (layer.columns * (w + layer.gap) - layer.gap);
  const x = Math.floor((event.clientX - box.left) / scale);
  const y = Math.floor((event.clientY - box.top) / scale);
  const col = Math.floor(x / (w + layer.gap)), row = Math.floor(y / (h + layer.gap));
  const j = x % (w + layer.gap), i = y % (h + layer.gap);
  const ctx = $("#rf").getContext("2d");
  ctx.clearRect(0, 0, 112, 112);
  if (j >= w || i >= h || row * layer.columns + col >= channels) return;
  const field = layer.receptive_field;
  const half = (field.size - 1) / 2;
  const top = Math.max(0, field.start + i * field.jump - half);
  const left = Math.max(0, field.start + j * field.jump - half);
  const bottom = Math.min(27, field.start + i * field.jump + half);
  const right = Math.min(27, field.start + j * field.jump + half);
  ctx.strokeStyle = "#f0b429"; ctx.lineWidth = 2;
  ctx.strokeRect(4 * left, 4 * top, 4 * (right - left + 1), 4 * (bottom - top + 1));
}

