import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('rank')
    .description('(rank: not built yet)')
    .action(() => {
      throw new Error('adkg rank is not built yet');
    });
}
