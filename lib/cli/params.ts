// stlm params: where a preset's parameters are.
import { presetConfig, PRESETS } from "../config.js";
import { parameterShapes } from "../model.js";
import { parseFlags, UsageError } from "./args.js";

export const PARAMS_HELP = `stlm params --preset P [--json]    (presets: ${Object.keys(PRESETS).join(", ")})`;

/** Parameter counts by component, computed from the config alone (no tensors). */
export function parameterBreakdown(preset: string): { preset: string; total: number; components: { component: string; parameters: number }[] } {
  const { model } = presetConfig(preset);
  const byComponent = new Map<string, number>();
  for (const { name, shape } of parameterShapes(model)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const component = name === "embed" ? (model.tieEmbeddings ? "embedding (tied to head)" : "embedding") : name.startsWith("blocks.") ? (name.includes(".attn.") ? "attention" : name.includes(".mlp.") ? "mlp (SwiGLU)" : "norms") : name === "head" ? "head" : "norms";
    byComponent.set(component, (byComponent.get(component) ?? 0) + n);
  }
  const components = [...byComponent].map(([component, parameters]) => ({ component, parameters }));
  return { preset, total: components.reduce((a, c) => a + c.parameters, 0), components };
}

export async function paramsCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { preset: "string", json: "boolean" }, "params");
  if (f.preset === undefined) throw new UsageError(`stlm params: --preset is required; ${PARAMS_HELP}`);
  const b = parameterBreakdown(String(f.preset));
  if (f.json) {
    process.stdout.write(JSON.stringify(b) + "\n");
    return;
  }
  for (const c of b.components) process.stdout.write(`${c.component.padEnd(26)} ${c.parameters.toLocaleString("en-US").padStart(12)}  ${((100 * c.parameters) / b.total).toFixed(1).padStart(5)}%\n`);
  process.stdout.write(`${"total".padEnd(26)} ${b.total.toLocaleString("en-US").padStart(12)}\n`);
}
