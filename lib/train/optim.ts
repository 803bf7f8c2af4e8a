// AdamW with decoupled weight decay (Loshchilov & Hutter), applied only to
// weights of rank >= 2 (matrices), never to norm gains; a linear-warmup +
// cosine schedule; and clipping by the global gradient norm.
import type { Scalar, Tensor, Variable } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import type { TrainConfig } from "../config.js";
import { addN } from "../add-n.js";
import { ADAMW_ALL_KERNEL, ADAMW_KERNEL, FUSED, hasKernel, type AdamWAttrs } from "../kernels.js";

export interface NamedVariable {
  name: string;
  variable: Variable;
}

export interface AdamWState {
  step: number;
  /** First and second moments, keyed by parameter name. */
  m: Map<string, { shape: number[]; data: Float32Array }>;
  v: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Learning rate at `step` (0-based): linear warmup to the peak, cosine decay to minLrRatio * peak. */
export function learningRateAt(step: number, c: Pick<TrainConfig, "learningRate" | "warmupSteps" | "steps" | "minLrRatio">): number {
  if (c.warmupSteps > 0 && step < c.warmupSteps) return (c.learningRate * (step + 1)) / c.warmupSteps;
  const decaySteps = Math.max(1, c.steps - c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / decaySteps);
  const minLr = c.learningRate * c.minLrRatio;
  return minLr + 0.5 * (c.learningRate - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Global L2 norm of a list of gradients, as a scalar tensor (no read-back). */
export function globalNorm(grads: Tensor[]): Scalar {
  // Where the backend has the fused kernel (wasm), one kernel for every gradient instead of two each and an AddN.
  if (hasKernel(FUSED.squaredNorm) && grads.length > 0 && grads.every((g) => g.dtype === "float32")) {
    return tf.tidy(() => tf.sqrt(tf.engine().runKernel(FUSED.squaredNorm, Object.fromEntries(grads.map((g, i) => [String(i), g]))) as Tensor) as Scalar);
  }
  // addN, not tf.addN: tfjs-webgpu's AddN of more than 7 tensors returns garbage (lib/add-n.ts).
  return tf.tidy(() => tf.sqrt(addN(grads.map((g) => tf.sum(tf.square(g))))) as Scalar);
}

export class AdamW {
  private readonly params: readonly NamedVariable[];
  private readonly m: Variable[];
  private readonly v: Variable[];
  /** Updates applied so far (drives bias correction). */
  step = 0;

  constructor(
    params: readonly NamedVariable[],
    private readonly hp: Pick<TrainConfig, "beta1" | "beta2" | "eps" | "weightDecay" | "gradClip">
  ) {
    this.params = params;
    // tidy frees the zeros tensors; the variables it creates survive it.
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
  }

  /**
   * One update with gradients in parameter order. Clips by global norm when
   * gradClip > 0 and returns the pre-clip norm as a scalar the caller owns.
   */
  apply(grads: Tensor[], lr: number, { dry = false }: { dry?: boolean } = {}): Scalar {
    if (grads.length !== this.params.length) throw new Error(`AdamW.apply: ${grads.length} gradients for ${this.params.length} parameters`);
    const step = this.step + 1;
    if (!dry) this.step = step;
    const { beta1, beta2, eps, weightDecay, gradClip } = this.hp;
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    // A dry update runs every kernel of a real one and keeps none of their results (Trainer.precompile).
    const assign = (target: Variable, value: Tensor) => {
      if (!dry) target.assign(value);
    };
    return tf.tidy(() => {
      const norm = globalNorm(grads);
      // min(1, clip / norm), computed on the device so the step never waits for a read-back.
      const scale = gradClip > 0 ? tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6))) : null;
      const decays = this.params.map(({ variable }) => (variable.rank >= 2 && weightDecay > 0 ? 1 - lr * weightDecay : 1));
      if (hasKernel(ADAMW_ALL_KERNEL)) {
        // Where the backend has it (lib/kernels.ts; wasm), every parameter's pass in one kernel call.
        const inputs: Record<string, Tensor> = scale ? { scale } : {};
        this.params.forEach(({ variable }, i) => Object.assign(inputs, { [`w${i}`]: variable, [`m${i}`]: this.m[i], [`v${i}`]: this.v[i], [`g${i}`]: grads[i] }));
        const attrs = { lr, beta1, beta2, bc1, bc2, eps, decay: decays };
        const outs = tf.engine().runKernel(ADAMW_ALL_KERNEL, inputs, attrs as unknown as Record<string, number>) as Tensor[];
        this.params.forEach(({ variable }, i) => {
          assign(this.m[i], outs[3 * i + 1]);
          assign(this.v[i], outs[3 * i + 2]);
          assign(variable, outs[3 * i]);
        });
        return tf.keep(norm);
      }
      // Where the backend has the fused kernel (lib/kernels.ts; wasm), one pass per parameter.
      const fused = hasKernel(ADAMW_KERNEL);
      this.params.forEach(({ variable }, i) => {
        const decay = decays[i];
        if (fused) {
          const attrs: AdamWAttrs = { lr, beta1, beta2, bc1, bc2, eps, decay };
          const inputs = { w: variable, m: this.m[i], v: this.v[i], g: grads[i], ...(scale ? { scale } : {}) };
          const [w, m, v] = tf.engine().runKernel(ADAMW_KERNEL, inputs, attrs as unknown as Record<string, number>) as Tensor[];
          assign(this.m[i], m);
          assign(this.v[i], v);
          assign(variable, w);
          return;
        }
        const g = scale ? tf.mul(grads[i], scale) : grads[i];
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        assign(this.m[i], m);
        assign(this.v[i], v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decayed = decay !== 1 ? tf.mul(variable, decay) : variable;
        assign(variable, tf.sub(decayed, tf.mul(update, lr)));
      });
      return tf.keep(norm);
    });
  }

  async state(): Promise<AdamWState> {
    const read = async (vars: Variable[]) => {
      const out = new Map<string, { shape: number[]; data: Float32Array }>();
      for (let i = 0; i < vars.length; i++) out.set(this.params[i].name, { shape: vars[i].shape.slice(), data: (await vars[i].data()) as Float32Array });
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  /** Restore moments saved by state(); shapes must match this optimizer's parameters. */
  load(state: AdamWState): void {
    const put = (vars: Variable[], saved: AdamWState["m"], which: string) => {
      this.params.forEach((p, i) => {
        const s = saved.get(p.name);
        if (!s) throw new Error(`optimizer state lacks the ${which} moment of "${p.name}"`);
        if (s.shape.join("x") !== vars[i].shape.join("x")) throw new Error(`optimizer ${which} moment of "${p.name}" has shape [${s.shape}], expected [${vars[i].shape}]`);
        tf.tidy(() => vars[i].assign(tf.tensor(s.data, s.shape)));
      });
    };
    put(this.m, state.m, "first");
    put(this.v, state.v, "second");
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
