/**
 * The reference backend: plain TypeScript, double-precision arithmetic over the float32 tables,
 * deterministic for a seed. It follows backend.ts step by step; other backends must match it.
 */
import type {
  Availability, BackendFactory, BackendInit, Gradients, KgeBackend, NegativeSample, ScoreQueries, TrainBatch,
} from '../backend';
import { interactionFor, distance, distanceGradient, type Interaction, type RelationParams } from '../../interactions';
import { representationFor, type EntityGradients, type EntityRepresentation } from '../../representations';
import { sampleNegatives } from '../../sampling/negative-sampler';
import { positiveLoss } from '../../losses';
import { RowGradients, stepRows, clampRowsToUnitBall } from '../../optimizers';

interface BatchGradients {
  loss: number;
  entity: EntityGradients;
  relation: RowGradients;
  projection: RowGradients | null;
}

export class JsBackend implements KgeBackend {
  readonly name = 'js' as const;
  private readonly init: BackendInit;
  private readonly interaction: Interaction;
  private readonly rep: EntityRepresentation;
  private readonly grads: { entity: EntityGradients; relation: RowGradients; projection: RowGradients | null };
  /** Unique entities of a batch: entity → slot in X/GX, via a stamp so no clearing is needed. */
  private readonly entitySlot: Int32Array;
  private readonly entityStamp: Int32Array;
  private stamp = 0;

  constructor(init: BackendInit) {
    this.init = init;
    const { shape } = init.tables;
    this.interaction = interactionFor(shape.model);
    this.rep = representationFor(init.tables);
    const N = shape.numEntities;
    const R = shape.numRelations;
    this.grads = {
      entity: {
        entity: new RowGradients(N, shape.dim),
        anchor: shape.model === 'transra' ? new RowGradients(shape.numAnchors, shape.dim) : null,
        anchorLogit: shape.model === 'transra' ? new RowGradients(N, shape.anchorsPerEntity) : null,
      },
      relation: new RowGradients(R, shape.relDim),
      projection: shape.model === 'transe' ? null : new RowGradients(R, shape.relDim * shape.dim),
    };
    this.entitySlot = new Int32Array(N);
    this.entityStamp = new Int32Array(N);
  }

  private relParams(r: number): RelationParams {
    const { shape, relation, projection } = this.init.tables;
    const k = shape.relDim;
    return { r: relation, rOff: r * k, M: projection, MOff: r * k * shape.dim };
  }

  private resetGrads(): void {
    const g = this.grads;
    g.entity.entity.reset();
    g.entity.anchor?.reset();
    g.entity.anchorLogit?.reset();
    g.relation.reset();
    g.projection?.reset();
  }

