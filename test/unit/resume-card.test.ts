// What "Save in this browser" and "Download checkpoint" say they kept, read from the file's header alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeSafetensors } from "../../lib/train/safetensors.js";
import { checkpointTrainerStep, savedStateNote } from "../../src/components/resume-card.js";

const file = (metadata: Record<string, string>) => encodeSafetensors([{ name: "w", shape: [2], data: new Float32Array([1, 2]) }], { format: "stlm-checkpoint", ...metadata });

test("a checkpoint with trainer state is said to keep the optimizer state at its step; a weights-only one says what it drops", () => {
  const resumable = file({ "stlm.trainer": JSON.stringify({ step: 7, dataRng: [1, 2, 3, 4], dropoutRng: [1, 2, 3, 4], optimizerStep: 7, elapsedMs: 0 }) });
  assert.equal(checkpointTrainerStep(resumable), 7);
  assert.match(savedStateNote(resumable), /^with the optimizer and random-number state at step 7, so it can be resumed$/);
  const weightsOnly = file({});
  assert.equal(checkpointTrainerStep(weightsOnly), null);
  assert.match(savedStateNote(weightsOnly), /^weights only: .*no optimizer state to keep.*not resumed$/);
  assert.equal(checkpointTrainerStep(new Uint8Array([1, 2, 3])), null, "not a safetensors file: nothing claimed");
});
