/** TransR (Lin et al. 2015): v = M_r x_h + r − M_r x_t = M_r (x_h − x_t) + r, M_r ∈ R^{k×d}. */
import type { Interaction, RelationParams } from './interaction';
import type { Vec } from './norm';

let diffScratch = new Float64Array(0);
function diff(xh: Vec, xhOff: number, xt: Vec, xtOff: number, d: number): Float64Array {
  if (diffScratch.length < d) diffScratch = new Float64Array(d);
  for (let j = 0; j < d; j++) diffScratch[j] = xh[xhOff + j] - xt[xtOff + j];
  return diffScratch;
}

export const transrInteraction: Interaction = {
  name: 'transr',
  residual(xh: Vec, xhOff: number, xt: Vec, xtOff: number, rel: RelationParams, d: number, k: number, v: Float64Array): void {
    const M = rel.M!;
    const dd = diff(xh, xhOff, xt, xtOff, d);
    for (let i = 0; i < k; i++) {
      let s = rel.r[rel.rOff + i];
      const row = rel.MOff + i * d;
      for (let j = 0; j < d; j++) s += M[row + j] * dd[j];
      v[i] = s;
    }
  },
  backward(gv, xh, xhOff, xt, xtOff, rel, d, k, gxh, gxhOff, gxt, gxtOff, gr, grOff, gM, gMOff): void {
    const M = rel.M!;
    const dd = diff(xh, xhOff, xt, xtOff, d);
    for (let i = 0; i < k; i++) {
      const g = gv[i];
      gr[grOff + i] += g;
      if (g === 0) continue;
      const row = rel.MOff + i * d;
      const gRow = gMOff + i * d;
      for (let j = 0; j < d; j++) {
        const mg = M[row + j] * g;
        gxh[gxhOff + j] += mg;
        gxt[gxtOff + j] -= mg;
        if (gM) gM[gRow + j] += g * dd[j];
      }
    }
  },
};
