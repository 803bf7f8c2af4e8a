import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BIN, stlm } from "./stlm.js";
import { isGameRecord, parseRunRecord } from "../../lib/runs/record.js";
import { sha256 } from "../../lib/train/sha256.js";

// Expert iteration from a replay buffer, 2 updates an iteration: the checkpoint's step counts updates and its meta holds the buffer.
const tiny = ["--iterations", "30", "--imitation", "2", "--games-per-iteration", "4", "--imitation-games", "2", "--eval-every", "2", "--eval-games", "2", "--refresh-every", "1", "--update", "expert", "--expert-rollouts", "0", "--replay-buffer", "40", "--updates-per-iteration", "2", "--batch-size", "8", "--quiet"];

function play(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, "play", ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(input);
  });
}

test("stlm selfplay writes a run that resumes to the same weights as one never stopped, and stlm play answers a move", async () => {
  const tmp = await mkdtemp(path.join(tmpdir(), "stlm-selfplay-"));
  try {
    const whole = path.join(tmp, "whole");
    const r = await stlm("selfplay", "--game", "tictactoe", ...tiny, "--seed", "3", "--out", whole);
    assert.equal(r.code, 0, r.stderr);
    for (const file of ["config.json", "metrics.jsonl", "checkpoint.safetensors", "frozen.safetensors", "games.json", "summary.json"]) assert.ok(existsSync(path.join(whole, file)), file);
    assert.match(r.stderr, /done at iteration 32: vs random W[\d.]+% D[\d.]+% L[\d.]+% illegal [\d.]+%; vs perfect/);
    assert.match(r.stderr, /over every game \(exact\): loses [\d.]+% to random \(X [\d.]+%, O [\d.]+%\), draws [\d.]+% with perfect; refused in \d+ of 4520 positions/);
    const summary = JSON.parse(await readFile(path.join(whole, "summary.json"), "utf8"));
    const ex = summary.exact;
    assert.equal(ex.positions, 4520);
    for (const ref of ["random", "perfect"]) for (const seat of ["X", "O", "mean"]) {
      const o = ex[ref][seat];
      assert.ok(Math.abs(o.win + o.draw + o.loss - 1) < 1e-9, `${ref} ${seat} sums to 1`);
    }
    const rows = (await readFile(path.join(whole, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows.filter((x) => x.phase).map((x) => x.step), Array.from({ length: 32 }, (_, i) => i + 1));
    assert.deepEqual(rows.filter((x) => x.opponent).map((x) => `${x.step}:${x.opponent}`).slice(0, 4), ["0:random", "0:perfect", "2:random", "2:perfect"]);
    const saved = decodeCheckpoint(new Uint8Array(await readFile(path.join(whole, "checkpoint.safetensors"))));
    assert.equal(saved.trainer!.step, 64, "32 iterations of 2 updates");
    const loop = saved.meta.selfplayState as { iteration: number; replay: string[] };
    assert.equal(loop.iteration, 32);
    assert.equal(loop.replay.length, 40, "a full replay buffer");
    // run.json: the run's record, of kind "game", read by the same check an import goes through.
    const record = parseRunRecord(await readFile(path.join(whole, "run.json"), "utf8"), "run.json");
    assert.ok(isGameRecord(record));
    assert.equal(record.origin, "cli");
    assert.equal(record.game!.name, "tictactoe");
    assert.equal(record.game!.arm, "self-play");
    assert.deepEqual(record.game!.iterations.map((x) => x.iteration), rows.filter((x) => x.phase).map((x) => x.step));
    assert.deepEqual(record.game!.evals.map((x) => x.stats.loss), rows.filter((x) => x.opponent).map((x) => x.loss));
    assert.equal(record.final!.steps, 32);
    assert.equal(record.final!.plannedSteps, 32);
    assert.equal(record.final!.evaluations!["exact: loses to random"], ex.random.mean.loss);
    assert.equal(record.train.steps, 64, "the TrainConfig the checkpoint records: 64 updates");
    assert.equal(record.checkpoint!.sha256, sha256([new Uint8Array(await readFile(path.join(whole, "checkpoint.safetensors")))]));

    // The same run stopped by Ctrl-C once its first checkpoint is saved, then resumed.
    const part = path.join(tmp, "part");
    const child = spawn(process.execPath, [BIN, "selfplay", "--game", "tictactoe", ...tiny, "--seed", "3", "--out", part]);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(path.join(part, "checkpoint.safetensors"))) {
          clearInterval(poll);
          child.kill("SIGINT");
        }
      }, 5);
      child.once("exit", (c) => {
        clearInterval(poll);
        resolve(c ?? 1);
      });
    });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /continue with `stlm selfplay --resume/);
    const resumed = await stlm("selfplay", "--resume", part);
    assert.equal(resumed.code, 0, resumed.stderr);
    const weights = async (dir: string, file: string) => {
      const c = decodeCheckpoint(new Uint8Array(await readFile(path.join(dir, file))));
      return [...c.weights].map(([n, t]) => `${n}:${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64")}`);
    };
    assert.deepEqual(await weights(part, "checkpoint.safetensors"), await weights(whole, "checkpoint.safetensors"), "bit-identical weights");
    assert.deepEqual(await weights(part, "frozen.safetensors"), await weights(whole, "frozen.safetensors"), "bit-identical frozen copy");
    // The resumed run is one record: its id kept, its games the uninterrupted run's.
    const partRecord = parseRunRecord(await readFile(path.join(part, "run.json"), "utf8"));
    assert.equal(partRecord.final!.stopped, false);
    assert.deepEqual(partRecord.game!.iterations, record.game!.iterations);
    assert.deepEqual(partRecord.game!.evals, record.game!.evals);
    assert.notEqual(partRecord.id, record.id, "two runs, two ids");
    const again = await stlm("selfplay", "--resume", part);
    assert.equal(again.code, 2, "a finished run is not resumed");
    assert.match(again.stderr, /already finished its 32 iterations/);

    const refused = await stlm("selfplay", "--game", "chess", "--out", path.join(tmp, "x"));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--game must be tictactoe or wordchain/);
    const reinforce = await stlm("selfplay", "--game", "tictactoe", "--replay-buffer", "100", "--out", path.join(tmp, "y"));
    assert.equal(reinforce.code, 2);
    assert.match(reinforce.stderr, /--replay-buffer needs --update expert/);
    const unbuffered = await stlm("selfplay", "--game", "tictactoe", "--update", "expert", "--updates-per-iteration", "4", "--out", path.join(tmp, "z"));
    assert.equal(unbuffered.code, 2);
    assert.match(unbuffered.stderr, /--updates-per-iteration 4 needs --replay-buffer/);
    const exploring = await stlm("selfplay", "--game", "wordchain", "--explore", "0.5", "--out", path.join(tmp, "w"));
    assert.equal(exploring.code, 2);
    assert.match(exploring.stderr, /--explore plays random legal moves, and only tic-tac-toe lists its legal moves/);
    const badFinal = await stlm("selfplay", "--game", "tictactoe", "--selfplay-lr-final", "0", "--out", path.join(tmp, "v"));
    assert.equal(badFinal.code, 2);
    assert.match(badFinal.stderr, /--selfplay-lr-final/);
    const over = await stlm("selfplay", "--game", "tictactoe", ...tiny, "--out", whole);
    assert.equal(over.code, 2, "a run is never written over");

    const p = await play(["--checkpoint", whole, "--game", "tictactoe"], "0\n5\n1\n9\n3\n7\n2\n4\n6\n8\n");
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /You are X/);
    assert.match(p.stdout, /model writes "/);
    assert.match(p.stdout, /the rules engine refuses it: "0" is not a square number 1-9; try again/);
    assert.match(p.stdout, /(you win|the model wins|a draw|you resign)/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
