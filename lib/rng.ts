// Seeded, serialisable random numbers. Everything random in lib/ (initialisation,
// batch sampling, dropout masks, sampling) draws from an Rng, so a run is
// reproducible across backends and resumable from a checkpoint.

/** A small fast PRNG (sfc32) whose whole state is four uint32 words. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[] = 1) {
    this.s = new Uint32Array(4);
    if (typeof seed === "number") {
      // splitmix32 expands one seed into four well-mixed words.
      let x = seed >>> 0;
      for (let i = 0; i < 4; i++) {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
      for (let i = 0; i < 12; i++) this.nextUint32();
    } else {
      if (seed.length !== 4) throw new Error(`Rng state must be 4 uint32 words, got ${seed.length}`);
      this.s.set(seed.map((v) => v >>> 0));
    }
  }

  /** The state, to store in a checkpoint and restore with `new Rng(state)`. */
  state(): number[] {
    return Array.from(this.s);
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A derived generator, so one seed can feed independent streams. */
  fork(): Rng {
    return new Rng([this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32() | 1]);
  }
}
