// Pause, resume and stop for a training loop that runs as an async generator (the
// Trainer, the self-play loop): the loop checks `paused` between steps and awaits
// `whilePaused()`; a stop ends a paused wait at once.
export class RunGate {
  private waiter: { promise: Promise<void>; resolve: () => void } | null = null;
  private stopRequested = false;

  get paused(): boolean {
    return this.waiter !== null;
  }

  get stopped(): boolean {
    return this.stopRequested;
  }

  pause(): void {
    if (this.waiter) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.waiter = { promise, resolve };
  }

  resume(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  /** End the run after the step under way (a paused run ends at once). */
  stop(): void {
    this.stopRequested = true;
    this.resume();
  }

  /** Resolves when the run is resumed or stopped. */
  whilePaused(): Promise<void> {
    return this.waiter?.promise ?? Promise.resolve();
  }
}