  /** Loss and gradients of L for the batch with these negatives, accumulated into this.grads. */
  private forwardBackward(batch: TrainBatch, neg: NegativeSample): BatchGradients {
    const { shape } = this.init.tables;
    const cfg = this.init.config;
    const d = shape.dim, k = shape.relDim, n = cfg.negatives;
    const B = batch.heads.length;
    this.resetGrads();

    // Unique entities of the batch, composed once.
    const stampNow = ++this.stamp;
    const uniq: number[] = [];
    const slotOf = (e: number): number => {
      if (this.entityStamp[e] !== stampNow) {
        this.entityStamp[e] = stampNow;
        this.entitySlot[e] = uniq.length;
        uniq.push(e);
      }
      return this.entitySlot[e];
    };
    const hs = new Int32Array(B), ts = new Int32Array(B), negSlot = new Int32Array(B * n);
    for (let b = 0; b < B; b++) {
      hs[b] = slotOf(batch.heads[b]);
      ts[b] = slotOf(batch.tails[b]);
      for (let j = 0; j < n; j++) negSlot[b * n + j] = slotOf(neg.entities[b * n + j]);
    }
    const U = uniq.length;
    const X = new Float64Array(U * d);
    const GX = new Float64Array(U * d);
    for (let u = 0; u < U; u++) this.rep.compose(uniq[u], X, u * d);

    const v = new Float64Array(k);
    const gv = new Float64Array(k);
    const distPos = new Float64Array(B);
    const distNeg = new Float64Array(B * n);
    const weights = new Float64Array(n);
    const coefNeg = new Float64Array(n);
    const it = this.interaction;
    // The (head slot, tail slot) of positive b (j = -1) or of its negative j.
    const ends = (b: number, j: number): [number, number] => {
      if (j < 0) return [hs[b], ts[b]];
      const e = negSlot[b * n + j];
      return neg.corruptHead[b * n + j] ? [e, ts[b]] : [hs[b], e];
    };

    let loss = 0;
    for (let b = 0; b < B; b++) {
      const rp = this.relParams(batch.relations[b]);
      this.grads.relation.touch(batch.relations[b]);
      this.grads.projection?.touch(batch.relations[b]);
      for (let j = -1; j < n; j++) {
        const [hu, tu] = ends(b, j);
        it.residual(X, hu * d, X, tu * d, rp, d, k, v);
        const dist = distance(v, 0, k, cfg.norm);
        if (j < 0) distPos[b] = dist;
        else distNeg[b * n + j] = dist;
      }
    }
    for (let b = 0; b < B; b++) {
      const r = batch.relations[b];
      const rp = this.relParams(r);
      const [lb, coefPos] = positiveLoss(cfg, distPos[b], distNeg, b * n, n, weights, coefNeg);
      loss += lb;
      const sr = this.grads.relation.touch(r);
      const gM = this.grads.projection;
      const sM = gM ? gM.touch(r) : 0;
      for (let j = -1; j < n; j++) {
        const coef = (j < 0 ? coefPos : coefNeg[j]) / B;
        if (coef === 0) continue;
        const [hu, tu] = ends(b, j);
        it.residual(X, hu * d, X, tu * d, rp, d, k, v);
        distanceGradient(v, 0, k, j < 0 ? distPos[b] : distNeg[b * n + j], cfg.norm, coef, gv);
        it.backward(gv, X, hu * d, X, tu * d, rp, d, k, GX, hu * d, GX, tu * d,
          this.grads.relation.values, sr * k, gM ? gM.values : null, sM * k * d);
      }
    }
    for (let u = 0; u < U; u++) this.rep.backward(uniq[u], GX, u * d, this.grads.entity, cfg.learnAnchorWeights);
    return { loss: loss / B, ...this.grads };
  }

  async trainBatch(batch: TrainBatch): Promise<number> {
    const { tables, optimizer, config: cfg } = this.init;
    const neg = sampleNegatives(batch, cfg, this.init.sampling, tables.shape.numEntities);
    const g = this.forwardBackward(batch, neg);
    const eo = cfg.entityOptimizer, ro = cfg.relationOptimizer;
    stepRows(eo, tables.entity, optimizer.entity!, g.entity.entity, cfg.lr, batch.step);
    if (g.entity.anchor) stepRows(eo, tables.anchor!, optimizer.anchor!, g.entity.anchor, cfg.lr, batch.step);
    if (g.entity.anchorLogit && cfg.learnAnchorWeights) stepRows(eo, tables.anchorLogit!, optimizer.anchorLogit!, g.entity.anchorLogit, cfg.lr, batch.step);
    stepRows(ro, tables.relation, optimizer.relation!, g.relation, cfg.relationLr, batch.step);
    if (g.projection) stepRows(ro, tables.projection!, optimizer.projection!, g.projection, cfg.relationLr, batch.step);
    if (cfg.constraint === 'unit-ball') {
      const { dim, relDim } = tables.shape;
      clampRowsToUnitBall(tables.entity, dim, g.entity.entity);
      if (g.entity.anchor) clampRowsToUnitBall(tables.anchor!, dim, g.entity.anchor);
      clampRowsToUnitBall(tables.relation, relDim, g.relation);
    }
    return g.loss;
  }

  async sampleNegatives(batch: TrainBatch): Promise<NegativeSample> {
    return sampleNegatives(batch, this.init.config, this.init.sampling, this.init.tables.shape.numEntities);
  }

