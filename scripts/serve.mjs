#!/usr/bin/env node
// A small static file server for the built site (dist/), with no dependencies.
//   node scripts/serve.mjs [--port 3000] [--host 127.0.0.1] [--root dist] [--plain]
// By default it sends Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp, which make the page cross-origin
// isolated: SharedArrayBuffer exists and the lab's kernels use every core
// (lib/threads/web.ts). --plain leaves them out (one thread), to see the site as a
// host without the headers serves it; --isolated is accepted and is the default.
// Port 0 picks a free port; the line "listening on http://HOST:PORT/" says which.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".gz": "application/gzip",
  ".stlm": "application/octet-stream",
  ".safetensors": "application/octet-stream",
  ".woff2": "font/woff2"
};

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, wasm threads); scripts/dev.mjs sends them too. */
export const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin"
};

/** This server's flags; with `{ root: false }` (scripts/dev.mjs, which serves no folder) --root is refused. */
export function parseArgs(argv, { root = true } = {}) {
  const opts = { port: 3000, host: "127.0.0.1", isolated: true, ...(root ? { root: "dist" } : {}) };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--port" || arg === "-p") opts.port = Number(value());
    else if (arg === "--host") opts.host = value();
    else if (arg === "--root" && root) opts.root = value();
    else if (arg === "--isolated") opts.isolated = true;
    else if (arg === "--plain") opts.isolated = false;
    else if (arg === "--help" || arg === "-h") opts.help = true;
    else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`--port must be a whole number 0-65535, got ${opts.port}`);
  return opts;
}

const escapeHtml = (t) => t.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const safeDecode = (p) => {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
};

/** The page a mistyped URL gets when the site has no 404.html. */
export function notFoundPage(pathname) {
  return `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not found</title><body style="font: 16px/1.5 system-ui, sans-serif; margin: 2rem; color-scheme: light dark"><h1>Not found</h1><p>Nothing is at <code>${escapeHtml(pathname)}</code>.</p><p><a href="/">The lab's first page</a> lists every page.</p></body>\n`;
}

/** Starts the server; resolves to {server, url} once it listens. */
export function serve({ port = 0, host = "127.0.0.1", root = "dist", isolated = true } = {}) {
  const base = resolve(root);
  const headersFor = (path) => ({
    "Content-Type": TYPES[extname(path)] ?? "application/octet-stream",
    "Cache-Control": "no-cache",
    ...(isolated ? ISOLATION_HEADERS : {})
  });

  async function locate(urlPath) {
    let rel;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    const path = normalize(join(base, rel));
    if (path !== base && !path.startsWith(base + sep)) return null;
    // Framework's clean URLs: /train is dist/train.html, / is dist/index.html.
    for (const candidate of [path, path + ".html", join(path, "index.html")]) {
      const s = await stat(candidate).catch(() => null);
      if (s?.isFile()) return { path: candidate, size: s.size };
    }
    return null;
  }

  const server = createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const file = await locate(url.pathname);
    if (!file) {
      // A page, never a download: the site's 404.html when it has one, else a short HTML page.
      const notFound = await locate("/404");
      res.writeHead(404, headersFor(notFound?.path ?? "404.html"));
      if (req.method === "HEAD") res.end();
      else if (notFound) createReadStream(notFound.path).pipe(res);
      else res.end(notFoundPage(safeDecode(url.pathname)));
      return;
    }
    res.writeHead(200, { ...headersFor(file.path), "Content-Length": file.size });
    if (req.method === "HEAD") res.end();
    else createReadStream(file.path).pipe(res);
  });

  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const shownHost = host.includes(":") ? `[${host}]` : host;
      resolvePromise({ server, url: `http://${shownHost}:${addr.port}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log("usage: node scripts/serve.mjs [--port 3000] [--host 127.0.0.1] [--root dist] [--plain]\n  cross-origin isolated unless --plain (the lab's kernels then use every core)");
    process.exit(0);
  }
  const s = await stat(resolve(opts.root)).catch(() => null);
  if (!s?.isDirectory()) {
    console.error(`serve: ${opts.root}/ does not exist; run \`npm run build\` first.`);
    process.exit(1);
  }
  const { url } = await serve(opts).catch((e) => {
    console.error(`serve: ${e.message}`);
    process.exit(1);
  });
  console.log(`listening on ${url}${opts.isolated ? " (cross-origin isolated)" : " (plain: not cross-origin isolated, one thread)"}`);
}
