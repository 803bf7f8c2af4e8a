// stlm: the lab's command-line tool over lib/.
import { kernelPool } from "../kernels.js";
import { BENCH_HELP, benchCommand } from "./bench.js";
import { EVAL_HELP, evalCommand, SAMPLE_HELP, sampleCommand } from "./evaluate.js";
import { PARAMS_HELP, paramsCommand } from "./params.js";
import { TRAIN_HELP, trainCommand } from "./train.js";
import { PLAY_HELP, playCommand, SELFPLAY_HELP, selfplayCommand } from "./selfplay.js";
import { TOKENIZE_HELP, tokenizeCommand } from "./tokenize.js";
import { UsageError } from "./args.js";

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<void> }> = {
  train: { help: TRAIN_HELP, run: trainCommand },
  eval: { help: EVAL_HELP, run: evalCommand },
  sample: { help: SAMPLE_HELP, run: sampleCommand },
  params: { help: PARAMS_HELP, run: paramsCommand },
  bench: { help: BENCH_HELP, run: benchCommand },
  tokenize: { help: TOKENIZE_HELP, run: tokenizeCommand },
  selfplay: { help: SELFPLAY_HELP, run: selfplayCommand },
  play: { help: PLAY_HELP, run: playCommand }
};

const USAGE = `stlm: train, evaluate and measure super tiny language models

  stlm train   --preset nano --corpus austen --steps 500 --seed 1 --out runs/nano
  stlm eval    --checkpoint runs/nano [--json]
  stlm sample  --checkpoint runs/nano --prompt "It is a truth" --tokens 200
  stlm params  --preset micro [--json]
  stlm bench   [--json] [--profile]
  stlm tokenize --strategy stride|word|bpe|gpt2|learned --text "It is a truth"
  stlm selfplay --game tictactoe|wordchain --iterations 200 --games-per-iteration 64 --seed 1 --out runs/ttt
  stlm play    --checkpoint runs/ttt --game tictactoe

\`stlm COMMAND --help\` describes a command.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(USAGE + "\n");
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`stlm: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.help + "\n");
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`stlm ${name}: ${e.message.replace(/^stlm \w+: /, "")}\n`);
    if (process.env.STLM_DEBUG) process.stderr.write(`${e.stack}\n`);
    if (typeof (e as { exitCode?: unknown }).exitCode === "number") return (e as unknown as { exitCode: number }).exitCode;
    // A usage problem (a bad flag, a folder that cannot take a run) is exit 2, as for any command-line tool.
    return e instanceof UsageError || e.name === "RunFolderError" ? 2 : 1;
  } finally {
    // The kernel threads (lib/threads/) would keep the process alive.
    kernelPool()?.stopWorkers();
  }
}
