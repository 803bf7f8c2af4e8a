// The thick line over a noisy training loss. A trailing moving average (the mean of
// the last k steps) lags a falling curve by (k - 1) / 2 steps, and a bias-corrected
// EMA by about as much: early in a run, when the loss falls fastest, both sit above
// what the model now scores, above every validation point. An exponentially weighted
// local linear fit (weights beta^age, evaluated at the newest step) follows a steady
// trend with no lag and needs no warm-up: at step 1 it is the first loss, and from
// step 2 on it is the weighted least-squares line through the steps so far.

/** Exponentially weighted local linear trend at each point, time constant `tau` steps (beta = 1 - 1/tau). */
export function trendSmooth(xs: readonly number[], ys: readonly number[], tau = 10): number[] {
  const beta = 1 - 1 / Math.max(1, tau);
  const out: number[] = [];
  // Running weighted sums over (x - x0), so large step numbers lose no precision.
  let s0 = 0, s1 = 0, s2 = 0, sy = 0, sxy = 0;
  const x0 = xs[0] ?? 0;
  for (let i = 0; i < ys.length; i++) {
    const x = xs[i] - x0;
    const y = ys[i];
    s0 = beta * s0 + 1;
    s1 = beta * s1 + x;
    s2 = beta * s2 + x * x;
    sy = beta * sy + y;
    sxy = beta * sxy + x * y;
    const det = s0 * s2 - s1 * s1;
    if (i === 0 || !(det > 1e-12 * s0 * s0)) {
      out.push(sy / s0);
      continue;
    }
    const slope = (s0 * sxy - s1 * sy) / det;
    const intercept = (sy - slope * s1) / s0;
    out.push(intercept + slope * x);
  }
  return out;
}

/** A bias-corrected EMA (Adam's correction), for comparison: right on a flat curve, behind on a falling one. */
export function biasCorrectedEma(ys: readonly number[], tau = 10): number[] {
  const beta = 1 - 1 / Math.max(1, tau);
  let m = 0;
  return ys.map((y, i) => {
    m = beta * m + (1 - beta) * y;
    return m / (1 - beta ** (i + 1));
  });
}

/** The trailing mean of the last k points (what Plot's windowY with anchor "end" draws). */
export function trailingMean(ys: readonly number[], k = 10): number[] {
  return ys.map((_, i) => {
    const w = ys.slice(Math.max(0, i - k + 1), i + 1);
    return w.reduce((a, b) => a + b, 0) / w.length;
  });
}
