// arquero's browser build (arquero/dist/arquero.min.js, see shared/STACK.md): its namespace holds `default`.
declare module "arquero/dist/arquero.min.js" {
  import type * as aq from "arquero";
  const arquero: typeof aq;
  export default arquero;
}
