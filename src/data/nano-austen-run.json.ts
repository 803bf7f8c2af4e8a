// The precomputed run the training page shows before anything runs in the browser:
// `stlm train` with the nano preset on austen, committed in data/runs/nano-austen/.
// Emits {available: false, reason} when that run has not been made yet, so the page
// can say so instead of failing.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readRunRecord } from "../../lib/node/runrecord.js";

const RUN = "nano-austen";
const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", RUN);

interface StepRow {
  step: number;
  loss: number;
  lr?: number;
  tokensPerSecond?: number;
  elapsedMs?: number;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(join(dir, file), "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`data/runs/${RUN}/${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function normaliseSamples(raw: unknown): { step: number | null; prompt: string; text: string }[] {
  const list = Array.isArray(raw) ? raw : Array.isArray((raw as { samples?: unknown })?.samples) ? (raw as { samples: unknown[] }).samples : [];
  return list
    .map((s) => s as { step?: unknown; prompt?: unknown; text?: unknown; completion?: unknown })
    .filter((s) => typeof s.text === "string" || typeof s.completion === "string")
    .map((s) => ({
      step: typeof s.step === "number" ? s.step : null,
      prompt: typeof s.prompt === "string" ? s.prompt : "",
      text: String(s.text ?? s.completion)
    }));
}

async function main(): Promise<unknown> {
  const missing = ["config.json", "metrics.jsonl"].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    return { available: false, reason: `data/runs/${RUN}/ lacks ${missing.join(" and ")}: the precomputed run has not been made yet.` };
  }
  const steps: StepRow[] = [];
  const evals: { step: number; valBitsPerByte: number }[] = [];
  const lines = (await readFile(join(dir, "metrics.jsonl"), "utf8")).split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`data/runs/${RUN}/metrics.jsonl, line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof row.step !== "number") return;
    if (typeof row.valBitsPerByte === "number") evals.push({ step: row.step, valBitsPerByte: row.valBitsPerByte });
    else if (typeof row.loss === "number") {
      steps.push({
        step: row.step,
        loss: row.loss,
        lr: row.lr as number | undefined,
        tokensPerSecond: row.tokensPerSecond as number | undefined,
        elapsedMs: row.elapsedMs as number | undefined
      });
    }
  });
  return {
    available: true,
    name: RUN,
    config: await readJson("config.json"),
    summary: existsSync(join(dir, "summary.json")) ? await readJson("summary.json") : null,
    samples: existsSync(join(dir, "samples.json")) ? normaliseSamples(await readJson("samples.json")) : [],
    steps,
    evals,
    // The run as the lab's one run record (lib/runs/record.ts); a folder older than run.json reads with its unknowns noted.
    record: await readRunRecord(dir, { origin: "precomputed" })
  };
}

process.stdout.write(JSON.stringify(await main()));
