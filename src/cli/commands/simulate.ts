import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('simulate')
    .description('(simulate: not built yet)')
    .action(() => {
      throw new Error('adkg simulate is not built yet');
    });
}
