// A small flag parser: --name value, --flag, --name=value. Unknown flags are errors.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface FlagSpec {
  [name: string]: "string" | "number" | "boolean";
}

export type Flags = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: string[], spec: FlagSpec, command: string): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`stlm ${command}: unexpected argument "${arg}" (flags start with --; see \`stlm ${command} --help\`)`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = spec[name];
    if (!kind) throw new UsageError(`stlm ${command}: unknown flag --${name}; known flags: ${Object.keys(spec).map((k) => "--" + k).join(", ")}`);
    if (kind === "boolean") {
      out[name] = value === undefined ? true : value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`stlm ${command}: --${name} needs a value`);
    }
    if (kind === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`stlm ${command}: --${name} must be a number (got "${value}")`);
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

/** A progress line: a bar and the fields given. */
export function progressLine(done: number, total: number, fields: string[], width = 24): string {
  const filled = Math.round((done / Math.max(total, 1)) * width);
  return `${String(done).padStart(String(total).length)}/${total} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${fields.join(" | ")}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "--:--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
