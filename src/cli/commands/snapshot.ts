import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('snapshot')
    .description('(snapshot: not built yet)')
    .action(() => {
      throw new Error('adkg snapshot is not built yet');
    });
}
