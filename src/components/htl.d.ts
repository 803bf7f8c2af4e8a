// Types for htl 0.3.1, which ships none.
declare module "htl" {
  type Rendered = HTMLElement | SVGElement | DocumentFragment | Text | null;
  export function html(strings: TemplateStringsArray, ...values: unknown[]): Rendered;
  export function svg(strings: TemplateStringsArray, ...values: unknown[]): Rendered;
}
