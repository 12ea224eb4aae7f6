// cnnlab lab: the test set of the chosen run's data set, its confusion grid and a cell's images.
// Loaded after picture.js and before lab.js, whose helpers ($, el, api, status) it uses.
"use strict";

// -- the confusion grid ------------------------------------------------------------------------

async function confusion() {
  const runId = $("#confusion-run").value;
  if (!runId) return;
  status("computing the confusion matrix…");
  try {
    const answer = await api(`/api/confusion/${encodeURIComponent(runId)}`);
    const names = answer.class_names;  // K classes: the diagonal is every (K+1)-th count
    const largest = Math.max(...answer.matrix.flat().filter((_, n) => n % (names.length + 1) !== 0), 1);
    const header = el("tr", {}, el("th", {}, ""), ...names.map((name, k) => el("th", { title: name }, shortName(name, k))));
    const rows = answer.matrix.map((row, t) => el("tr", {}, el("th", {}, names[t]), ...row.map((count, p) => {
      const shade = t === p ? "#cfe3cf" : `rgba(214,39,40,${Math.min(1, count / largest)})`;
      return el("td", {}, el("button", { style: `background:${shade}`, "data-true": t, "data-predicted": p,
        title: `true ${names[t]}, predicted ${names[p]}`, onclick: () => openCell(runId, t, p, names) }, String(count)));
    })));
    $("#confusion").replaceChildren(header, ...rows);
    status(`accuracy ${(100 * answer.accuracy).toFixed(2)}%`);
  } catch (error) { status(error.message); }
}

function shortName(name, k) { return name.length <= 5 ? name : `${k}`; }  // a column header fits

async function openCell(runId, t, p, names) {
  const answer = await api(`/api/confusion/${encodeURIComponent(runId)}?true=${t}&predicted=${p}`);
  $("#cell-title").textContent = `true ${names[t]}, predicted ${names[p]}: ${answer.count} test images` +
    (answer.count > answer.images.length ? ` (the ${answer.images.length} most confident)` : "");
  const url = (index) => `/api/test-image/${index}?run=${encodeURIComponent(runId)}`;
  $("#cell-images").replaceChildren(...answer.images.map((image) => el("figure",
    { title: "send this picture to the runs", onclick: () => { useTestImage(url(image.index)); showView("draw"); } },
    el("img", { src: url(image.index), alt: `test image ${image.index}` }),
    `#${image.index} ${image.score.toFixed(3)}`)));
}

// A test image goes into the pad where there is one (drawn in the pad's colours), else it is
// sent as a dropped picture is.
async function useTestImage(url) {
  const group = chosenGroup();
  if (group && group.pad) { loadPicture(url, group.name === "mnist" || group.name === "kmnist"); return; }
  const blob = await (await fetch(url)).blob();
  dropPicture(new File([blob], url, { type: blob.type }));
}
