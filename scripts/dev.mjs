#!/usr/bin/env node
// `npm run dev`: Framework's preview server (live reload of src/ and lib/ edits),
// served cross-origin isolated. `observable preview` sends no
// Cross-Origin-Opener-Policy / Cross-Origin-Embedder-Policy headers and has no option
// for them, so a page it serves has no SharedArrayBuffer: the lab's kernels run on
// one thread, and Pause waits for the training step under way (lib/train/interrupt.ts
// needs the flag a SharedArrayBuffer holds). This script starts the preview on a free
// port of the loopback interface and stands in front of it: every response gets the
// headers scripts/serve.mjs sends, and the live-reload WebSocket (/_observablehq) is
// passed through byte for byte.
//   node scripts/dev.mjs [--port 3000] [--host 127.0.0.1] [--plain]
// --plain passes responses on without the headers (to see the preview as Framework
// serves it). Port 0 picks a free port; the line "listening on http://HOST:PORT/"
// says which.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, request } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ISOLATION_HEADERS, parseArgs as parseServeArgs } from "./serve.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");

/** The flags: serve.mjs's, less --root (the preview serves src/). */
export const parseArgs = (argv) => parseServeArgs(argv, { root: false });

/** A free TCP port on the loopback interface (for the preview behind the proxy). */
function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Resolves once something accepts connections on the port (the preview has started), or rejects after `ms`. */
function waitForPort(port, ms, child) {
  const until = Date.now() + ms;
  return new Promise((ok, fail) => {
    const onExit = (code) => fail(new Error(`observable preview exited with code ${code} before it listened`));
    child.once("exit", onExit);
    const attempt = () => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        child.off("exit", onExit);
        ok();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > until) {
          child.off("exit", onExit);
          fail(new Error(`observable preview did not listen on port ${port} within ${ms / 1000} s`));
        } else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/**
 * Starts Framework's preview behind an isolating proxy; resolves to {url, close}.
 * `stdio` is where the preview's output goes ("inherit" for a terminal).
 */
export async function dev({ port = 3000, host = "127.0.0.1", isolated = true, stdio = "inherit" } = {}) {
  const bin = join(ROOT, "node_modules", "@observablehq", "framework", "dist", "bin", "observable.js");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm install\` first.`);
  const upstream = await freePort();
  const child = spawn(process.execPath, [bin, "preview", "--host", "127.0.0.1", "--port", String(upstream), "--no-open"], {
    cwd: ROOT,
    stdio: ["ignore", stdio, stdio],
    env: { ...process.env, OBSERVABLE_TELEMETRY_DISABLE: "true" }
  });
  const stopChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  try {
    await waitForPort(upstream, 60_000, child);
  } catch (e) {
    stopChild();
    throw e;
  }

  const server = createServer((req, res) => {
    const forward = request(
      { host: "127.0.0.1", port: upstream, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstream}` } },
      (up) => {
        const headers = { ...up.headers, ...(isolated ? ISOLATION_HEADERS : {}) };
        res.writeHead(up.statusCode ?? 502, up.statusMessage, headers);
        up.pipe(res);
      }
    );
    forward.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      res.end(`the preview server behind this one did not answer (${e.message}); is \`observable preview\` still running?`);
    });
    req.pipe(forward);
  });
  // Live reload: the page's WebSocket to /_observablehq, passed through as raw bytes once the request line and headers are re-sent.
  server.on("upgrade", (req, socket, head) => {
    const up = connect(upstream, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join("\r\n") + "\r\n\r\n");
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const end = () => {
      up.destroy();
      socket.destroy();
    };
    up.on("error", end);
    socket.on("error", end);
    up.on("close", end);
    socket.on("close", end);
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const close = () =>
    new Promise((ok) => {
      stopChild();
      server.closeAllConnections?.();
      server.close(() => ok());
    });
  child.once("exit", () => server.close());
  return { url: `http://${shownHost}:${addr.port}/`, upstream, child, close };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`dev: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(
      "usage: node scripts/dev.mjs [--port 3000] [--host 127.0.0.1] [--plain]\n" +
        "  Framework's preview (live reload) behind a proxy that makes it cross-origin isolated,\n" +
        "  as scripts/serve.mjs serves the built site; --plain leaves the headers out"
    );
    process.exit(0);
  }
  let running;
  try {
    running = await dev(opts);
  } catch (e) {
    console.error(`dev: ${e.message}`);
    process.exit(1);
  }
  console.log(
    `listening on ${running.url}${opts.isolated ? " (cross-origin isolated" : " (plain: not cross-origin isolated"}; Framework's preview behind it on port ${running.upstream}: open ${running.url})`
  );
  running.child.once("exit", (code) => process.exit(code ?? 1));
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => running.close().then(() => process.exit(130)));
}
