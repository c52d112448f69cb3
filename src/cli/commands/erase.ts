import { Command } from 'commander';
import { openStore } from '../../graph';
import { addStoreOptions, StoreFlags, storeOptions } from '../graph-store-options';

interface EraseFlags extends StoreFlags {
  user: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('erase')
    .description('Erase a user: the node, its edges and its events; a hashed tombstone makes later ingests drop the user\'s events')
    .requiredOption('--user <id>', 'the userId to erase');
  addStoreOptions(cmd)
    .option('--json', 'print one JSON object {userId, userFound, events}')
    .action(async (flags: EraseFlags) => {
      if (flags.user.trim() === '') throw new Error('--user must not be empty');
      // A mistyped --db must not quietly record the erasure in a new, empty store while the real one keeps the user.
      const store = await openStore({ ...storeOptions(flags), mustExist: `erase user ${flags.user} from` });
      let result;
      try {
        result = await store.eraseUser(flags.user);
      } finally {
        await store.close();
      }
      if (flags.json) console.log(JSON.stringify({ userId: flags.user, ...result }));
      else if (result.userFound) console.log(`erased user ${flags.user} from ${store.kind} (${store.location}): ${result.events} events removed; later events of this user will be dropped`);
      else console.log(`no user ${flags.user} in ${store.kind} (${store.location}); recorded the erasure, so later events of this user will be dropped`);
    });
}
