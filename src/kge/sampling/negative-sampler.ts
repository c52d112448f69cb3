/**
 * Negative sampling exactly as backend.ts specifies ("Negatives"): counter-based, so every backend
 * draws the same entities for the same (seed, epoch, position, negative index).
 */
import { counterFloat, counterInt } from '../../common/rng';
import { negativeStream, RNG_PURPOSE, type NegativeSample, type SamplingTables, type TrainBatch, type TrainConfig } from '../backends/backend';

/** Draws side and entity for counter c, corrupting the positive (h, r, t). */
function draw(
  config: TrainConfig, tables: SamplingTables, numEntities: number, sideStream: number, entityStream: number,
  c: number, h: number, r: number, t: number,
): { head: boolean; entity: number } {
  const u = counterFloat(config.seed, sideStream, c);
  const head = config.corruption === 'bernoulli' ? u < tables.headProb[r] : u < 0.5;
  if (config.corruption === 'typed') return { head, entity: drawTyped(config, tables, entityStream, c, head ? h : t) };
  return { head, entity: counterInt(config.seed, entityStream, c, numEntities) };
}

export function sampleNegatives(batch: TrainBatch, config: TrainConfig, tables: SamplingTables, numEntities: number): NegativeSample {
  const B = batch.heads.length;
  const n = config.negatives;
  const entities = new Int32Array(B * n);
  const corruptHead = new Uint8Array(B * n);
  const sideStream = negativeStream(batch.epoch, RNG_PURPOSE.SIDE);
  const entityStream = negativeStream(batch.epoch, RNG_PURPOSE.ENTITY);
  if (config.sampling === 'independent') {
    for (let b = 0; b < B; b++) {
      const p = batch.offset + b;
      for (let j = 0; j < n; j++) {
        const c = (p * n + j) >>> 0;
        const { head, entity } = draw(config, tables, numEntities, sideStream, entityStream, c, batch.heads[b], batch.relations[b], batch.tails[b]);
        entities[b * n + j] = entity;
        corruptHead[b * n + j] = head ? 1 : 0;
      }
    }
    return { entities, corruptHead };
  }
  const C = config.chunkSize;
  for (let s = 0; s < B; s += C) {
    const q = batch.offset + s;
    const h = batch.heads[s], r = batch.relations[s], t = batch.tails[s];
    const head = draw(config, tables, numEntities, sideStream, entityStream, (q * n) >>> 0, h, r, t).head;
    const end = Math.min(B, s + C);
    for (let j = 0; j < n; j++) {
      const c = (q * n + j) >>> 0;
      const entity = config.corruption === 'typed'
        ? drawTyped(config, tables, entityStream, c, head ? h : t)
        : counterInt(config.seed, entityStream, c, numEntities);
      for (let b = s; b < end; b++) {
        entities[b * n + j] = entity;
        corruptHead[b * n + j] = head ? 1 : 0;
      }
    }
  }
  return { entities, corruptHead };
}

/** An entity of the same type as `replaced`. */
function drawTyped(config: TrainConfig, tables: SamplingTables, entityStream: number, c: number, replaced: number): number {
  const type = tables.entityType[replaced];
  const start = tables.typeOffsets[type];
  const size = tables.typeOffsets[type + 1] - start;
  return tables.typeMembers[start + counterInt(config.seed, entityStream, c, size)];
}
