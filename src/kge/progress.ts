/** Progress bars for long work: cli-progress on a TTY (to stderr), silent otherwise. */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled || total <= 0) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta}s`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (d) => bar.update(d), stop: () => bar.stop() };
}
