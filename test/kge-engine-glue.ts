/**
 * The engine objects' argument checks (native/src/engine_napi.h, shared by the native and cuda addons), called
 * on the raw addon objects as a caller that skips the TS backends would: every bad argument is refused by
 * name, before the engine sees it, and the tables are untouched. Registered by kge-native-backend.test.ts and,
 * through kge-cuda-battery.ts, by the cuda tests: kge-cuda-emulated.test.ts (the host emulation, in CI) and
 * kge-cuda-backend.test.ts (the real addon, where a GPU is).
 */
import type { BackendInit } from '../src/kge/backends/backend';
import { engineConfig, engineTables, type EngineHandle } from '../src/kge/backends/engine-backend';
import { baseConfig, batches, cloneInit, makeInit, randomGraph } from './kge-backend-fixtures';

export interface GlueSubject {
  /** The addon's engine class, e.g. loadAddon().NativeEngine. */
  Engine: new (...args: object[]) => EngineHandle;
  /** What the addon's constructor takes after (config, tables, optimizer, sampling): cuda's options. */
  extraArgs: object[];
  /** Config fields only this addon reads (native: threads). */
  extraConfig: object;
  /** The prefix of its own errors, e.g. 'cuda backend'. */
  label: string;
  /** The constructor's error when its objects are missing, e.g. 'NativeEngine(config, tables, optimizer, sampling) expects four objects'. */
  usage: string;
}

export function engineGlueCases(subject: () => GlueSubject): void {
  const g = randomGraph(40, 3, 120, 11);
  const args = (init: BackendInit, config: object = {}, tables: object = {}, sampling: object = {}): object[] => {
    const s = subject();
    return [
      { ...engineConfig(init), ...s.extraConfig, ...config }, { ...engineTables(init), ...tables }, init.optimizer,
      { ...init.sampling, ...sampling }, ...s.extraArgs,
    ];
  };
  const make = (init: BackendInit) => new (subject().Engine)(...args(init));
  const transra = () => makeInit(g, 'transra', baseConfig({}));

  test('the constructor refuses missing objects, non-numbers, wrong element types and short tables by name', () => {
    const s = subject();
    const init = transra();
    expect(() => new s.Engine(...args(init).slice(0, 3))).toThrow(s.usage);
    expect(() => new s.Engine(...args(init, { dim: '16' }))).toThrow('config.dim must be a finite number');
    expect(() => new s.Engine(...args(init, { margin: NaN }))).toThrow('config.margin must be a finite number');
    expect(() => new s.Engine(...args(init, { numEntities: 0 }))).toThrow('entities, relations, dims, negatives and chunkSize must be positive');
    expect(() => new s.Engine(...args(init, {}, { entity: new Float64Array(init.tables.entity) }))).toThrow('tables.entity has the wrong element type');
    expect(() => new s.Engine(...args(init, {}, { relation: init.tables.relation.subarray(1) })))
      .toThrow(`tables.relation has ${init.tables.relation.length - 1} elements, needs ${init.tables.relation.length}`);
    expect(() => new s.Engine(...args(init, {}, { projection: undefined }))).toThrow('tables.projection must be a typed array');
    expect(() => new s.Engine(...args(init, {}, {}, { headProb: new Float32Array(g.R) }))).toThrow('sampling.headProb has the wrong element type');
    const badAnchor = init.tables.anchorOf!.slice();
    badAnchor[5] = 7; // makeInit's TransRA has 7 anchors
    expect(() => new s.Engine(...args(init, {}, { anchorOf: badAnchor })))
      .toThrow('tables.anchorOf[5] = 7 is neither −1 (no anchor) nor in [0, numAnchors = 7)');
    const optimizer = { ...init.optimizer, anchor: undefined };
    expect(() => new s.Engine(args(init)[0], args(init)[1], optimizer, ...args(init).slice(3))).toThrow('optimizer.anchor is missing');
  });

  test('calls refuse bad batches and arguments by name, and leave the tables as they were', async () => {
    const s = subject();
    const init = cloneInit(transra());
    const before = { entity: init.tables.entity.slice(), relation: init.tables.relation.slice(), projection: init.tables.projection!.slice() };
    const engine = make(init);
    const b = batches(g, 32, 1)[0];
    const heads = b.heads.slice();
    heads[3] = g.N;
    await expect(async () => engine.trainBatch(heads, b.relations, b.tails, 0, 0, 1)).rejects.toThrow(`${s.label}: batch `);
    await expect(async () => engine.trainBatch(b.heads, b.relations, Float32Array.from(b.tails) as never, 0, 0, 1))
      .rejects.toThrow('batch.tails has the wrong element type');
    await expect(async () => engine.trainBatch(b.heads, b.relations, b.tails, 'first' as never, 0, 1)).rejects.toThrow('batch.epoch must be a finite number');
    await expect(async () => engine.sampleNegatives(b.heads, b.relations, b.tails, 0, 0, 1, new Int32Array(1), new Uint8Array(1)))
      .rejects.toThrow(`entities has 1 elements, needs ${b.heads.length * init.config.negatives}`);
    const known = Int32Array.of(0, 1), rels = Int32Array.of(0, 1);
    await expect(async () => engine.scoreAll(2, known, rels, new Float32Array(2 * g.N))).rejects.toThrow('scoreAll: side must be 1 (tail) or 0 (head)');
    await expect(async () => engine.scoreAll(1, known, Int32Array.of(0, g.R), new Float32Array(2 * g.N))).rejects.toThrow('scoreAll: query 1 is out of range');
    await expect(async () => engine.scoreAll(1, known, rels, new Float32Array(g.N))).rejects.toThrow(`out has ${g.N} elements, needs ${2 * g.N}`);
    await expect(async () => engine.gradients(b.heads, b.relations, b.tails, 0, 0, 1, { entity: new Float64Array(g.N * 16) }))
      .rejects.toThrow('gradients: an output array for a table of this model is missing');
    expect(Array.from(init.tables.entity)).toEqual(Array.from(before.entity));
    expect(Array.from(init.tables.relation)).toEqual(Array.from(before.relation));
    expect(Array.from(init.tables.projection!)).toEqual(Array.from(before.projection));
    // The same engine still trains after the refusals.
    expect(Number.isFinite(await engine.trainBatch(b.heads, b.relations, b.tails, 0, 0, 1))).toBe(true);
    engine.dispose();
  });

  test('one call at a time, and nothing after dispose()', async () => {
    const s = subject();
    const engine = make(cloneInit(transra()));
    const b = batches(g, 32, 1)[0];
    const first = engine.trainBatch(b.heads, b.relations, b.tails, 0, 0, 1);
    expect(() => engine.trainBatch(b.heads, b.relations, b.tails, 0, 0, 2)).toThrow(`${s.label}: a call is already in flight (await the previous one)`);
    expect(() => engine.dispose()).toThrow(`${s.label}: dispose() while a call is in flight`);
    expect(Number.isFinite(await first)).toBe(true);
    engine.dispose();
    expect(() => engine.trainBatch(b.heads, b.relations, b.tails, 0, 0, 2)).toThrow(`${s.label}: this engine was disposed`);
  });
}
