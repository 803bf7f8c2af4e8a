// The threads table of issue #16 from its raw measurements (scripts/threads-bench.sh
// writes data/runs/bench/threads.jsonl; scripts/browser-bench.ts writes
// data/runs/bench/browser.json): tokens/s per system and thread count, as the median
// and range over rounds. Plain data in, plain rows out, for the bench page.

/** One line of threads.jsonl. */
export interface ThreadBenchLine {
  round: number;
  preset: string;
  system: "lab" | "torch";
  /** PyTorch's thread count (the lab's are in result.byThreads). */
  threads?: number;
  result: { tokensPerSecond: number; byThreads?: { threads: number; tokensPerSecond: number }[] };
}

export interface ThreadRow {
  preset: string;
  /** "lab (Node)", "PyTorch", or a browser's "lab (browser, isolated)". */
  system: string;
  threads: number;
  rounds: number;
  /** Tokens (bytes) per second: median, min and max over the rounds. */
  median: number;
  min: number;
  max: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rows in the order of first appearance (preset, then system and threads). */
export function threadRows(lines: ThreadBenchLine[]): ThreadRow[] {
  const groups = new Map<string, { preset: string; system: string; threads: number; values: number[] }>();
  const add = (preset: string, system: string, threads: number, value: number) => {
    const key = `${preset}|${system}|${threads}`;
    const g = groups.get(key) ?? { preset, system, threads, values: [] };
    g.values.push(value);
    groups.set(key, g);
  };
  for (const l of lines) {
    if (l.system === "lab") for (const b of l.result.byThreads ?? []) add(l.preset, "lab (Node)", b.threads, b.tokensPerSecond);
    else add(l.preset, "PyTorch", l.threads ?? 1, l.result.tokensPerSecond);
  }
  return [...groups.values()].map(({ values, ...g }) => ({ ...g, rounds: values.length, median: Math.round(median(values)), min: Math.min(...values), max: Math.max(...values) }));
}

/** Parse threads.jsonl (one JSON object a line; blank lines skipped). */
export function parseThreadBench(text: string): ThreadBenchLine[] {
  return text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as ThreadBenchLine;
    } catch (e) {
      throw new Error(`threads.jsonl line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
}
