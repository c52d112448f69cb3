import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('train')
    .description('(train: not built yet)')
    .action(() => {
      throw new Error('adkg train is not built yet');
    });
}
