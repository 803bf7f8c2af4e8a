// Types for the part of @observablehq/inputs 0.12 (no types shipped) that components use.
declare module "@observablehq/inputs" {
  export function table(data: Iterable<object>, options?: Record<string, unknown>): HTMLElement & { value: object[] };
}
