// The upload page of `keypool serve` in headless Chromium: pick a PNG made
// here, type a prompt, click Describe, and read the description and who
// served it (provider, model, key variable) in the page; the error path
// shows a message; the page loads nothing from anywhere but the gateway.
// With a gateway key (second argument) the page first gets the 401 and its
// hint, then works once the key is pasted. Usage: node upload_page.js
// BASE_URL [GATEWAY_KEY] (run.sh starts the mock fleet and serve). Exit 0
// when every check passed.
"use strict";
const zlib = require("zlib");
const { chromium } = require("playwright-core");

const base = process.argv[2];
const gatewayKey = process.argv[3] || "";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/// A w×h red RGB PNG.
function redPng(w, h) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, Buffer.from([255, 0, 0]))]);
  const raw = Buffer.concat(Array(h).fill(row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failures++;
}

(async () => {
  const browser = await chromium.launch({ executablePath, headless: true });
  try {
    const page = await browser.newPage();
    const foreign = [];
    page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("blob:")) foreign.push(r.url()); });
    const res = await page.goto(base + "/");
    check(res.status() === 200, "GET / answers 200");
    check((await page.title()).includes("keypool"), "the page has its title");

    // No image chosen: a clear message, no request.
    await page.click("#describe");
    await page.waitForSelector("#error", { state: "visible" });
    check((await page.textContent("#error")).includes("Choose an image"), "Describe without an image says so");

    const png = redPng(4, 4);
    await page.setInputFiles("#image", { name: "red.png", mimeType: "image/png", buffer: png });
    if (gatewayKey) {
      await page.click("#describe");
      await page.waitForFunction(() => document.getElementById("error").textContent.includes("Error 401"));
      check((await page.textContent("#error")).includes("Paste a gateway key"), "without the gateway key: 401 and a hint");
      await page.fill("#gateway-key", gatewayKey);
      await page.dispatchEvent("#gateway-key", "change");
      check((await page.evaluate(() => sessionStorage.getItem("keypool-gateway-key"))) === gatewayKey,
            "the gateway key is kept in sessionStorage");
    }
    await page.fill("#prompt", "What colour is this square?");
    const answered = page.waitForResponse((r) => r.url().endsWith("/v1/describe"));
    await page.click("#describe");
    const reply = await answered;
    check(reply.status() === 200, "POST /v1/describe answers 200 (" + reply.status() + ")");
    await page.waitForSelector("#result", { state: "visible" });
    const description = await page.textContent("#description");
    const provider = await page.textContent("#provider");
    const model = await page.textContent("#model");
    const key = await page.textContent("#key");
    console.log(`     ${provider} ${model} ${key}: ${description}`);
    check(description.includes(`I see 1 image (${png.length} bytes)`), "the description is the mock's, of our PNG");
    check(description.includes("What colour is this square?"), "the prompt reached the provider");
    check(/^[a-z0-9_-]+$/.test(provider) && description.includes(`[mock ${provider.toUpperCase()} ${model}]`),
          "the page names the provider and model that answered");
    check(/^[A-Z0-9_]+_API_KEY_[0-9]+$/.test(key), "the page names the key variable, not a key");
    check(reply.headers()["x-keypool-key"] === key, "the page's key variable is the x-keypool-key header");

    // A file that is not an image: the gateway's 400 message in the page.
    await page.setInputFiles("#image", { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("plain text") });
    await page.click("#describe");
    await page.waitForFunction(() => document.getElementById("error").textContent.includes("Error 400"));
    const error = await page.textContent("#error");
    check(error.includes("Error 400") && error.includes("not a PNG, JPEG, WebP or GIF"), "a bad file shows the 400: " + error);
    check(foreign.length === 0, "the page requested nothing elsewhere " + JSON.stringify(foreign));
  } finally {
    await browser.close();
  }
  console.log(failures ? `${failures} failed` : "all passed");
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.error("FAIL", e);
  process.exit(1);
});
