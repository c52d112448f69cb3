// Kernel implementations, included once per instruction set (see kernels.h). Raw pointers only, no
// std templates: the two copies must not share any out-of-line code.
#include <math.h>
#include "kernels.h"
#include "simd.h"

namespace {

float dotK(const float* a, const float* b, int n) { return dot(a, b, n); }

// ---- GEMM: C[i] (+)= Σ_q A[i][q] · B[q], row pointers, register tile ROWS × 2W columns ----
template <int ROWS>
inline void gemmTile(int j, int p, const float* const* A, const float* const* B, float* const* C, bool acc) {
  vf8 c0[ROWS], c1[ROWS];
  for (int i = 0; i < ROWS; i++) c0[i] = c1[i] = splat8(0.f);
  for (int q = 0; q < p; q++) {
    const float* b = B[q] + j;
    vf8 b0 = load8(b), b1 = load8(b + W);
    for (int i = 0; i < ROWS; i++) {
      vf8 a = splat8(A[i][q]);
      c0[i] += a * b0;
      c1[i] += a * b1;
    }
  }
  for (int i = 0; i < ROWS; i++) {  // row by row, so rows that alias the same memory add up correctly
    float* c = C[i] + j;
    if (acc) {
      store8(c, load8(c) + c0[i]);
      store8(c + W, load8(c + W) + c1[i]);
    } else {
      store8(c, c0[i]);
      store8(c + W, c1[i]);
    }
  }
}

template <int ROWS>
inline void gemmRows(int n, int p, const float* const* A, const float* const* B, float* const* C, bool acc) {
  int j = 0;
  for (; j + 2 * W <= n; j += 2 * W) gemmTile<ROWS>(j, p, A, B, C, acc);
  for (; j < n; j++) {
    for (int i = 0; i < ROWS; i++) {
      float s = 0.f;
      for (int q = 0; q < p; q++) s += A[i][q] * B[q][j];
      if (acc) C[i][j] += s; else C[i][j] = s;
    }
  }
}

void gemmK(int m, int n, int p, const float* const* A, const float* const* B, float* const* C, bool acc) {
  int i = 0;
  for (; i + 6 <= m; i += 6) gemmRows<6>(n, p, A + i, B, C + i, acc);
  for (; i + 4 <= m; i += 4) gemmRows<4>(n, p, A + i, B, C + i, acc);
  for (; i < m; i++) gemmRows<1>(n, p, A + i, B, C + i, acc);
}

// ‖ph + r − pt‖ (l1 or l2)
inline float pairDistance(const float* ph, const float* r, const float* pt, int k, int norm) {
  vf8 s = splat8(0.f);
  int i = 0;
  if (norm == adkg::NORM_L2) {
    for (; i + W <= k; i += W) {
      vf8 v = load8(ph + i) + load8(r + i) - load8(pt + i);
      s += v * v;
    }
    float t = hsum8(s);
    for (; i < k; i++) {
      float v = ph[i] + r[i] - pt[i];
      t += v * v;
    }
    return fsqrt(t);
  }
  // l1 in double, as the js reference: v_i = 0 (sign 0) and hinge ties must come out the same there.
  vd8 acc = {};
  for (; i + 8 <= k; i += 8) acc += absD8(loadD8(ph + i) + loadD8(r + i) - loadD8(pt + i));
  double t = hsumD8(acc);
  for (; i < k; i++) t += __builtin_fabs((double)ph[i] + (double)r[i] - (double)pt[i]);
  return (float)t;
}

// g = ∂dist/∂v at v = ph + r − pt, unscaled (l2: v / dist, 0 at dist 0; l1: sign(v) from v in double).
inline void distanceGradient(const float* ph, const float* r, const float* pt, int k, int norm, float dist, float* g) {
  int i = 0;
  if (norm == adkg::NORM_L2) {
    float inv = dist == 0.f ? 0.f : 1.f / dist;
    vf8 vi = splat8(inv);
    for (; i + W <= k; i += W) store8(g + i, vi * (load8(ph + i) + load8(r + i) - load8(pt + i)));
    for (; i < k; i++) g[i] = inv * (ph[i] + r[i] - pt[i]);
    return;
  }
  for (; i + 8 <= k; i += 8) storeH8(g + i, signH8(loadD8(ph + i) + loadD8(r + i) - loadD8(pt + i)));
  for (; i < k; i++) {
    double v = (double)ph[i] + (double)r[i] - (double)pt[i];
    g[i] = v > 0 ? 1.f : (v < 0 ? -1.f : 0.f);
  }
}

// y += c·a (+ c2·b when b)
inline void axpy2(float* y, float c, const float* a, float c2, const float* b, int k) {
  int i = 0;
  vf8 vc = splat8(c), vc2 = splat8(c2);
  if (b) {
    for (; i + W <= k; i += W) store8(y + i, load8(y + i) + vc * load8(a + i) + vc2 * load8(b + i));
    for (; i < k; i++) y[i] += c * a[i] + c2 * b[i];
  } else {
    for (; i + W <= k; i += W) store8(y + i, load8(y + i) + vc * load8(a + i));
    for (; i < k; i++) y[i] += c * a[i];
  }
}

// gv = c·∂dist/∂v at v = ph + r − pt; dh += gv; dt −= gv; dr += gv.
inline void pairGradient(const float* ph, const float* r, const float* pt, int k, int norm, float c, float dist,
                         float* dh, float* dt, float* dr) {
  int i = 0;
  if (norm == adkg::NORM_L2) {
    if (dist == 0.f) return;
    float cc = c / dist;
    vf8 vc = splat8(cc);
    for (; i + W <= k; i += W) {
      vf8 g = vc * (load8(ph + i) + load8(r + i) - load8(pt + i));
      store8(dh + i, load8(dh + i) + g);
      store8(dt + i, load8(dt + i) - g);
      store8(dr + i, load8(dr + i) + g);
    }
    for (; i < k; i++) {
      float g = cc * (ph[i] + r[i] - pt[i]);
      dh[i] += g;
      dt[i] -= g;
      dr[i] += g;
    }
    return;
  }
  for (; i + 8 <= k; i += 8) {
    vf8h g = c * signH8(loadD8(ph + i) + loadD8(r + i) - loadD8(pt + i));
    storeH8(dh + i, loadH8(dh + i) + g);
    storeH8(dt + i, loadH8(dt + i) - g);
    storeH8(dr + i, loadH8(dr + i) + g);
  }
  for (; i < k; i++) {
    double v = (double)ph[i] + (double)r[i] - (double)pt[i];
    float g = v > 0 ? c : (v < 0 ? -c : 0.f);
    dh[i] += g;
    dt[i] -= g;
    dr[i] += g;
  }
}

inline float roundTo12Bits(float x) {
  if (x == 0.f) return x;
  int e;
  float m = frexpf(x, &e);  // x = m·2^e, 0.5 ≤ |m| < 1
  return ldexpf(nearbyintf(m * 4096.f) / 4096.f, e);
}

inline double softplusD(double x) { return (x > 0 ? x : 0) + log1p(exp(-(x > 0 ? x : -x))); }
inline double sigmoidD(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }
// softplus(x) and sigmoid(x) from one expf(−|x|), in float (the hot per-negative path).
inline void softplusSigmoid(float x, float* sp, float* sg) {
  float e = expf(-fabsf_(x));
  *sp = (x > 0.f ? x : 0.f) + log1pf(e);
  float inv = 1.f / (1.f + e);
  *sg = x >= 0.f ? inv : e * inv;
}

void groupForwardBackwardK(const adkg::GroupArgs& g) {
  const int d = g.d, k = g.k, m = g.m, n = g.n, B = g.numPos;
  float* s = g.scratch;
  float* P = s;     s += (int64_t)m * k;
  float* dP = s;    s += (int64_t)m * k;
  float* dPT = s;   s += (int64_t)m * k;
  float* MT = s;    s += (int64_t)d * k;
  float* dist = s;  s += (int64_t)B * (n + 1);
  float* coef = s;  s += (int64_t)B * (n + 1);  // then 3k floats for the margin gradient vectors
  const int maxDim = m > d ? (m > k ? m : k) : (d > k ? d : k);
  const float** rowsA = g.ptrScratch;
  const float** rowsB = g.ptrScratch + maxDim;
  float** rowsC = (float**)(g.ptrScratch + 2 * maxDim);
  float** rowsD = (float**)(g.ptrScratch + 3 * maxDim);
  float** rowsE = (float**)(g.ptrScratch + 4 * maxDim);  // outputs of the shared-negative GEMMs

  const float* const* Prow;
  float* const* dProw;
  if (g.project) {
    // P = X Mᵀ, one GEMM for every local row (PyTorch-BigGraph's "project once" for shared negatives).
    for (int a = 0; a < k; a++)
      for (int j = 0; j < d; j++) MT[(int64_t)j * k + a] = g.M[(int64_t)a * d + j];
    for (int j = 0; j < d; j++) rowsB[j] = MT + (int64_t)j * k;
    for (int i = 0; i < m; i++) rowsC[i] = P + (int64_t)i * k;
    gemmK(m, k, d, g.X, rowsB, rowsC, false);
    zero(dP, m * k);
    for (int i = 0; i < m; i++) rowsD[i] = dP + (int64_t)i * k;
    Prow = rowsC;
    dProw = rowsD;
  } else {
    Prow = g.X;
    dProw = g.dX;
  }

  // Shared negatives under l2, as PyTorch-BigGraph: the chunk's negative distances are
  // ‖q_b − E_j‖ = √(‖q‖² + ‖E‖² − 2 q·E) with one GEMM, where q_b = P_h + r (tail side) or P_t − r (head
  // side) and E_j the negatives' rows; their gradients are two more GEMMs. Positives stay pairwise.
  const bool gemmNegatives = g.shared && g.norm == adkg::NORM_L2 && B >= 4;
  float* gQ = s;   s += (int64_t)B * k;
  float* gdQ = s;  s += (int64_t)B * k;
  float* gET = s;  s += (int64_t)k * n;
  float* gdE = s;  s += (int64_t)k * n;
  float* gS = s;   s += (int64_t)B * n;
  float* gA = s;   s += (int64_t)B * n;
  float* gAT = s;  s += (int64_t)B * n;
  float* gsum = s; s += B + n;
  const bool headSide = g.negHead[0] != 0;
  if (gemmNegatives) {
    const float sgn = headSide ? -1.f : 1.f;
    for (int b = 0; b < B; b++) {
      const float* p = Prow[headSide ? g.posT[b] : g.posH[b]];
      float* q = gQ + (int64_t)b * k;
      for (int i = 0; i < k; i++) q[i] = p[i] + sgn * g.r[i];
      rowsA[b] = q;
      rowsE[b] = gS + (int64_t)b * n;
    }
    for (int j = 0; j < n; j++) {
      const float* e = Prow[g.negRow[j]];
      for (int i = 0; i < k; i++) gET[(int64_t)i * n + j] = e[i];
    }
    for (int i = 0; i < k; i++) rowsB[i] = gET + (int64_t)i * n;
    gemmK(B, n, k, rowsA, rowsB, rowsE, false);
    float* ee = gsum + B;  // ‖E_j‖², reused below as column sums once distances are done
    for (int j = 0; j < n; j++) ee[j] = dot(Prow[g.negRow[j]], Prow[g.negRow[j]], k);
    for (int b = 0; b < B; b++) {
      const float* q = gQ + (int64_t)b * k;
      float qq = dot(q, q, k);
      float* db = dist + (int64_t)b * (n + 1);
      const float* sb = gS + (int64_t)b * n;
      for (int j = 0; j < n; j++) {
        float d2 = qq + ee[j] - 2.f * sb[j];
        db[1 + j] = fsqrt(d2 > 0.f ? d2 : 0.f);
      }
    }
  }

  // Distances: positive b at dist[b(n+1)], its negative j at dist[b(n+1) + 1 + j].
  for (int b = 0; b < B; b++) {
    const float* ph = Prow[g.posH[b]];
    const float* pt = Prow[g.posT[b]];
    float* db = dist + (int64_t)b * (n + 1);
    db[0] = pairDistance(ph, g.r, pt, k, g.norm);
    if (gemmNegatives) continue;
    const int* nr = g.negRow + (int64_t)b * n;
    const uint8_t* nh = g.negHead + (int64_t)b * n;
    for (int j = 0; j < n; j++) {
      if (j + 4 < n) prefetchRow(Prow[nr[j + 4]], k);
      db[1 + j] = nh[j] ? pairDistance(Prow[nr[j]], g.r, pt, k, g.norm) : pairDistance(ph, g.r, Prow[nr[j]], k, g.norm);
    }
  }

  // Loss and ∂L/∂dist (weights w are constants: no gradient through the self-adversarial softmax).
  double lossSum = 0;
  const double scale = g.scale, gamma = g.margin, tau = g.tau;
  for (int b = 0; b < B; b++) {
    const float* db = dist + (int64_t)b * (n + 1);
    float* cb = coef + (int64_t)b * (n + 1);
    double dp = db[0];
    double mx = -1e300, z = 0;
    if (tau != 0) {
      for (int j = 0; j < n; j++) mx = fmax(mx, -tau * db[1 + j]);
      for (int j = 0; j < n; j++) z += exp(-tau * db[1 + j] - mx);
    }
    double lb = 0, cpos = 0;
    for (int j = 0; j < n; j++) {
      double w = tau != 0 ? exp(-tau * db[1 + j] - mx) / z : 1.0 / n;
      double dn = db[1 + j];
      if (g.loss == adkg::LOSS_MARGIN) {
        double h = gamma + dp - dn;
        if (h > 0) {
          lb += w * h;
          cpos += w;
          cb[1 + j] = (float)(-w * scale);
        } else {
          cb[1 + j] = 0.f;
        }
      } else {
        float sp, sg;
        softplusSigmoid((float)(gamma - dn), &sp, &sg);
        lb += 0.5 * w * sp;
        cb[1 + j] = (float)(-0.5 * w * sg * scale);
      }
    }
    if (g.loss == adkg::LOSS_SOFTPLUS) {
      lb += 0.5 * softplusD(dp - gamma);
      cpos = 0.5 * sigmoidD(dp - gamma);
    }
    cb[0] = (float)(cpos * scale);
    lossSum += lb * scale;
  }
  *g.lossSum += lossSum;
  if (g.norm == adkg::NORM_L1) {
    // l1 gradients are sums of ±c. With c rounded to 12 significant bits those sums are exact in float32
    // (up to 4096 terms a coordinate), so contributions that cancel exactly give exactly 0, as they
    // (nearly) do in the float64 reference; a float32 rounding residual there would be blown up by
    // Adagrad (g/(√g² + 1e-10)) into a full step. The rounding moves c by < 1.3e-4 relative.
    for (int64_t i = 0; i < (int64_t)B * (n + 1); i++) coef[i] = roundTo12Bits(coef[i]);
  }

  // ∂L/∂(projected rows) and ∂L/∂r.
  float* gpos = s;
  float* gneg = s + k;
  float* gdiff = s + 2 * k;
  for (int b = 0; b < B; b++) {
    const float* db = dist + (int64_t)b * (n + 1);
    const float* cb = coef + (int64_t)b * (n + 1);
    const int h = g.posH[b], t = g.posT[b];
    if (gemmNegatives) {  // negatives below, all at once
      if (cb[0] != 0.f) pairGradient(Prow[h], g.r, Prow[t], k, g.norm, cb[0], db[0], dProw[h], dProw[t], g.dR);
      continue;
    }
    if (g.loss == adkg::LOSS_MARGIN) {
      // Margin: the positive's coefficient is the sum of its active negatives' weights, so each active
      // negative j is applied together with its share of the positive: c·(g⁺ − g_j) on the rows both
      // share. Where the two cancel (same signs under l1) the result is exactly 0, as in the reference;
      // a rounding residual there would be blown up to a full step by Adagrad.
      const int* nr = g.negRow + (int64_t)b * n;
      const uint8_t* nh = g.negHead + (int64_t)b * n;
      bool any = false;
      for (int j = 0; j < n && !any; j++) any = cb[1 + j] != 0.f;
      if (!any) continue;
      distanceGradient(Prow[h], g.r, Prow[t], k, g.norm, db[0], gpos);
      for (int j = 0; j < n; j++) {
        float c = -cb[1 + j];
        if (c == 0.f) continue;
        const int e = nr[j];
        if (nh[j]) distanceGradient(Prow[e], g.r, Prow[t], k, g.norm, db[1 + j], gneg);
        else distanceGradient(Prow[h], g.r, Prow[e], k, g.norm, db[1 + j], gneg);
        for (int i = 0; i < k; i++) gdiff[i] = gpos[i] - gneg[i];
        if (nh[j]) {  // v_j = P_h' + r − P_t
          axpy2(dProw[h], c, gpos, 0.f, nullptr, k);
          axpy2(dProw[e], -c, gneg, 0.f, nullptr, k);
          axpy2(dProw[t], -c, gdiff, 0.f, nullptr, k);
        } else {      // v_j = P_h + r − P_t'
          axpy2(dProw[h], c, gdiff, 0.f, nullptr, k);
          axpy2(dProw[t], -c, gpos, 0.f, nullptr, k);
          axpy2(dProw[e], c, gneg, 0.f, nullptr, k);
        }
        axpy2(g.dR, c, gdiff, 0.f, nullptr, k);
      }
      continue;
    }
    if (cb[0] != 0.f) pairGradient(Prow[h], g.r, Prow[t], k, g.norm, cb[0], db[0], dProw[h], dProw[t], g.dR);
    const int* nr = g.negRow + (int64_t)b * n;
    const uint8_t* nh = g.negHead + (int64_t)b * n;
    for (int j = 0; j < n; j++) {
      float c = cb[1 + j];
      if (c == 0.f) continue;
      if (nh[j]) pairGradient(Prow[nr[j]], g.r, Prow[t], k, g.norm, c, db[1 + j], dProw[nr[j]], dProw[t], g.dR);
      else pairGradient(Prow[h], g.r, Prow[nr[j]], k, g.norm, c, db[1 + j], dProw[h], dProw[nr[j]], g.dR);
    }
  }

  if (gemmNegatives) {
    // a_bj = c_bj / dist_bj; ∂q_b = (Σ_j a_bj) q_b − (A E)_b; ∂E_j = (Σ_b a_bj) E_j − (Aᵀ Q)_j.
    float* rowSum = gsum;
    float* colSum = gsum + B;
    for (int j = 0; j < n; j++) colSum[j] = 0.f;
    for (int b = 0; b < B; b++) {
      const float* db = dist + (int64_t)b * (n + 1);
      const float* cb = coef + (int64_t)b * (n + 1);
      float* ab = gA + (int64_t)b * n;
      float rs = 0.f;
      for (int j = 0; j < n; j++) {
        float a = db[1 + j] == 0.f ? 0.f : cb[1 + j] / db[1 + j];
        ab[j] = a;
        gAT[(int64_t)j * B + b] = a;
        rs += a;
        colSum[j] += a;
      }
      rowSum[b] = rs;
    }
    for (int b = 0; b < B; b++) {
      rowsA[b] = gA + (int64_t)b * n;
      rowsE[b] = gdQ + (int64_t)b * k;
    }
    for (int j = 0; j < n; j++) rowsB[j] = Prow[g.negRow[j]];
    gemmK(B, k, n, rowsA, rowsB, rowsE, false);  // A E
    const float sgn = headSide ? -1.f : 1.f;
    for (int b = 0; b < B; b++) {
      float* dq = gdQ + (int64_t)b * k;
      const float* q = gQ + (int64_t)b * k;
      for (int i = 0; i < k; i++) dq[i] = rowSum[b] * q[i] - dq[i];
      // q_b = P_h + r (tail side) or P_t − r (head side)
      axpy2(dProw[headSide ? g.posT[b] : g.posH[b]], 1.f, dq, 0.f, nullptr, k);
      axpy2(g.dR, sgn, dq, 0.f, nullptr, k);
    }
    for (int j = 0; j < n; j++) {
      rowsA[j] = gAT + (int64_t)j * B;
      rowsE[j] = gdE + (int64_t)j * k;
    }
    for (int b = 0; b < B; b++) rowsB[b] = gQ + (int64_t)b * k;
    gemmK(n, k, B, rowsA, rowsB, rowsE, false);  // Aᵀ Q
    for (int j = 0; j < n; j++) {
      const float* e = Prow[g.negRow[j]];
      float* de = gdE + (int64_t)j * k;
      for (int i = 0; i < k; i++) de[i] = colSum[j] * e[i] - de[i];
      axpy2(dProw[g.negRow[j]], 1.f, de, 0.f, nullptr, k);
    }
  }

  if (g.project) {
    // ∂X += ∂P M ;  ∂M += ∂Pᵀ X
    for (int a = 0; a < k; a++) rowsB[a] = g.M + (int64_t)a * d;
    gemmK(m, d, k, (const float* const*)dProw, rowsB, g.dX, true);
    for (int i = 0; i < m; i++)
      for (int a = 0; a < k; a++) dPT[(int64_t)a * m + i] = dP[(int64_t)i * k + a];
    for (int a = 0; a < k; a++) {
      rowsA[a] = dPT + (int64_t)a * m;
      rowsC[a] = g.dM + (int64_t)a * d;
    }
    gemmK(k, d, m, rowsA, g.X, rowsC, true);
  }
}

// ---- distances of queries against a block of rows (evaluation) ----
template <int Q>
inline void distanceTile(const float* const* a, int ny, const float* y, int64_t ld, int len, int norm, float* const* out,
                         int64_t outOffset) {
  for (int e = 0; e < ny; e++) {
    const float* ye = y + (int64_t)e * ld;
    vf8 s[Q];
    for (int q = 0; q < Q; q++) s[q] = splat8(0.f);
    int i = 0;
    if (norm == adkg::NORM_L2) {
      for (; i + W <= len; i += W) {
        vf8 yv = load8(ye + i);
        for (int q = 0; q < Q; q++) {
          vf8 v = load8(a[q] + i) - yv;
          s[q] += v * v;
        }
      }
    } else {
      for (; i + W <= len; i += W) {
        vf8 yv = load8(ye + i);
        for (int q = 0; q < Q; q++) s[q] += abs8(load8(a[q] + i) - yv);
      }
    }
    for (int q = 0; q < Q; q++) {
      float t = hsum8(s[q]);
      for (int ii = i; ii < len; ii++) {
        float v = a[q][ii] - ye[ii];
        t += norm == adkg::NORM_L2 ? v * v : fabsf_(v);
      }
      out[q][outOffset + e] = norm == adkg::NORM_L2 ? fsqrt(t) : t;
    }
  }
}

void distanceBlockK(int nq, const float* const* a, int ny, const float* y, int64_t ld, int len, int norm,
                    float* const* out) {
  // Entities in tiles that stay in L1/L2 while 4 queries pass over them.
  const int tile = 64;
  for (int e0 = 0; e0 < ny; e0 += tile) {
    int ne = ny - e0 < tile ? ny - e0 : tile;
    int q = 0;
    for (; q + 4 <= nq; q += 4) distanceTile<4>(a + q, ne, y + (int64_t)e0 * ld, ld, len, norm, out + q, e0);
    for (; q < nq; q++) distanceTile<1>(a + q, ne, y + (int64_t)e0 * ld, ld, len, norm, out + q, e0);
  }
}

void finishL2K(float* c, const float* yy, float aa, int n) {
  for (int e = 0; e < n; e++) {
    float d2 = aa + yy[e] - 2.f * c[e];
    c[e] = sqrtf(d2 > 0.f ? d2 : 0.f);
  }
}

void optimizerRowK(float* w, float* s1, float* s2, const float* g, int len, int kind, float lr, double bc1, double bc2,
                   bool unitBall) {
  if (kind == adkg::OPT_ADAGRAD) {
    for (int i = 0; i < len; i++) {
      float acc = s1[i] + g[i] * g[i];
      s1[i] = acc;
      w[i] -= lr * g[i] / (sqrtf(acc) + 1e-10f);
    }
  } else {
    const float ib1 = (float)(1.0 / bc1), ib2 = (float)(1.0 / bc2);
    for (int i = 0; i < len; i++) {
      float m1 = 0.9f * s1[i] + 0.1f * g[i];
      float m2 = 0.999f * s2[i] + 0.001f * g[i] * g[i];
      s1[i] = m1;
      s2[i] = m2;
      w[i] -= lr * (m1 * ib1) / (sqrtf(m2 * ib2) + 1e-8f);
    }
  }
  if (unitBall) {
    float n2 = dot(w, w, len);
    if (n2 > 1.f) {
      float inv = 1.f / sqrtf(n2);
      for (int i = 0; i < len; i++) w[i] *= inv;
    }
  }
}

const adkg::KernelTable kTable = {ADKG_ISA_NAME, dotK, gemmK, groupForwardBackwardK, distanceBlockK, finishL2K, optimizerRowK};

}  // namespace
