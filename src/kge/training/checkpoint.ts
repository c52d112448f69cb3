/**
 * Checkpoints: everything needed to continue training exactly where it stopped — tables, optimizer
 * slots, the anchor index, step counters and history — as .npy files plus state.json. Written to a
 * temporary directory and renamed, so a crash never leaves a half checkpoint.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { AnchorIndex, AnchorSelectionInfo } from '../../common/anchor-index';
import type { ModelShape, ModelTables, OptimizerState, TableName } from '../backends/backend';
import { TABLE_NAMES } from '../backends/backend';
import { readNpy, writeNpy } from '../export/npy';

export const CHECKPOINT_FORMAT = 'adkg.kge-checkpoint';

export interface CheckpointState<S = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  shape: ModelShape;
  /** Trainer state (epochs done, step, options, history), opaque here. */
  trainer: S;
  anchorSelection: AnchorSelectionInfo | null;
  created: string;
}

export interface Checkpoint<S = unknown> {
  tables: ModelTables;
  optimizer: OptimizerState;
  state: CheckpointState<S>;
}

function tableArray(tables: ModelTables, name: TableName): Float32Array | null {
  return tables[name];
}

export async function saveCheckpoint<S>(dir: string, tables: ModelTables, optimizer: OptimizerState, trainer: S): Promise<void> {
  const tmp = `${dir}.tmp`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  const { shape } = tables;
  for (const name of TABLE_NAMES) {
    const a = tableArray(tables, name);
    if (!a) continue;
    await writeNpy(path.join(tmp, `${name}.npy`), a, [a.length]);
    const slots = optimizer[name];
    if (slots) {
      await writeNpy(path.join(tmp, `${name}.s1.npy`), slots.s1, [slots.s1.length]);
      if (slots.s2) await writeNpy(path.join(tmp, `${name}.s2.npy`), slots.s2, [slots.s2.length]);
    }
  }
  const ai = tables.anchorIndex;
  if (ai) {
    await writeNpy(path.join(tmp, 'anchor_entities.npy'), ai.anchors, [ai.anchors.length]);
    await writeNpy(path.join(tmp, 'anchor_of.npy'), ai.anchorOf, [ai.numEntities, ai.k]);
    await writeNpy(path.join(tmp, 'anchor_hops.npy'), ai.hops, [ai.numEntities, ai.k]);
  }
  const state: CheckpointState<S> = { format: CHECKPOINT_FORMAT, shape, trainer, anchorSelection: ai?.selection ?? null, created: new Date().toISOString() };
  await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
}

export async function checkpointExists(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, 'state.json'));
    return true;
  } catch {
    return false;
  }
}

export async function loadCheckpoint<S>(dir: string): Promise<Checkpoint<S>> {
  let state: CheckpointState<S>;
  try {
    state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState<S>;
  } catch (e) {
    throw new Error(`${dir} is not a checkpoint: cannot read state.json (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${dir}/state.json: format ${JSON.stringify(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  const f32 = async (name: string): Promise<Float32Array> => {
    const { data } = await readNpy(path.join(dir, name));
    if (!(data instanceof Float32Array)) throw new Error(`${dir}/${name}: expected float32`);
    return data;
  };
  const i32 = async (name: string): Promise<Int32Array> => {
    const { data } = await readNpy(path.join(dir, name));
    if (!(data instanceof Int32Array)) throw new Error(`${dir}/${name}: expected int32`);
    return data;
  };
  const { shape } = state;
  let anchorIndex: AnchorIndex | null = null;
  if (shape.model === 'transra') {
    anchorIndex = {
      numEntities: shape.numEntities,
      k: shape.anchorsPerEntity,
      anchors: await i32('anchor_entities.npy'),
      anchorOf: await i32('anchor_of.npy'),
      hops: await i32('anchor_hops.npy'),
      selection: state.anchorSelection ?? { byType: [], byDegree: 0, maxHops: 0 },
    };
  }
  const has = async (name: string): Promise<boolean> => fs.access(path.join(dir, name)).then(() => true, () => false);
  const tables: ModelTables = {
    shape,
    entity: await f32('entity.npy'),
    relation: await f32('relation.npy'),
    projection: (await has('projection.npy')) ? await f32('projection.npy') : null,
    anchor: (await has('anchor.npy')) ? await f32('anchor.npy') : null,
    anchorOf: anchorIndex?.anchorOf ?? null,
    anchorLogit: (await has('anchorLogit.npy')) ? await f32('anchorLogit.npy') : null,
    anchorIndex,
  };
  const optimizer: OptimizerState = {};
  for (const name of TABLE_NAMES) {
    if (!(await has(`${name}.s1.npy`))) continue;
    optimizer[name] = { s1: await f32(`${name}.s1.npy`), s2: (await has(`${name}.s2.npy`)) ? await f32(`${name}.s2.npy`) : null };
  }
  return { tables, optimizer, state };
}
