import { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function register(program: Command): void {
  program
    .command('cypher')
    .description('(cypher: not built yet)')
    .action(() => {
      throw new Error('adkg cypher is not built yet');
    });
}
