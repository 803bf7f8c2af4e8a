// A small WebAssembly binary writer: just enough of the format (types, one
// imported memory, functions, exports, the integer/float/SIMD instructions
// lib/wasm/simd.ts uses) to generate kernels at run time. Generating the code here,
// rather than shipping a .wasm file, lets the kernels be unrolled for a chosen
// tile shape and built with or without relaxed-SIMD FMA after feature detection,
// with no compiler toolchain in the build and nothing fetched at run time.
// Format reference: https://webassembly.github.io/spec/core/binary/

export const i32 = 0x7f;
export const f32 = 0x7d;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof f32 | typeof v128;

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  out.push(...body);
}

/** The body of one function: declare locals, then append instructions. */
export class Func {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly params: ValType[], readonly results: ValType[] = []) {}

  /** A new local of the given type; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  get(i: number): this { return this.op(0x20).u(i); }
  set(i: number): this { return this.op(0x21).u(i); }
  tee(i: number): this { return this.op(0x22).u(i); }
  i32c(n: number): this { this.code.push(0x41); sleb(n | 0, this.code); return this; }
  /** local[i] += n (i32). */
  addTo(i: number, n: number): this { return this.get(i).i32c(n).op(0x6a).set(i); }
  /** local[i] += local[j] (i32). */
  addLocal(i: number, j: number): this { return this.get(i).get(j).op(0x6a).set(i); }

  /** Blocks and branches. Labels count outward from the innermost block. */
  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  if_(): this { return this.op(0x04, 0x40); }
  /** An if whose branches each leave one f32. */
  ifF32(): this { return this.op(0x04, f32); }
  else_(): this { return this.op(0x05); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { return this.op(0x0c).u(depth); }
  brIf(depth: number): this { return this.op(0x0d).u(depth); }

  // i32 arithmetic and comparison
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  shl(): this { return this.op(0x74); }
  shrU(): this { return this.op(0x76); }
  eqz(): this { return this.op(0x45); }
  eq(): this { return this.op(0x46); }
  ne(): this { return this.op(0x47); }
  and(): this { return this.op(0x71); }
  gtS(): this { return this.op(0x4a); }
  ltS(): this { return this.op(0x48); }
  geS(): this { return this.op(0x4e); }
  selectOp(): this { return this.op(0x1b); }

  // memory (align given as log2 bytes)
  /** Bulk memory: copy n bytes from src to dst (stack: dst, src, n). */
  memoryCopy(): this { return this.op(0xfc, 0x0a, 0x00, 0x00); }
  f32Load(offset = 0): this { return this.op(0x2a).u(2).u(offset); }
  f32Store(offset = 0): this { return this.op(0x38).u(2).u(offset); }
  f32Const0(): this { return this.op(0x43, 0, 0, 0, 0); }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Max(): this { return this.op(0x97); }
  f32Sqrt(): this { return this.op(0x91); }
  /** f32.convert_i32_s */
  f32FromI32(): this { return this.op(0xb2); }
  f32Const(x: number): this {
    this.code.push(0x43, ...new Uint8Array(new Float32Array([x]).buffer));
    return this;
  }

  // SIMD (prefix 0xfd, then the opcode as unsigned LEB128)
  v128Load(offset = 0): this { return this.simd(0x00).u(4).u(offset); }
  v128Store(offset = 0): this { return this.simd(0x0b).u(4).u(offset); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09).u(2).u(offset); }
  v128Zero(): this { this.simd(0x0c); for (let i = 0; i < 16; i++) this.code.push(0); return this; }
  /** A v128 constant of four equal float32 lanes. */
  f32x4Const(x: number): this {
    this.simd(0x0c);
    this.code.push(...new Uint8Array(new Float32Array([x, x, x, x]).buffer));
    return this;
  }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ExtractLane(lane: number): this { this.simd(0x1f); this.code.push(lane); return this; }
  f32x4Nearest(): this { return this.simd(0x6a); }
  f32x4Min(): this { return this.simd(0xe8); }
  /** Lanes a < b: all ones, else zeros (NaN: zeros). */
  f32x4Lt(): this { return this.simd(0x43); }
  /** a & ~b */
  v128AndNot(): this { return this.simd(0x4f); }
  f32x4Max(): this { return this.simd(0xe9); }
  /** Pseudo-minimum b < a ? b : a (x86 minps; f32x4.min's NaN and -0 rules cost V8 a long sequence). */
  f32x4Pmin(): this { return this.simd(0xea); }
  /** Pseudo-maximum a < b ? b : a (x86 maxps). */
  f32x4Pmax(): this { return this.simd(0xeb); }
  i32x4Shl(): this { return this.simd(0xab); }
  i32x4Add(): this { return this.simd(0xae); }
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }
  i32x4Splat(): this { return this.simd(0x11); }
  f32x4Sqrt(): this { return this.simd(0xe3); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  /** Relaxed SIMD: a*b + c, fused where the hardware has FMA. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }

  encode(): number[] {
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, out);
    for (const [n, t] of runs) { uleb(n, out); out.push(t); }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }

  private op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  private u(n: number): this { uleb(n, this.code); return this; }
  private simd(opcode: number): this { this.code.push(0xfd); uleb(opcode, this.code); return this; }
}

/**
 * A module that imports one memory as env.memory and exports the given functions.
 * `shared` declares the memory shared (as a threaded build's is: its buffer is a
 * SharedArrayBuffer), with the largest maximum a 32-bit memory can have.
 */
export function moduleBytes(funcs: { name: string; func: Func }[], options: { shared?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(funcs.length, types);
  for (const { func } of funcs) {
    types.push(0x60);
    uleb(func.params.length, types); types.push(...func.params);
    uleb(func.results.length, types); types.push(...func.results);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name("env", imports); name("memory", imports);
  if (options.shared) {
    imports.push(0x02, 0x03, 0x00); // memory: shared, minimum 0 pages, maximum 65536
    uleb(65536, imports);
  } else {
    imports.push(0x02, 0x00, 0x00); // memory: no maximum, minimum 0 pages
  }
  section(2, imports, out);
  const fn: number[] = [];
  uleb(funcs.length, fn);
  funcs.forEach((_, i) => uleb(i, fn));
  section(3, fn, out);
  const exp: number[] = [];
  uleb(funcs.length, exp);
  funcs.forEach(({ name: n }, i) => { name(n, exp); exp.push(0x00); uleb(i, exp); });
  section(7, exp, out);
  const code: number[] = [];
  uleb(funcs.length, code);
  for (const { func } of funcs) code.push(...func.encode());
  section(10, code, out);
  return new Uint8Array(out);
}
