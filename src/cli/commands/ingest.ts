import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('ingest')
    .description('(ingest: not built yet)')
    .action(() => {
      throw new Error('adkg ingest is not built yet');
    });
}
