// stlm params: the parameter ledger of a preset, as a table or as JSON.
import { anyPreset, ConfigError, LEDGER_PRESETS, PRESETS } from "../config.js";
import { ledger, vocabularyReduction, type Ledger, type LedgerRow } from "../models/ledger.js";
import { parseFlags, UsageError } from "./args.js";

export const PARAMS_HELP = `stlm params --preset P [--json]

Prints the parameter ledger of a preset, computed from its config alone: the
parameters of each component stored (unique) and applied per position (a shared
weight counts at every use), training FLOPs per position, and the parameters
spent on mapping ids to vectors against GPT-2's 50,257-token vocabulary.

  presets you can train: ${Object.keys(PRESETS).join(", ")}
  ledger-only presets:   ${Object.keys(LEDGER_PRESETS).join(", ")}
  --json                 the whole ledger as one JSON object`;

export interface ParamsReport {
  preset: string;
  description: string;
  /** Trainable parameters (unique), the number a built model's variables add up to. */
  total: number;
  applied: number;
  flopsPerPosition: Ledger["flopsPerPosition"];
  byGroup: Ledger["byGroup"];
  components: LedgerRow[];
  vocabulary: ReturnType<typeof vocabularyReduction>;
}

export function paramsReport(name: string): ParamsReport {
  let preset;
  try {
    preset = anyPreset(name);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`stlm params: ${e.message}`);
    throw e;
  }
  const l = ledger(preset.model, preset.bytes);
  return {
    preset: preset.name,
    description: preset.description,
    total: l.unique,
    applied: l.applied,
    flopsPerPosition: l.flopsPerPosition,
    byGroup: l.byGroup,
    components: l.rows,
    vocabulary: vocabularyReduction(preset.model, preset.bytes)
  };
}

const n = (x: number) => x.toLocaleString("en-US");
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Rows for the terminal: a layer's own rows of the same kind and size collapse
 * into one line ("blocks 0–17 attention, 18 × 294,912"), placed where the first was.
 */
function collapse(rows: readonly LedgerRow[]): { label: string; unique: number; applied: number }[] {
  const out: { label: string; unique: number; applied: number; layers?: number[] }[] = [];
  const byKind = new Map<string, (typeof out)[number]>();
  for (const r of rows) {
    if (r.owner !== "layer") {
      out.push({ label: r.uses > 1 ? `${r.component}, used ${r.uses}×` : r.component, unique: r.unique, applied: r.applied });
      continue;
    }
    const what = r.component.replace(/^block \d+ /, "");
    const key = `${what}|${r.unique}`;
    const seen = byKind.get(key);
    if (seen) {
      seen.layers!.push(r.layer!);
      seen.unique += r.unique;
      seen.applied += r.applied;
      continue;
    }
    const entry = { label: what, unique: r.unique, applied: r.applied, layers: [r.layer!] };
    byKind.set(key, entry);
    out.push(entry);
  }
  return out.map(({ label, unique, applied, layers }) => {
    if (!layers) return { label, unique, applied };
    if (layers.length === 1) return { label: `block ${layers[0]} ${label}`, unique, applied };
    const contiguous = layers.every((l, k) => k === 0 || l === layers[k - 1] + 1);
    const span = contiguous ? `blocks ${layers[0]}–${layers.at(-1)}` : `blocks ${layers.join(", ")}`;
    return { label: `${span} ${label}, ${layers.length} × ${n(unique / layers.length)}`, unique, applied };
  });
}

export function formatParams(r: ParamsReport): string {
  const rows = collapse(r.components);
  const width = Math.max(28, ...rows.map((x) => x.label.length)) + 2;
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(width)}${b.padStart(14)}${c.padStart(14)}${d.padStart(8)}\n`;
  let s = `${r.preset}: ${r.description}\n\n`;
  s += line("component", "unique", "applied", "share");
  for (const x of rows) s += line(x.label, n(x.unique), n(x.applied), pct(x.unique / r.total));
  s += line("total", n(r.total), n(r.applied), "");
  s += `\nby group (unique):  ${Object.entries(r.byGroup).filter(([, g]) => g.unique > 0).map(([k, g]) => `${k} ${n(g.unique)}`).join(", ")}\n`;
  const f = r.flopsPerPosition;
  s += `training FLOPs per position: ${(f.training / 1e6).toFixed(1)} M (forward ${(f.forward / 1e6).toFixed(1)} M, of which attention scores ${(f.attention / 1e6).toFixed(1)} M)\n`;
  const v = r.vocabulary;
  s +=
    `ids <-> vectors: ${n(v.parameters)} parameters; GPT-2's vocabulary at this width would take ${n(v.gpt2Tied)} tied / ${n(v.gpt2Untied)} untied: ` +
    `${pct(v.reductionVsTied)} / ${pct(v.reductionVsUntied)} fewer\n`;
  s += `whole model: ${n(v.totals.model)} against ${n(v.totals.gpt2Tied)} (GPT-2 vocabulary, tied) and ${n(v.totals.gpt2Untied)} (untied)\n`;
  return s;
}

export async function paramsCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { preset: "string", json: "boolean" }, "params");
  if (f.preset === undefined) throw new UsageError(`stlm params: --preset is required\n\n${PARAMS_HELP}`);
  const r = paramsReport(String(f.preset));
  process.stdout.write(f.json ? JSON.stringify(r) + "\n" : formatParams(r));
}
