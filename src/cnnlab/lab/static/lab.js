// cnnlab lab: draw a digit, every run answers. Plain JavaScript, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);
const canvas = $("#canvas");
const pen = canvas.getContext("2d");
const state = { runs: [], undo: [], timer: null, lastInput: null, insideLayers: [], picture: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function status(text) { $("#status").textContent = text; }

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// -- the drawing pad -------------------------------------------------------------------

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, canvas.width, canvas.height);
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function setUpPad() {
  clearPad();
  let drawing = false;
  canvas.addEventListener("pointerdown", (event) => {
    state.undo.push(pen.getImageData(0, 0, canvas.width, canvas.height));
    usePad();
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    pen.lineWidth = 20; pen.lineCap = "round"; pen.lineJoin = "round"; pen.strokeStyle = "#000";
    pen.beginPath(); pen.moveTo(...point(event)); pen.lineTo(...point(event)); pen.stroke();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    pen.lineTo(...point(event)); pen.stroke();
  });
  const end = () => { if (drawing) { drawing = false; schedulePredict(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("#clear").addEventListener("click", () => { state.undo.push(snapshot()); usePad(); clearPad(); showBlank(); });
  $("#undo").addEventListener("click", () => {
    if (state.undo.length) { usePad(); pen.putImageData(state.undo.pop(), 0, 0); schedulePredict(); }
  });
  document.addEventListener("paste", (event) => {
    const item = [...event.clipboardData.items].find((i) => i.type.startsWith("image/"));
    if (item) dropPicture(item.getAsFile());
  });
  // A file dropped anywhere is taken as the picture; the browser never navigates away to it.
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) dropPicture(file);
  });
}

function snapshot() { return pen.getImageData(0, 0, canvas.width, canvas.height); }

function loadPicture(url, invert) {  // a 28x28 test image, drawn into the pad
  const img = new Image();
  img.onload = () => {
    state.undo.push(snapshot());
    usePad();
    clearPad();
    pen.save();
    if (invert) pen.filter = "invert(1)";  // MNIST is light on dark; the pad is dark on light
    pen.imageSmoothingEnabled = true;
    pen.drawImage(img, 0, 0, canvas.width, canvas.height);
    pen.restore();
    schedulePredict();
  };
  img.src = url;
}

// -- a dropped or pasted picture: scaled here, so a 12 MB phone photo is sent like a drawing --

const PICTURE_SIDE = 1024;  // the longest side a picture is sent at, at most
const PICTURE_BYTES = 1.5 * 2 ** 20;  // under the server's 2 MB bound on a request body
const SMALLER_SIDES = [1024, 768, 512, 384];

function encode(bitmap, side, type) {
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const out = document.createElement("canvas");
  out.width = Math.max(1, Math.round(bitmap.width * scale));
  out.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = out.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, out.width, out.height);
  return new Promise((resolve) => out.toBlob(
    (blob) => resolve({ blob, width: out.width, height: out.height }), type, 0.9));
}

async function scaledPicture(bitmap) {
  // PNG keeps transparency (the server reads a light digit on a transparent background);
  // a photo's noise makes PNG large, so then WebP, lossy, at smaller sizes until it fits.
  const png = await encode(bitmap, PICTURE_SIDE, "image/png");
  if (png.blob.size <= PICTURE_BYTES) return png;
  let last = png;
  for (const side of SMALLER_SIDES) {
    last = await encode(bitmap, side, "image/webp");
    if (last.blob.size <= PICTURE_BYTES) return last;
  }
  return last;  // the server answers its 413 sentence if even this is too large
}

