// Compile a WebGPU computation's programs ahead of running it, off the thread that draws the page.
//
// tfjs-webgpu compiles a program (a WGSL shader and its compute pipeline) the first time a
// kernel of that shape runs, with the synchronous createComputePipeline. In Chromium the
// GPU process compiles it on its main thread, and that thread also composites every page's
// frames: on SwiftShader (headless Chromium, no GPU) the first training step's 81 programs
// stopped all drawing for 7.7 s. createComputePipelineAsync compiles on the GPU process's
// worker threads instead, and tfjs-webgpu uses it in its compile-only mode
// (WEBGPU_ENGINE_COMPILE_ONLY: kernels compile their programs and run nothing).
// compileAhead(work) runs `work` once in that mode, its tensors freed, and returns the
// compiles' promise. Measured on SwiftShader (scripts/compile-ahead.ts, 2 runs): the same
// step's programs compiled in 9.3 / 11.6 s with no frame delayed more than 433 / 1,583 ms
// (once, as the dry run began), and the step after it ran as fast as later ones.
//
// What a dry run computes is garbage, so `work` must change nothing: no variable assigned
// (lib/train/optim.ts's AdamW.apply has `dry`), no random draw kept. A synchronous read of
// a tensor that only the GPU holds (a model deciding something on the CPU) ends the dry run
// there: the programs met before it are compiled, the rest compile when they first run, as
// without this. tfjs keeps promises in its program cache in this mode and throws if a kernel
// meets one; here a program's promise never stays in the cache, so a kernel that runs before
// its compile is done compiles it synchronously, as it would have anyway.
import { tf } from "./tf.js";

interface CompilingBackend {
  pipelineCache: Record<string, unknown>;
  tensorMap: { get(dataId: object): { values?: unknown } | undefined };
  readSync(dataId: object): unknown;
}

class ReadInDryRun extends Error {}

/** Whether the current backend can compile ahead (tfjs-webgpu's compile-only mode). */
export function canCompileAhead(): boolean {
  if (tf.getBackend() !== "webgpu") return false;
  const backend = tf.backend() as unknown as Partial<CompilingBackend>;
  return typeof backend.pipelineCache === "object" && backend.pipelineCache !== null && typeof backend.readSync === "function" && isFlag("WEBGPU_ENGINE_COMPILE_ONLY");
}

function isFlag(name: string): boolean {
  try {
    tf.env().get(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `work` in compile-only mode (WebGPU), then resolves when the programs it met are
 * compiled; the number of programs it started compiling. Resolves 0 at once where the
 * backend cannot compile ahead. Never rejects: a program that fails to compile here is
 * compiled (and its error reported) when it first runs.
 */
export function compileAhead(work: () => void): Promise<number> {
  if (!canCompileAhead()) return Promise.resolve(0);
  const backend = tf.backend() as unknown as CompilingBackend;
  const cache = backend.pipelineCache;
  const known = new Set(Object.keys(cache));
  const readSync = backend.readSync;
  backend.readSync = function (this: CompilingBackend, dataId: object) {
    if (this.tensorMap.get(dataId)?.values != null) return readSync.call(this, dataId);
    throw new ReadInDryRun();
  };
  const env = tf.env();
  env.set("WEBGPU_ENGINE_COMPILE_ONLY", true);
  try {
    tf.tidy(work);
  } catch {
    // A read (ReadInDryRun) or anything else the real run will meet and report itself.
  } finally {
    env.set("WEBGPU_ENGINE_COMPILE_ONLY", false);
    backend.readSync = readSync;
  }
  const pending: Promise<void>[] = [];
  for (const key of Object.keys(cache)) {
    if (known.has(key)) continue;
    const compiling = cache[key];
    delete cache[key];
    pending.push(
      Promise.resolve(compiling).then(
        (pipeline) => {
          if (!(key in cache)) cache[key] = pipeline;
        },
        () => undefined
      )
    );
  }
  return Promise.all(pending).then(() => pending.length);
}
