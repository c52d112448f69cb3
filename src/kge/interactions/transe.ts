/** TransE (Bordes et al. 2013): v = x_h + r − x_t. */
import type { Interaction, RelationParams } from './interaction';
import type { Vec } from './norm';

export const transeInteraction: Interaction = {
  name: 'transe',
  residual(xh: Vec, xhOff: number, xt: Vec, xtOff: number, rel: RelationParams, d: number, _k: number, v: Float64Array): void {
    const { r, rOff } = rel;
    for (let i = 0; i < d; i++) v[i] = xh[xhOff + i] + r[rOff + i] - xt[xtOff + i];
  },
  backward(gv, _xh, _xhOff, _xt, _xtOff, _rel, d, _k, gxh, gxhOff, gxt, gxtOff, gr, grOff): void {
    for (let i = 0; i < d; i++) {
      const g = gv[i];
      gxh[gxhOff + i] += g;
      gxt[gxtOff + i] -= g;
      gr[grOff + i] += g;
    }
  },
};