function showOnPad(bitmap) {  // the whole picture, aspect kept, on the white pad
  const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  const w = bitmap.width * scale, h = bitmap.height * scale;
  clearPad();
  pen.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

function kilobytes(bytes) { return bytes < 2 ** 20 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`; }

async function dropPicture(file) {
  let bitmap;
  try {
    // EXIF orientation applied: a phone photo taken upright is upright here.
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    status(`${file.name || "the pasted picture"} is not a picture this browser can read`);
    return;
  }
  const picture = await scaledPicture(bitmap);
  state.undo.push(snapshot());
  showOnPad(bitmap);
  const kind = picture.blob.type.replace("image/", "").toUpperCase();
  const scaled = picture.width === bitmap.width && picture.height === bitmap.height
    ? "not scaled" : `scaled from ${bitmap.width}×${bitmap.height}`;
  $("#sent").textContent = `sent ${picture.width}×${picture.height} ${kind}, ` +
    `${kilobytes(picture.blob.size)} (${scaled}; the file was ${kilobytes(file.size)})`;
  bitmap.close();
  state.picture = picture.blob;
  schedulePredict();
}

function usePad() {  // from now on the pad's drawing is what is sent
  state.picture = null;
  $("#sent").textContent = "";
}

function showBlank() {
  for (const card of document.querySelectorAll(".run-card")) {
    card.querySelector(".prediction").textContent = "–";
  }
}

function schedulePredict() {
  clearTimeout(state.timer);
  state.timer = setTimeout(predict, 120);  // debounced: quick strokes send one request
}

function canvasBlob() { return new Promise((resolve) => canvas.toBlob(resolve, "image/png")); }

async function predict() {
  const body = state.picture || await canvasBlob();
  try {
    const answer = await api("/api/predict", { method: "POST", body, headers: { "Content-Type": body.type } });
    state.lastInput = body;
    $("#input").src = answer.input;
    for (const result of answer.runs) showAnswer(result);
    $("#timing").textContent = `${answer.runs.length} runs answered in ${answer.milliseconds} ms`;
    document.body.dataset.answers = String(Number(document.body.dataset.answers || 0) + 1);
    status("");
    if (!$("#view-inside").hidden) inside();
  } catch (error) {
    status(error.message);
  }
}

// -- every run answers ------------------------------------------------------------------

function runTitle(run) { return `${run.model} · ${run.engine_label}`; }

function bars(probabilities, holder) {
  holder.replaceChildren();
  const best = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, k) => {
    const bar = el("div", { class: k === best ? "bar top" : "bar", title: p.toFixed(4) },
      el("span", {}, String(k)), el("div", { style: `width:${Math.max(1, 150 * p)}px` }));
    holder.append(bar);
  });
}

function runCard(run) {
  const accuracy = run.test_accuracy == null ? "" : ` ${(100 * run.test_accuracy).toFixed(2)}%`;
  const picture = run.cam
    ? el("img", { class: "cam", alt: `${run.cam} of ${run.id}`, title: run.cam === "cam" ? "CAM" : "Grad-CAM" })
    : el("div", { class: "nocam" }, "no conv layer, no CAM");
  return el("div", { class: "run-card", "data-run": run.id },
    el("h3", {}, runTitle(run), el("span", { class: "acc" }, accuracy)),
    el("div", { class: "answer" }, el("div", { class: "prediction" }, "–"), picture),
    el("div", { class: "bars" }));
}

function showRuns() {
  const ready = state.runs.filter((run) => !run.broken);
  const groups = new Map();  // model -> cards: the NumPy and PyTorch twins side by side
  for (const run of ready) {
    if (!groups.has(run.model)) groups.set(run.model, el("div", { class: "pair" }));
    groups.get(run.model).append(runCard(run));
  }
  $("#results").replaceChildren(...groups.values());
  const broken = state.runs.filter((run) => run.broken);
  $("#broken").hidden = broken.length === 0;
  $("#broken").textContent = broken.map((run) => `${run.id} is broken: ${run.error}`).join(" ");
  if (ready.length === 0) status("no trained runs found in the runs folder");
  for (const select of [$("#inside-run"), $("#confusion-run")]) {
    select.replaceChildren(...ready.map((run) => el("option", { value: run.id }, `${run.id} (${runTitle(run)})`)));
  }
  $("#curve-runs").replaceChildren(...state.runs.map((run) =>
    el("label", {}, el("input", { type: "checkbox", value: run.id, checked: "", onchange: curves }), ` ${run.id}`)));
}

function showAnswer(result) {
  const card = document.querySelector(`.run-card[data-run="${CSS.escape(result.run)}"]`);
  if (!card) return;
  if (result.error) {  // this run failed; the others answered
    card.querySelector(".prediction").textContent = "!";
    card.querySelector(".bars").replaceChildren(el("p", { class: "warning" }, result.error));
    return;
  }
  card.querySelector(".prediction").textContent = String(result.prediction);
  bars(result.probabilities, card.querySelector(".bars"));
  const cam = card.querySelector("img.cam");
  if (cam && result.cam) cam.src = result.cam;
}

// -- inside one network ------------------------------------------------------------------

async function inside() {
  const runId = $("#inside-run").value;
  if (!runId || !state.lastInput) { $("#layers").textContent = "Draw a digit first."; return; }
  try {
    const answer = await api(`/api/activations/${encodeURIComponent(runId)}`,
      { method: "POST", body: state.lastInput, headers: { "Content-Type": state.lastInput.type } });
    bars(answer.probabilities, $("#scores"));
    $("#filters").replaceChildren(answer.filters
      ? el("img", { src: answer.filters.image, style: `width:${8 * imageWidth(answer.filters)}px`, alt: "first-layer filters" })
      : "no conv layer");
    state.insideLayers = answer.layers;
    $("#layers").replaceChildren(...answer.layers.map(layerView));
    document.body.dataset.inside = answer.run;
  } catch (error) { status(error.message); }
}

function imageWidth(filters) {  // filters.shape: (C_out, 1, k, k), tiled with 1-pixel gaps
  const k = filters.shape[3];
  return filters.columns * (k + 1) - 1;
}

function layerView(layer) {
  const caption = el("div", { class: "meta" }, `${layer.name} (${layer.kind}) ${layer.shape.join("×")}`);
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

// -- the test set ------------------------------------------------------------------------

async function confusion() {
  const runId = $("#confusion-run").value;
  if (!runId) return;
  status("computing the confusion matrix…");
  try {
    const answer = await api(`/api/confusion/${encodeURIComponent(runId)}`);
    const largest = Math.max(...answer.matrix.flat().filter((_, n) => n % 11 !== 0), 1);
    const header = el("tr", {}, el("th", {}, ""), ...answer.matrix.map((_, k) => el("th", {}, String(k))));
    const rows = answer.matrix.map((row, t) => el("tr", {}, el("th", {}, String(t)), ...row.map((count, p) => {
      const shade = t === p ? "#cfe3cf" : `rgba(214,39,40,${Math.min(1, count / largest)})`;
      return el("td", {}, el("button", { style: `background:${shade}`, "data-true": t, "data-predicted": p,
        onclick: () => openCell(runId, t, p) }, String(count)));
    })));
    $("#confusion").replaceChildren(header, ...rows);
    status(`accuracy ${(100 * answer.accuracy).toFixed(2)}%`);
  } catch (error) { status(error.message); }
}

async function openCell(runId, t, p) {
  const answer = await api(`/api/confusion/${encodeURIComponent(runId)}?true=${t}&predicted=${p}`);
  $("#cell-title").textContent = `true ${t}, predicted ${p}: ${answer.count} test images` +
    (answer.count > answer.images.length ? ` (the ${answer.images.length} most confident)` : "");
  $("#cell-images").replaceChildren(...answer.images.map((image) => el("figure",
    { title: "load into the drawing pad", onclick: () => { loadPicture(`/api/test-image/${image.index}`, true); showView("draw"); } },
    el("img", { src: `/api/test-image/${image.index}`, alt: `test image ${image.index}` }),
    `#${image.index} ${image.score.toFixed(3)}`)));
}

// -- training curves ---------------------------------------------------------------------

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

function plot(title, series, key) {
  const W = 420, H = 240, pad = 36;
  const points = series.flatMap((s) => s.epochs.map((e, n) => [e, s[key][n]]).filter(([, v]) => v != null));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  if (!points.length) { svg.innerHTML = `<text x="20" y="30">${title}: no epochs recorded</text>`; return svg; }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys) + 1e-9];
  const X = (x) => pad + (W - 2 * pad) * (x - x0) / (x1 - x0);
  const Y = (y) => H - pad - (H - 2 * pad) * (y - y0) / (y1 - y0 || 1);
  let html = `<text x="${pad}" y="18" font-weight="bold">${title}</text>` +
    `<text x="4" y="${pad}" font-size="10">${y1.toFixed(3)}</text><text x="4" y="${H - pad}" font-size="10">${y0.toFixed(3)}</text>` +
    `<text x="${W - pad}" y="${H - 8}" font-size="10">epoch ${x1}</text>`;
  series.forEach((s, n) => {
    const line = s.epochs.map((e, m) => [e, s[key][m]]).filter(([, v]) => v != null);
    const d = line.map(([x, y], m) => `${m ? "L" : "M"}${X(x)},${Y(y)}`).join(" ");
    html += `<path d="${d}" fill="none" stroke="${COLOURS[n % 8]}" stroke-width="2"/>`;
    html += line.map(([x, y]) => `<circle cx="${X(x)}" cy="${Y(y)}" r="3" fill="${COLOURS[n % 8]}"/>`).join("");
    html += `<text x="${W - 150}" y="${30 + 13 * n}" font-size="11" fill="${COLOURS[n % 8]}">${s.run}</text>`;
  });
  svg.innerHTML = html;
  return svg;
}

async function curves() {
  const ids = [...document.querySelectorAll("#curve-runs input:checked")].map((box) => box.value);
  const answer = await api(`/api/curves?runs=${ids.map(encodeURIComponent).join(",")}`);
  const readable = answer.runs.filter((run) => !run.error);
  const notes = [answer.note, ...answer.runs.filter((run) => run.error).map((run) => `${run.run}: ${run.error}`)]
    .filter(Boolean).map((text) => el("p", { class: "warning" }, text));
  $("#curves").replaceChildren(...notes, ...[["train_loss", "training loss"], ["val_loss", "validation loss"],
    ["train_accuracy", "training accuracy"], ["val_accuracy", "validation accuracy"]]
    .map(([key, title]) => plot(title, readable, key)));
}

// -- views -------------------------------------------------------------------------------

function showView(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  if (name === "inside") inside();
  if (name === "testset") confusion();
  if (name === "curves") curves();
}

async function start() {
  setUpPad();
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#inside-run").addEventListener("change", inside);
  $("#confusion-run").addEventListener("change", confusion);
  try {
    state.runs = (await api("/api/runs")).runs;
    showRuns();
    document.body.dataset.ready = "true";
  } catch (error) { status(error.message); }
}

start();
