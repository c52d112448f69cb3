/**
 * `adkg train` by itself, for the GPU machine: the CLI's own command (src/cli/commands/train.ts: same options,
 * same code) without the other subcommands, whose dependencies (tfjs, neo4j-driver, bullmq) are not carried
 * there. bench/kge-gpu/run.sh trains with it end to end (`--backend cuda`, then native on the same schedule).
 *
 *   node .device/app/bench/kge-gpu/train-cli.js train --triples DIR --model transr --backend cuda --out DIR --json
 */
import { Command } from 'commander';
import { register } from '../../src/cli/commands/train';

const program = new Command().name('adkg').showHelpAfterError();
register(program);
program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`adkg: ${e.message}`);
  process.exit(1);
});
