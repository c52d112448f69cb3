import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('erase')
    .description('(erase: not built yet)')
    .action(() => {
      throw new Error('adkg erase is not built yet');
    });
}
