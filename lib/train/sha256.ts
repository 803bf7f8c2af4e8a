// SHA-256 (FIPS 180-4) in plain TypeScript, synchronous, for Node and the browser
// alike. crypto.subtle would be faster but is asynchronous and absent outside
// secure contexts; node:crypto does not exist in the browser. Checkpoints hash
// tens of MB, so the compression loop reads 64-byte blocks straight from the
// caller's bytes (no copy of the input) and keeps the state in local variables.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);

const BLOCKS_PER_CALL = 256;

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/**
 * Runs the compression function over `blocks` 64-byte blocks of `bytes` from
 * `offset`, updating `state` in place. `w` is the caller's 64-word schedule, reused
 * so that hashing allocates nothing per block.
 */
function compress(state: Int32Array, w: Int32Array, bytes: Uint8Array, offset: number, blocks: number): void {
  let h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3];
  let h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];
  for (let blk = 0; blk < blocks; blk++) {
    let p = offset + blk * 64;
    for (let i = 0; i < 16; i++, p += 4) {
      w[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3;
  state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7;
}

/** Incremental SHA-256: feed bytes with `update` (any split gives the same digest), read it with `hex`. */
export class Sha256 {
  private readonly state = new Int32Array(INITIAL);
  private readonly w = new Int32Array(64);
  /** Bytes of an incomplete block carried over between updates. */
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  /** Total bytes hashed; a double counts exactly up to 2^53, far past any file here. */
  private length = 0;

  update(bytes: Uint8Array): this {
    let at = 0;
    const n = bytes.length;
    this.length += n;
    if (this.pendingLength > 0) {
      const take = Math.min(64 - this.pendingLength, n);
      this.pending.set(bytes.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      at = take;
      if (this.pendingLength < 64) return this;
      compress(this.state, this.w, this.pending, 0, 1);
      this.pendingLength = 0;
    }
    // Whole blocks straight from the input, a slice at a time: many short calls
    // let the JIT optimise compress early in a single large update, where one
    // call over everything would run on slower on-stack-replaced code for a while.
    while (n - at >= 64) {
      const blocks = Math.min(Math.floor((n - at) / 64), BLOCKS_PER_CALL);
      compress(this.state, this.w, bytes, at, blocks);
      at += blocks * 64;
    }
    if (at < n) {
      this.pending.set(bytes.subarray(at), 0);
      this.pendingLength = n - at;
    }
    return this;
  }

  /** The digest of everything so far, lower-case hex. Leaves the hash open, so more `update`s may follow. */
  hex(): string {
    // Pad a copy, so that reading the digest does not end the stream.
    const state = new Int32Array(this.state);
    const tail = new Uint8Array(128);
    tail.set(this.pending.subarray(0, this.pendingLength));
    tail[this.pendingLength] = 0x80;
    const tailLength = this.pendingLength < 56 ? 64 : 128;
    const bits = this.length * 8; // exact: a multiple of 8 below 2^56
    const view = new DataView(tail.buffer);
    view.setUint32(tailLength - 8, Math.floor(bits / 0x100000000), false);
    view.setUint32(tailLength - 4, bits >>> 0, false);
    compress(state, new Int32Array(64), tail, 0, tailLength / 64);
    let out = "";
    for (let i = 0; i < 8; i++) out += (state[i] >>> 0).toString(16).padStart(8, "0");
    return out;
  }
}

/** SHA-256 of one byte array, or of several as if concatenated (without concatenating them), in lower-case hex. */
export function sha256(parts: Uint8Array | readonly Uint8Array[]): string {
  const h = new Sha256();
  // Array.isArray rather than instanceof Uint8Array: bytes from another realm (an iframe, a worker) are still bytes.
  if (Array.isArray(parts)) for (const p of parts as readonly Uint8Array[]) h.update(p);
  else h.update(parts as Uint8Array);
  return h.hex();
}
