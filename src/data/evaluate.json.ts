// The evaluation page's committed results (data/runs/evaluate/): stlm eval on the
// precomputed checkpoint (scripts/eval-precomputed.ts), the count-model floors
// (scripts/eval-floors.ts) and the next-sentence investigation
// (scripts/next-sentence-investigation.ts). A file not made yet is null.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "evaluate");
const read = async (name: string) => {
  const file = join(dir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`data/runs/evaluate/${name} is not valid JSON: ${(e as Error).message}`);
  }
};
process.stdout.write(JSON.stringify({ precomputed: await read("nano-austen.json"), floors: await read("floors.json"), nextSentence: await read("next-sentence.json") }));
