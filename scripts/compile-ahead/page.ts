const out: unknown[] = [];
let maxFrameGap = 0; let lastFrame = 0; const gaps: { at: number; gap: number }[] = [];
const frame = (t: number) => { if (lastFrame) { const g = t - lastFrame; if (g > 100) gaps.push({ at: Math.round(t), gap: Math.round(g) }); } lastFrame = t; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
const longTasks: { at: number; ms: number }[] = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push({ at: Math.round(e.startTime), ms: Math.round(e.duration) }); }).observe({ type: "longtask", buffered: true });
const pongs: { at: number; rtt: number }[] = []; let pingAt = 0;
(globalThis as any).go = (mode: string) => new Promise((resolve) => {
  const w = new Worker("worker.js", { type: "module" });
  const ping = setInterval(() => { if (!pingAt) { pingAt = performance.now(); w.postMessage("ping"); } }, 50);
  w.onmessage = (ev) => {
    if (ev.data.pong) { const rtt = performance.now() - pingAt; if (rtt > 100) pongs.push({ at: Math.round(pingAt), rtt: Math.round(rtt) }); pingAt = 0; return; }
    out.push(ev.data);
    if (ev.data.phase === "end") { clearInterval(ping); resolve({ out, frameGaps: gaps, longTasks, slowPongs: pongs }); }
  };
  w.postMessage({ mode });
});
(globalThis as any).pageReady = true;
