// cnnlab lab: a dropped or pasted picture, decoded and scaled in the page before it is sent.
// Loaded before lab.js, which calls dropPicture(file).
"use strict";

// Scaled here, so a 12 MB phone photo is sent like a drawing.
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

