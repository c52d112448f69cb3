/** Initialising LID tables from pretrained vectors (a facet: the KGE export or contrastive pretraining). */
import { IdMapper } from './id-mapper';
import { LidTable } from './lid-table';

/**
 * Writes the pretrained vector of every id the mapper owns into its row. `lookup(id)` returns the
 * vector's row in `vectors` (width `dim`, must equal the table's) or -1. Ids without a vector keep
 * the table's initial values. In hash mode colliding ids get the mean of their vectors.
 * Returns how many ids found a vector.
 */
export function initTableFromVectors(
  table: LidTable,
  mapper: IdMapper,
  ids: Iterable<string>,
  lookup: (id: string) => number,
  vectors: Float32Array,
  dim: number,
): number {
  if (dim !== table.dim) throw new Error(`table ${table.name}: dim ${table.dim} cannot take ${dim}-dim pretrained vectors`);
  const sums = new Map<number, { v: Float64Array; n: number }>();
  let found = 0;
  for (const id of ids) {
    const src = lookup(id);
    if (src < 0) continue;
    found++;
    const row = mapper.row(id);
    let acc = sums.get(row);
    if (!acc) sums.set(row, (acc = { v: new Float64Array(dim), n: 0 }));
    for (let k = 0; k < dim; k++) acc.v[k] += vectors[src * dim + k];
    acc.n++;
  }
  const buf = new Float32Array(dim);
  for (const [row, acc] of sums) {
    for (let k = 0; k < dim; k++) buf[k] = acc.v[k] / acc.n;
    table.setRow(row, buf);
  }
  return found;
}
