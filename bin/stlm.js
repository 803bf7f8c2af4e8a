#!/usr/bin/env node
// The stlm command: runs lib/cli/main.ts through tsx, so the CLI, the pages and
// the data loaders share one TypeScript source with no separate build.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../lib/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
