// The one place lib/ gets TensorFlow.js from.
//
// lib/ runs in Node (tsx, @tensorflow/tfjs from node_modules) and in the browser
// (an esbuild bundle of tfjs that Framework serves; importing @tensorflow/tfjs
// straight into a page breaks, see shared/STACK.md). So lib/ never imports the
// package at run time: an entry point installs a tfjs namespace once, and every
// module reads it through this live ES-module binding.
//   Node:    lib/node/runtime.ts      Browser: src/components/runtime.ts
import type * as TF from "@tensorflow/tfjs";

export type Tf = typeof TF;
export type Tensor = TF.Tensor;
export type Variable = TF.Variable;

export let tf: Tf = new Proxy({} as Tf, {
  get() {
    throw new Error(
      "TensorFlow.js is not installed for lib/: call installTf(tf) first " +
        "(Node: `await initNode()` from lib/node/runtime.ts; browser: src/components/runtime.ts)."
    );
  }
});

export function installTf(namespace: Tf): void {
  tf = namespace;
}
