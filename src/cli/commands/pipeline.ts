import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('pipeline')
    .description('(pipeline: not built yet)')
    .action(() => {
      throw new Error('adkg pipeline is not built yet');
    });
}
