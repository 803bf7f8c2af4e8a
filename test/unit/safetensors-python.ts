// Reading the lab's safetensors files with Python, so tests can show that tools
// outside the lab (PyTorch, or plain Python where PyTorch is not installed) read
// the same values the lab wrote. Shared by the safetensors and checkpoint tests.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian's interpreter: python3-torch installs into it, not into a pyenv or venv python3 that may come first on PATH. */
export const PYTHON = "/usr/bin/python3";

/**
 * A minimal safetensors reader, independent of the lab's code: `python3 - FILE
 * [--plain]` prints JSON {reader, dataStart, metadata, tensors: {name: {shape,
 * values}}}, values flattened row-major. It uses torch.frombuffer when PyTorch is
 * importable (and --plain is absent), else the array module. Non-finite values are
 * printed as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
 */
export const PYTHON_SAFETENSORS_READER = String.raw`
import array, json, math, struct, sys

path = sys.argv[1]
torch = None
if "--plain" not in sys.argv[2:] and sys.byteorder == "little":
    try:
        import torch
    except ImportError:
        torch = None

with open(path, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n].decode("utf-8"))
data = raw[8 + n:]
metadata = header.pop("__metadata__", {})

def plain(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x

tensors = {}
for name, info in header.items():
    if info["dtype"] != "F32":
        sys.exit(name + ": dtype " + info["dtype"] + " is not F32")
    begin, end = info["data_offsets"]
    shape = [int(d) for d in info["shape"]]
    chunk = data[begin:end]
    if torch is not None:
        if len(chunk) == 0:
            t = torch.zeros(shape, dtype=torch.float32)
        else:
            t = torch.frombuffer(bytearray(chunk), dtype=torch.float32).reshape(shape)
        if list(t.shape) != shape:
            sys.exit(name + ": torch shape " + str(list(t.shape)) + " is not " + str(shape))
        values = t.flatten().tolist()
    else:
        a = array.array("f")
        a.frombytes(chunk)
        if sys.byteorder == "big":
            a.byteswap()
        values = a.tolist()
    tensors[name] = {"shape": shape, "values": [plain(v) for v in values]}

json.dump({"reader": "torch" if torch is not None else "array", "dataStart": 8 + n, "metadata": metadata, "tensors": tensors}, sys.stdout)
`;

export type PythonReader = { python: string; torch: boolean } | null;

/** Which Python reader this machine has: PyTorch, plain Python, or none (null). Asked at test time: PyTorch may be installed while tests run. */
export function pythonReader(): PythonReader {
  if (!existsSync(PYTHON)) return null;
  const torch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore", timeout: 120_000 });
  if (torch.status === 0) return { python: PYTHON, torch: true };
  const plain = spawnSync(PYTHON, ["-c", "pass"], { stdio: "ignore", timeout: 30_000 });
  return plain.status === 0 ? { python: PYTHON, torch: false } : null;
}

export interface PythonRead {
  reader: "torch" | "array";
  dataStart: number;
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; values: number[] }>;
}

/** Reads a safetensors file with the Python reader above; `plain` forces the array module even where PyTorch is installed. */
export function readSafetensorsWithPython(path: string, options: { plain?: boolean } = {}): PythonRead {
  const args = ["-", path, ...(options.plain ? ["--plain"] : [])];
  const run = spawnSync(PYTHON, args, { input: PYTHON_SAFETENSORS_READER, encoding: "utf8", timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`the Python safetensors reader failed (status ${run.status}): ${run.stderr || run.error?.message}`);
  const out = JSON.parse(run.stdout) as { reader: PythonRead["reader"]; dataStart: number; metadata: Record<string, string>; tensors: Record<string, { shape: number[]; values: (number | string)[] }> };
  const tensors = new Map<string, { shape: number[]; values: number[] }>();
  for (const [name, t] of Object.entries(out.tensors)) {
    tensors.set(name, { shape: t.shape, values: t.values.map((v) => (typeof v === "string" ? Number(v) : v)) });
  }
  return { reader: out.reader, dataStart: out.dataStart, metadata: out.metadata, tensors };
}
