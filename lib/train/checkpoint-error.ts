/** A checkpoint file that cannot be used: the message names the file, what is wrong and what to do. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}
