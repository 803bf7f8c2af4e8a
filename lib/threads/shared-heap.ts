// Node: the tfjs wasm backend on a shared WebAssembly.Memory, so the lab's kernel
// threads (lib/threads/pool.ts) can read and write tensors where tfjs keeps them.
//
// tfjs 4.22 never loads its threaded build in Node (WASM_HAS_MULTITHREAD_SUPPORT is
// hard-coded false there), and its single-threaded build defines its own memory.
// That build's code has no atomics and needs none: the lab's threads never run
// tfjs code, only the lab's kernels, between barriers. So the one change needed is
// the memory's declaration: this rewrites the binary's memory section from
// "min pages" to "shared, min pages, max 65536 pages" (4 GiB, the wasm32 limit
// tfjs's own getHeapMax allows) as the module is instantiated. Growth works as
// before (memory.grow on a shared memory keeps one buffer, only longer).
// Format: https://webassembly.github.io/spec/core/binary/modules.html#memory-section

function readUleb(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const byte = b[i++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, i];
    shift += 7;
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * The module with its one defined memory declared shared (maximum 4 GiB), or null
 * when it defines no memory or its memory is shared already.
 */
export function withSharedMemory(bytes: Uint8Array): Uint8Array<ArrayBuffer> | null {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return null;
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = readUleb(bytes, at + 1);
    if (id === 5) {
      const [count, first] = readUleb(bytes, body);
      if (count !== 1) return null;
      const flags = bytes[first];
      if (flags & 0x02) return null; // shared already
      const [min] = readUleb(bytes, first + 1);
      const section = [...uleb(1), 0x03, ...uleb(min), ...uleb(65536)];
      const out = new Uint8Array(bytes.length - (body + size - at) + 1 + uleb(section.length).length + section.length);
      out.set(bytes.subarray(0, at));
      out.set([5, ...uleb(section.length), ...section], at);
      out.set(bytes.subarray(body + size), at + 1 + uleb(section.length).length + section.length);
      return out;
    }
    at = body + size;
  }
  return null;
}

/**
 * Run `start` (tfjs's wasm backend initialising) with WebAssembly.instantiate
 * giving every module that defines its memory a shared one; restored after.
 */
export async function instantiatingShared<T>(start: () => Promise<T>): Promise<T> {
  const original = WebAssembly.instantiate;
  const patched = (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (source instanceof WebAssembly.Module) return original(source, imports);
    const view = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return original(withSharedMemory(view) ?? source, imports);
  };
  (WebAssembly as { instantiate: unknown }).instantiate = patched;
  try {
    return await start();
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = original;
  }
}
