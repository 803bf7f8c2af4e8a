// The error every config validator throws: its own module so that lib/train/dropout.ts
// (which lib/config.ts validates with) can throw it without an import cycle.

/** An invalid setting, with the field it concerns and what to do. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`Invalid config: ${field}: ${message}`);
    this.name = "ConfigError";
  }
}