  async gradients(batch: TrainBatch): Promise<{ loss: number; gradients: Gradients }> {
    const { shape } = this.init.tables;
    const neg = sampleNegatives(batch, this.init.config, this.init.sampling, shape.numEntities);
    const g = this.forwardBackward(batch, neg);
    const out: Gradients = {
      entity: g.entity.entity.toDense(shape.numEntities),
      relation: g.relation.toDense(shape.numRelations),
    };
    if (g.projection) out.projection = g.projection.toDense(shape.numRelations);
    if (g.entity.anchor) out.anchor = g.entity.anchor.toDense(shape.numAnchors);
    if (g.entity.anchorLogit) out.anchorLogit = g.entity.anchorLogit.toDense(shape.numEntities);
    return { loss: g.loss, gradients: out };
  }

  /** All entity vectors x_e (composed for TransRA). */
  private composedEntities(): Float32Array | Float64Array {
    const { shape, entity } = this.init.tables;
    if (shape.model !== 'transra') return entity;
    const X = new Float64Array(shape.numEntities * shape.dim);
    for (let e = 0; e < shape.numEntities; e++) this.rep.compose(e, X, e * shape.dim);
    return X;
  }

  async scoreAll(queries: ScoreQueries, out: Float32Array): Promise<void> {
    const { shape, relation, projection } = this.init.tables;
    const N = shape.numEntities, d = shape.dim, k = shape.relDim;
    const Q = queries.known.length;
    if (out.length < Q * N) throw new Error(`scoreAll: out has ${out.length} floats, needs ${Q}×${N}`);
    const X = this.composedEntities();
    const l1 = this.init.config.norm === 'l1';
    const sign = queries.side === 'tail' ? 1 : -1;
    const q = new Float64Array(k);
    // Distances between q and every row of P (N×k), into out[qi·N ..).
    const against = (P: Float32Array | Float64Array, qi: number): void => {
      const o = qi * N;
      for (let e = 0; e < N; e++) {
        let s = 0;
        const base = e * k;
        if (l1) for (let i = 0; i < k; i++) s += Math.abs(q[i] - P[base + i]);
        else {
          for (let i = 0; i < k; i++) {
            const x = q[i] - P[base + i];
            s += x * x;
          }
          s = Math.sqrt(s);
        }
        out[o + e] = s;
      }
    };
    if (shape.model === 'transe') {
      // tail: ‖x_h + r − x_e‖; head: ‖x_e + r − x_t‖ = ‖(x_t − r) − x_e‖.
      for (let qi = 0; qi < Q; qi++) {
        const kb = queries.known[qi] * d, rb = queries.relations[qi] * k;
        for (let i = 0; i < d; i++) q[i] = X[kb + i] + sign * relation[rb + i];
        against(X, qi);
      }
      return;
    }
    // TransR/TransRA: project every entity once per relation present in this call.
    const byRel = new Map<number, number[]>();
    for (let qi = 0; qi < Q; qi++) {
      const r = queries.relations[qi];
      let l = byRel.get(r);
      if (!l) byRel.set(r, (l = []));
      l.push(qi);
    }
    const P = new Float64Array(N * k);
    const M = projection!;
    for (const [r, list] of byRel) {
      const mb = r * k * d;
      for (let e = 0; e < N; e++) {
        for (let i = 0; i < k; i++) {
          let s = 0;
          const row = mb + i * d;
          for (let j = 0; j < d; j++) s += M[row + j] * X[e * d + j];
          P[e * k + i] = s;
        }
      }
      for (const qi of list) {
        const kn = queries.known[qi];
        // tail: M x_h + r − P_e; head: P_e + r − M x_t = −((M x_t − r) − P_e).
        for (let i = 0; i < k; i++) q[i] = P[kn * k + i] + sign * relation[r * k + i];
        against(P, qi);
      }
    }
  }

  dispose(): void {
    /* nothing to free */
  }
}

export const jsBackendFactory: BackendFactory = {
  name: 'js',
  available: (): Availability => ({ ok: true }),
  create: (init: BackendInit): KgeBackend => new JsBackend(init),
};
