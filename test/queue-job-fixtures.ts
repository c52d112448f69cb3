/**
 * One piece of work run as a job of a real BullMQ Worker on the project's Redis, with a short lock: the lock is
 * renewed from the worker's event loop every lockMs / 2, so work that keeps the loop busy for longer than lockMs loses
 * it and the job stalls, while work that yields (an N-API async call on the thread pool) keeps it.
 */
import { Queue, Worker, type Job } from 'bullmq';
import Redis from 'ioredis';
import { serviceConfig } from '../src/common';

export interface QueueJobOutcome<T> {
  /** The job's state in Redis once the worker has finished with it: 'completed', or 'failed' when it stalled. */
  state: string;
  result: T | undefined;
  failedReason: string | undefined;
  /** Jobs the worker's stalled checker found without a lock. */
  stalled: string[];
  /** The worker's 'error' events (a processor that returns after losing its lock gets "Missing lock"). */
  errors: string[];
  /** Wall time of the work itself, in the processor. */
  workMs: number;
}

let queues = 0;

/**
 * Fails in seconds, naming the URL and the fix, when Redis does not answer: a worker's clients retry forever
 * (maxRetriesPerRequest: null, as BullMQ requires), so without this a missing Redis shows up as a jest timeout.
 */
async function requireRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  probe.on('error', (e: Error) => (cause ||= e.message)); // connect() itself rejects with only "Connection is closed"
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`these tests need the real Redis at ${url} (npm run services:up): ${cause || (e as Error).message}`);
  } finally {
    probe.disconnect();
  }
}

/** Runs work() as the one job of a fresh queue whose worker has lockDuration lockMs and stalls a job on its first miss. */
export async function runAsQueueJob<T>(work: () => Promise<T> | T, lockMs: number, timeoutMs = 120_000): Promise<QueueJobOutcome<T>> {
  const url = serviceConfig().redisUrl;
  await requireRedis(url);
  const name = `adkg-test-lock-${process.pid}-${Date.now()}-${queues++}`;
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const workerClient = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: client });
  const stalled: string[] = [];
  const errors: string[] = [];
  let workMs = -1;
  const worker = new Worker(
    name,
    async () => {
      const t0 = Date.now();
      try {
        return await work();
      } finally {
        workMs = Date.now() - t0;
      }
    },
    { connection: workerClient, lockDuration: lockMs, stalledInterval: Math.max(50, Math.floor(lockMs / 2)), maxStalledCount: 0, autorun: false },
  );
  worker.on('stalled', (id) => stalled.push(id));
  worker.on('error', (e) => errors.push(e.message));
  try {
    const job = await queue.add('work', {});
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${job.id} neither completed nor failed in ${timeoutMs} ms`)), timeoutMs);
      const end = (j: Job | undefined) => {
        if (j?.id !== job.id) return;
        clearTimeout(timer);
        resolve();
      };
      worker.on('completed', end);
      worker.on('failed', end);
    });
    void worker.run();
    await done;
    const stored = await queue.getJob(job.id!);
    return {
      state: stored ? await stored.getState() : 'missing',
      result: stored?.returnvalue as T | undefined,
      failedReason: stored?.failedReason,
      stalled,
      errors,
      workMs,
    };
  } finally {
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
    client.disconnect();
    workerClient.disconnect();
  }
}
