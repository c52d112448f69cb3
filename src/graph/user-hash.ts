import { createHash } from 'crypto';

/** Erased users are remembered only by this hash, so the tombstone does not keep the id it erased. */
export function userHash(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('hex');
}
