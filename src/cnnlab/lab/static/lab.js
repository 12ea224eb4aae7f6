// cnnlab lab: draw a digit, every run answers. Plain JavaScript, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);
const canvas = $("#canvas");
const pen = canvas.getContext("2d");
const state = { runs: [], undo: [], timer: null, lastInput: null, insideLayers: [], picture: null,
  predictAsked: 0, insideAsked: 0,  // request counters: only the latest answer is shown
  group: null, paper: "#fff", ink: "#000" };  // the data set shown, and the pad's colours in it

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
  pen.fillStyle = state.paper;
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
    if (!chosenGroup()?.pad) return;  // no drawing for pictures of another size or in colour
    state.undo.push(pen.getImageData(0, 0, canvas.width, canvas.height));
    usePad();
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    pen.lineWidth = 20; pen.lineCap = "round"; pen.lineJoin = "round"; pen.strokeStyle = state.ink;
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
  const asked = ++state.predictAsked;
  try {
    const answer = await api(`/api/predict?${query({ method: $("#method").value, data: state.group })}`,
      { method: "POST", body, headers: { "Content-Type": body.type } });
    if (asked !== state.predictAsked) return;  // an answer to an older picture comes too late
    state.lastInput = body;
    $("#input").src = answer.input;
    for (const result of answer.runs) showAnswer(result);
    const n = answer.runs.length;
    $("#timing").textContent = `${n} run${n === 1 ? "" : "s"} answered in ${answer.milliseconds} ms`;
    document.body.dataset.answers = String(Number(document.body.dataset.answers || 0) + 1);
    status("");
    if (!$("#view-inside").hidden) inside();
  } catch (error) {
    status(error.message);
  }
}

// -- every run answers ------------------------------------------------------------------

function query(params) { return new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString(); }

function runTitle(run) { return `${run.model} · ${run.engine_label}`; }

function bars(probabilities, holder, names) {
  holder.replaceChildren();
  const best = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, k) => {
    const bar = el("div", { class: k === best ? "bar top" : "bar", title: `${names[k]} ${p.toFixed(4)}` },
      el("span", {}, names[k]), el("div", { style: `width:${Math.max(1, 110 * p)}px` }));
    holder.append(bar);
  });
}

function runCard(run) {
  const accuracy = run.test_accuracy == null ? "" : ` ${(100 * run.test_accuracy).toFixed(2)}%`;
  return el("div", { class: "run-card", "data-run": run.id },
    el("h3", {}, runTitle(run), el("span", { class: "acc" }, accuracy)),
    el("div", { class: "answer" }, el("div", { class: "prediction" }, "–"),
      el("figure", {}, el("img", { class: "map", alt: `map of ${run.id}` }), el("figcaption", { class: "method" }, ""))),
    el("div", { class: "bars" }));
}

function chosenGroup() {
  const run = state.runs.find((r) => !r.broken && r.data.key === state.group);
  return run ? run.data : null;
}

function showGroups() {  // the data sets of the ready runs; the page shows one at a time
  const groups = new Map(state.runs.filter((run) => !run.broken).map((run) => [run.data.key, run.data]));
  if (!groups.has(state.group)) state.group = groups.keys().next().value || null;
  $("#data").replaceChildren(...[...groups.values()].map((data) =>
    el("option", { value: data.key }, `${data.title} (${data.image_shape.join("×")})`)));
  $("#data").value = state.group || "";
  $("#data-choice").hidden = groups.size < 2;
  const group = chosenGroup();
  const digits = group && (group.name === "mnist" || group.name === "kmnist");
  [state.paper, state.ink] = digits || !group ? ["#fff", "#000"] : ["#000", "#fff"];  // the set's own colours
  document.body.dataset.pad = String(Boolean(group && group.pad));
  $("#pad-hint").textContent = group && !group.pad
    ? `${group.title} takes ${group.image_shape[0] === 3 ? "colour" : "grey"} pictures of ${group.image_shape.slice(1).join("×")}: ` +
      "drop or paste a picture (scaled to fit, aspect kept), or pick one from the test set."
    : `Draw one ${digits ? "digit" : "item"}. You can also drop or paste a picture (a phone photo works): it is scaled down here before it is sent.`;
  clearPad();
}

function showMethods() {  // every method some run has; a run without it answers with its default
  const names = [...new Set(state.runs.flatMap((run) => run.methods || []))];
  const chosen = $("#method").value || "default";
  $("#method").replaceChildren(el("option", { value: "default" }, "default (CAM · Grad-CAM · integrated gradients)"),
    ...names.map((name) => el("option", { value: name }, name.replaceAll("_", " "))));
  $("#method").value = names.includes(chosen) ? chosen : "default";
}

function showRuns() {
  showGroups();
  showMethods();
  const ready = state.runs.filter((run) => !run.broken && run.data.key === state.group);
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
  for (const select of [$("#inside-run"), $("#confusion-run")]) {  // runs of the data set shown
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
  const run = state.runs.find((r) => r.id === result.run);
  card.querySelector(".prediction").textContent = result.class_name;
  card.querySelector(".prediction").classList.toggle("long", result.class_name.length > 2);
  bars(result.probabilities, card.querySelector(".bars"), run.data.class_names);
  if (result.map) card.querySelector("img.map").src = result.map;
  const fallback = result.note ? " (its default: it has no such map)" : "";  // the note says why
  card.querySelector(".method").textContent = (result.method || "").replaceAll("_", " ") + fallback;
  card.querySelector(".method").title = result.note || "";
  card.dataset.method = result.method || "";
}

// -- training curves ---------------------------------------------------------------------

async function curves() {
  const ids = [...document.querySelectorAll("#curve-runs input:checked")].map((box) => box.value);
  const answer = await api(`/api/curves?runs=${ids.map(encodeURIComponent).join(",")}`);
  const readable = answer.runs.filter((run) => !run.error);
  const notes = [answer.note, ...answer.runs.filter((run) => run.error).map((run) => `${run.run}: ${run.error}`)]
    .filter(Boolean).map((text) => el("p", { class: "warning" }, text));
  $("#curves").replaceChildren(...notes, legend(readable), ...[["train_loss", "training loss"], ["val_loss", "validation loss"],
    ["train_accuracy", "training accuracy"], ["val_accuracy", "validation accuracy"]]
    .map(([key, title]) => plot(title, readable, key)));
  document.body.dataset.curves = String(readable.length);
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
  $("#method").addEventListener("change", () => { if (state.lastInput) predict(); });
  $("#data").addEventListener("change", () => {
    state.group = $("#data").value; state.lastInput = null; state.picture = null; showRuns();
  });
  try {
    state.runs = (await api("/api/runs")).runs;
    showRuns();
    document.body.dataset.ready = "true";
  } catch (error) { status(error.message); }
}

start();
