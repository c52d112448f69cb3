/**
 * The `adkg` command. Each subcommand lives in its own file under ./commands and exports
 * `register(program)`; this file only wires them together.
 */
import { Command } from 'commander';
import { register as ingest } from './commands/ingest';
import { register as erase } from './commands/erase';
import { register as snapshot } from './commands/snapshot';
import { register as cypher } from './commands/cypher';
import { register as simulate } from './commands/simulate';
import { register as dataset } from './commands/dataset';
import { register as train } from './commands/train';
import { register as rank } from './commands/rank';
import { register as pipeline } from './commands/pipeline';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('adkg')
    .description('Ad interactions → heterogeneous graph → TransRA embeddings → better CTR/CVR ranking')
    .version(pkg.version)
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: false });
  for (const reg of [ingest, erase, snapshot, cypher, simulate, dataset, train, rank, pipeline]) reg(program);
  return program;
}

export async function run(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
