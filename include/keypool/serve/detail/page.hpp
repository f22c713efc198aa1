#pragma once
/// GET /: the upload page of the user's flow ("start the server, upload an
/// image"): pick or drop an image, an optional prompt, Describe; it posts to
/// /v1/describe and shows the description and who served it (provider,
/// model, key variable; never a key). Self-contained: no script, style or
/// font from anywhere else. A gateway key, when the gateway needs one, is
/// pasted into the page and kept in sessionStorage only.

#include <string_view>

namespace keypool::serve::detail {

inline constexpr std::string_view upload_page = R"keypool_page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keypool: describe an image</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .4rem; }
#drop { margin-top: .5rem; border: 2px dashed #999; border-radius: 8px; padding: 1.2rem; text-align: center; }
#drop.over { border-color: #2a6; background: #efe; }
#preview { max-width: 100%; max-height: 16rem; display: none; margin: .5rem auto 0; }
button { margin-top: 1rem; padding: .5rem 1.4rem; font-size: 1rem; }
#result { margin-top: 1.5rem; display: none; }
#description { white-space: pre-wrap; background: #f5f5f5; padding: .8rem; border-radius: 6px; }
#facts { color: #555; font-size: .9rem; }
#error { margin-top: 1.5rem; color: #a00; white-space: pre-wrap; display: none; }
</style>
</head>
<body>
<h1>keypool: describe an image</h1>
<p>The image goes to the first provider of the chain that can answer; the console shows the key statistics.</p>
<form id="form">
<label for="image">Image (PNG, JPEG, WebP or GIF)</label>
<div id="drop">Drop an image here, or <input type="file" id="image" name="image" accept="image/png,image/jpeg,image/webp,image/gif">
<img id="preview" alt="the chosen image"></div>
<label for="prompt">Prompt (optional)</label>
<input type="text" id="prompt" name="prompt" placeholder="Describe this image.">
<label for="gateway-key">Gateway key (only if the gateway asks for one; kept in this tab)</label>
<input type="password" id="gateway-key" autocomplete="off" placeholder="KEYPOOL_GATEWAY_KEY_1">
<button type="submit" id="describe">Describe</button>
</form>
<div id="error" role="alert"></div>
<div id="result" aria-live="polite">
<h2>Description</h2>
<div id="description"></div>
<p id="facts">Served by <b id="provider"></b>, model <b id="model"></b>, key <b id="key"></b>
(<span id="attempts"></span> attempt(s)).</p>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let dropped = null;
const keyBox = $("gateway-key");
keyBox.value = sessionStorage.getItem("keypool-gateway-key") || "";
keyBox.addEventListener("change", () => sessionStorage.setItem("keypool-gateway-key", keyBox.value));
function preview(file) {
  const img = $("preview");
  img.src = URL.createObjectURL(file);
  img.style.display = "block";
}
$("image").addEventListener("change", () => { dropped = null; if ($("image").files[0]) preview($("image").files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) { dropped = e.dataTransfer.files[0]; preview(dropped); }
});
function showError(text) {
  $("result").style.display = "none";
  $("error").textContent = text;
  $("error").style.display = "block";
}
$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = dropped || $("image").files[0];
  if (!file) { showError("Choose an image first."); return; }
  const form = new FormData();
  form.append("image", file, file.name || "image");
  if ($("prompt").value.trim()) form.append("prompt", $("prompt").value);
  const headers = {};
  if (keyBox.value) headers["Authorization"] = "Bearer " + keyBox.value;
  const button = $("describe");
  button.disabled = true;
  button.textContent = "Describing…";
  $("error").style.display = "none";
  try {
    const res = await fetch("/v1/describe", { method: "POST", body: form, headers });
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { /* not JSON: shown as text */ }
    if (!res.ok) {
      const msg = body && body.error ? body.error.message : text;
      const hint = res.status === 401 ? "\nPaste a gateway key (KEYPOOL_GATEWAY_KEY_1) above." : "";
      showError("Error " + res.status + ": " + msg + hint);
      return;
    }
    $("description").textContent = body.description;
    $("provider").textContent = body.provider;
    $("model").textContent = body.model;
    $("key").textContent = body.key;
    $("attempts").textContent = String(body.attempts);
    $("result").style.display = "block";
  } catch (err) {
    showError("The gateway could not be reached: " + err);
  } finally {
    button.disabled = false;
    button.textContent = "Describe";
  }
});
</script>
</body>
</html>
)keypool_page";

}  // namespace keypool::serve::detail
