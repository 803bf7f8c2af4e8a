// The --objective and --mtp-heads flags of stlm train: text to an Objective (lib/models/objectives.ts).
import { MTP_HEAD_TYPES, MTP_MAX_HEADS, type MtpHeadType, type Objective } from "../models/objectives.js";
import { UsageError } from "./args.js";

export const OBJECTIVE_HELP = `  --objective O     the training objective (default next):
                      next              next-byte prediction
                      mtp:N             multi-byte prediction with N heads in all
                                        (2..${MTP_MAX_HEADS}); head k predicts byte t+k; validation
                                        bits/byte is head 1's. Sample faster with
                                        \`stlm sample --speculative\`
                      mntp:R[:W]        next-token masked prediction: a fraction R
                                        (0 <= R < 1) of input bytes masked, a masked
                                        byte's loss weighted 1 + W (default W 1)
  --mtp-heads H     with mtp:N: layer (each extra head one transformer block,
                    the paper's layout; default) or linear (a linear map each)`;

const NUMBER = /^(\d+\.?\d*|\.\d+)$/;

/** The objective a --objective value names (undefined: next-byte), refusing a bad form with the allowed ones. */
export function parseObjectiveFlag(value: string | undefined, heads: string | undefined, command = "train"): Objective | undefined {
  const forms = `next, mtp:N (N from 2 to ${MTP_MAX_HEADS}), mntp:R or mntp:R:W (0 <= R < 1, 0 <= W <= 100)`;
  const fail = (why: string): never => {
    throw new UsageError(`stlm ${command}: --objective ${JSON.stringify(value)} ${why}; the allowed forms are ${forms}, for example --objective mtp:4 or --objective mntp:0.15`);
  };
  if (heads !== undefined && !MTP_HEAD_TYPES.includes(heads as MtpHeadType)) {
    throw new UsageError(`stlm ${command}: --mtp-heads must be ${MTP_HEAD_TYPES.join(" or ")} (got ${JSON.stringify(heads)})`);
  }
  if (value === undefined || value === "next") {
    if (heads !== undefined) throw new UsageError(`stlm ${command}: --mtp-heads goes with --objective mtp:N`);
    return undefined;
  }
  const [kind, ...args] = value.split(":");
  if (kind === "mtp") {
    if (args.length !== 1 || !/^\d+$/.test(args[0])) fail("needs the number of heads after mtp:");
    const n = Number(args[0]);
    if (n < 2 || n > MTP_MAX_HEADS) fail(`asks for ${n} heads`);
    return { kind: "mtp", heads: n, headType: (heads as MtpHeadType | undefined) ?? "layer" };
  }
  if (kind === "mntp") {
    if (heads !== undefined) throw new UsageError(`stlm ${command}: --mtp-heads goes with --objective mtp:N, not mntp`);
    if (args.length < 1 || args.length > 2 || !args.every((a) => NUMBER.test(a))) fail("needs a mask rate (and optionally a weight) in decimal after mntp:");
    const [rate, weight = 1] = args.map(Number);
    if (!(rate >= 0 && rate < 1)) fail(`asks for mask rate ${rate}`);
    if (!(weight >= 0 && weight <= 100)) fail(`asks for weight ${weight}`);
    return { kind: "mntp", rate, weight };
  }
  return fail("is not an objective this lab trains");
}
