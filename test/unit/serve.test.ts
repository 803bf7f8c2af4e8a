// scripts/serve.mjs: a mistyped URL gets a 404 page (HTML), never a file to download.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error: a plain .mjs script without types
import { serve } from "../../scripts/serve.mjs";

async function withServer(files: Record<string, string>, check: (url: string) => Promise<void>) {
  const root = await mkdtemp(join(tmpdir(), "stlm-serve-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, name), text);
  const { server, url } = await serve({ port: 0, root });
  try {
    await check(url);
  } finally {
    server.close();
    await rm(root, { recursive: true, force: true });
  }
}

test("a missing path is a 404 HTML page naming the path, when the site has no 404.html", async () => {
  await withServer({ "index.html": "<p>home</p>" }, async (url) => {
    const res = await fetch(new URL("/trian?x=1", url));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    const body = await res.text();
    assert.match(body, /Nothing is at <code>\/trian<\/code>/);
    assert.match(body, /<a href="\/">/);
    const head = await fetch(new URL("/<script>", url), { method: "HEAD" });
    assert.equal(head.status, 404);
    assert.equal(head.headers.get("content-type"), "text/html; charset=utf-8");
  });
});

test("a missing path gets the site's own 404.html as HTML when there is one", async () => {
  await withServer({ "index.html": "<p>home</p>", "404.html": "<h1>lost</h1>" }, async (url) => {
    const res = await fetch(new URL("/nope", url));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await res.text(), "<h1>lost</h1>");
  });
});

test("the path is escaped in the page", async () => {
  await withServer({}, async (url) => {
    const body = await (await fetch(new URL("/%3Cb%3Ex", url))).text();
    assert.match(body, /&lt;b&gt;x/);
    assert.doesNotMatch(body, /<b>x/);
  });
});

test("the site is served cross-origin isolated by default (the lab's kernels then use every core), and --plain leaves the headers out", async () => {
  // @ts-expect-error: a plain .mjs script without types
  const { parseArgs } = await import("../../scripts/serve.mjs");
  assert.equal(parseArgs([]).isolated, true);
  assert.equal(parseArgs(["--plain"]).isolated, false);
  await withServer({ "index.html": "<p>home</p>" }, async (url) => {
    const res = await fetch(url);
    assert.equal(res.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(res.headers.get("cross-origin-embedder-policy"), "require-corp");
  });
});
