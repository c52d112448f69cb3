import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('dataset')
    .description('(dataset: not built yet)')
    .action(() => {
      throw new Error('adkg dataset is not built yet');
    });
}
