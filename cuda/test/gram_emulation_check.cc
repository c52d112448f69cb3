// Host check of the Gram form's kernels (cuda/src/gram.cu) with no GPU: gramPrepareKernel, gramLossKernel and
// gramFinishKernel run as written, on emulated blocks (cuda/test/emu/cuda_runtime.h: a fiber per CUDA thread,
// barriers for __syncthreads/__syncwarp/shuffles); the three GEMMs the engine runs on its tiles between them
// (z = G_r x, E and S outer sums, kernels.cu's tiles, checked by mma_layout_check.cc) are plain loops here. The
// plan and indices are laid out as CudaEngine::buildPlan and indexKernel lay them out for independent negatives.
// The loss and the gradients of the entity rows, M_r and r_r are compared with the direct form in double precision
// (src/kge/backends/backend.ts: dist = ‖M_r h + r − M_r t‖, softplus or margin loss, uniform or adversarial weights).
// Prints one JSON line per case; exits 1 when a case is off. Built and run by test/cuda-emulation.test.ts.
#include <cuda_runtime.h>  // the emulation (cuda/test/emu)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "../src/gram.cu"

using namespace adkg_cuda;

namespace {

struct Case {
  std::string name;
  int d, k, n, B, N, R;
  int loss;     // LOSS_SOFTPLUS / LOSS_MARGIN
  float margin, tau;
  enum Kind { RANDOM, NEAR_PAIRS, FITTED } kind;
};

struct Result {
  double lossRel, gradXRel, gradMRel, gradRRel;
  int fallbackNegatives;  // negatives whose Gram value the kernel's test sends to M_r (counted here in double)
};

// The least-norm x with M x = r (M k × d row-major), by Gaussian elimination on M Mᵀ (k ≤ d, full rank).
std::vector<double> minNorm(const float* M, const float* r, int k, int d) {
  std::vector<std::vector<double>> A(k, std::vector<double>(k + 1));
  for (int i = 0; i < k; i++) {
    for (int j = 0; j < k; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) s += (double)M[i * d + c] * M[j * d + c];
      A[i][j] = s;
    }
    A[i][k] = r[i];
  }
  for (int c = 0; c < k; c++) {
    int p = c;
    for (int i = c + 1; i < k; i++)
      if (std::fabs(A[i][c]) > std::fabs(A[p][c])) p = i;
    std::swap(A[c], A[p]);
    for (int i = c + 1; i < k; i++) {
      const double f = A[i][c] / A[c][c];
      for (int j = c; j <= k; j++) A[i][j] -= f * A[c][j];
    }
  }
  std::vector<double> v(k), x(d, 0.0);
  for (int i = k - 1; i >= 0; i--) {
    double s = A[i][k];
    for (int j = i + 1; j < k; j++) s -= A[i][j] * v[j];
    v[i] = s / A[i][i];
  }
  for (int c = 0; c < d; c++)
    for (int i = 0; i < k; i++) x[c] += M[i * d + c] * v[i];
  return x;
}

Result runCase(const Case& c) {
  const int d = c.d, k = c.k, n = c.n, B = c.B, N = c.N, R = c.R;
  std::mt19937 rng(1234 + d * 7 + k + n);
  std::uniform_real_distribution<float> uni(-0.5f, 0.5f);
  std::vector<float> entity((size_t)N * d), relation((size_t)R * k), proj((size_t)R * k * d);
  for (auto& x : entity) x = uni(rng);
  for (auto& x : relation) x = uni(rng);
  for (int r = 0; r < R; r++)
    for (int q = 0; q < k; q++)
      for (int i = 0; i < d; i++) proj[((size_t)r * k + q) * d + i] = (q == i ? 1.f : 0.f) + 0.2f * uni(rng);
  // Positives and negatives (entity ids = slots).
  std::vector<int32_t> h(B), rel(B), t(B), neg((size_t)B * n);
  std::vector<uint8_t> negHead((size_t)B * n);
  for (int i = 0; i < B; i++) {
    rel[i] = (int)(rng() % R);
    h[i] = (int)(rng() % N);
    t[i] = (int)(rng() % N);
    for (int j = 0; j < n; j++) {
      neg[(size_t)i * n + j] = (int)(rng() % N);
      negHead[(size_t)i * n + j] = (uint8_t)(rng() % 2);
    }
  }
  if (c.kind == Case::NEAR_PAIRS) {
    // Entities in near-identical pairs, relations near zero, positives h → partner, some negatives the partner too.
    for (int e = 1; e < N; e += 2)
      for (int i = 0; i < d; i++) entity[(size_t)e * d + i] = entity[(size_t)(e - 1) * d + i] * (1.f + 1e-3f * std::sin((float)(e + i)));
    for (auto& x : relation) x *= 1e-3f;
    for (int i = 0; i < B; i++) {
      t[i] = h[i] ^ 1;
      if (N % 2 == 1 && t[i] >= N) t[i] = h[i];
      for (int j = 0; j < n; j += 3) neg[(size_t)i * n + j] = negHead[(size_t)i * n + j] ? t[i] ^ 1 : h[i] ^ 1;
    }
  } else if (c.kind == Case::FITTED) {
    // Each positive with its own tail, set to h + M_r⁺r_r (1 % off): M_r h + r_r ≈ M_r t.
    for (int i = 0; i < B; i++) {
      h[i] = i;
      t[i] = B + i;
      const std::vector<double> x = minNorm(&proj[(size_t)rel[i] * k * d], &relation[(size_t)rel[i] * k], k, d);
      for (int cc = 0; cc < d; cc++)
        entity[(size_t)t[i] * d + cc] = entity[(size_t)h[i] * d + cc] + (float)(x[cc] * (1 + 0.01 * std::sin((double)(i + cc))));
    }
  }

  // The plan, as buildPlan (independent): positives sorted by relation, 2 + n rows each, segments of ≤ 32 positives.
  std::vector<int32_t> order(B);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return rel[a] < rel[b]; });
  const int64_t rows = (int64_t)B * (2 + n);
  std::vector<int32_t> hIdx(B), tIdx(B), nIdx((size_t)B * n), rowSlot(rows), rowRel(rows), gRel, segGroup, segStart, segCount;
  std::vector<uint8_t> nHead((size_t)B * n), relTouched(R, 0);
  for (int i = 0; i < B;) {
    int j = i;
    while (j < B && rel[order[j]] == rel[order[i]]) j++;
    const int g = (int)gRel.size();
    gRel.push_back(rel[order[i]]);
    for (int s = i; s < j; s += 32) {
      segGroup.push_back(g);
      segStart.push_back(s);
      segCount.push_back(std::min(32, j - s));
    }
    i = j;
  }
  for (int i = 0; i < B; i++) {
    const int ob = order[i];
    const int64_t base = (int64_t)i * (2 + n);
    hIdx[i] = (int32_t)base;
    tIdx[i] = (int32_t)(base + 1);
    rowSlot[base] = h[ob];
    rowSlot[base + 1] = t[ob];
    for (int j = 0; j < n; j++) {
      nIdx[(size_t)i * n + j] = (int32_t)(base + 2 + j);
      nHead[(size_t)i * n + j] = negHead[(size_t)ob * n + j];
      rowSlot[base + 2 + j] = neg[(size_t)ob * n + j];
    }
    for (int64_t x = base; x < base + 2 + n; x++) rowRel[x] = rel[ob];
    relTouched[rel[ob]] = 1;
  }

  // Device state (host memory here).
  std::vector<float> gradX((size_t)N * d, 0.f), gradM((size_t)R * k * d, 0.f), gradR((size_t)R * k, 0.f);
  std::vector<float> G((size_t)R * d * d, NAN), w((size_t)R * d, NAN), rho(R, NAN), S((size_t)R * d * d, NAN), bv((size_t)R * d, NAN),
      Kv(R, NAN), Z((size_t)rows * d, NAN), Q((size_t)rows * d, NAN), E((size_t)2 * B * k, NAN);
  std::vector<int32_t> eSlot((size_t)2 * B, -1);
  double lossAccum = 0;
  DevModel m{};
  m.model = MODEL_TRANSR;
  m.d = d;
  m.k = k;
  m.n = n;
  m.R = R;
  m.entity.w = entity.data();
  m.relation.w = relation.data();
  m.projection.w = proj.data();
  m.gradX = gradX.data();
  m.gradM = gradM.data();
  m.gradR = gradR.data();
  m.relTouched = relTouched.data();
  m.lossAccum = &lossAccum;
  DevGram g{G.data(), w.data(), rho.data(), S.data(), bv.data(), Kv.data(), Z.data(), Q.data(), E.data(), eSlot.data()};

  emu::launch(R, BLOCK, 0, [&] { gramPrepareKernel(m, g); });
  // z = G_r x (the projection tile with G_r).
  for (int64_t x = 0; x < rows; x++) {
    const float* Gr = &G[(size_t)rowRel[x] * d * d];
    for (int i = 0; i < d; i++) {
      double s = 0;
      for (int q = 0; q < d; q++) s += (double)Gr[(size_t)i * d + q] * entity[(size_t)rowSlot[x] * d + q];
      Z[(size_t)x * d + i] = (float)s;
    }
  }
  GramLossArgs a{};
  a.l.rel = relation.data();
  a.l.gradR = gradR.data();
  a.l.segGroup = segGroup.data();
  a.l.segStart = segStart.data();
  a.l.segCount = segCount.data();
  a.l.gRel = gRel.data();
  a.l.hIdx = hIdx.data();
  a.l.tIdx = tIdx.data();
  a.l.nIdx = nIdx.data();
  a.l.nHead = nHead.data();
  a.l.k = k;
  a.l.n = n;
  a.l.loss = c.loss;
  a.l.norm = NORM_L2;
  a.l.exclusive = 1;
  a.l.margin = c.margin;
  a.l.tau = c.tau;
  a.l.invB = 1.f / (float)B;
  a.l.lossAccum = &lossAccum;
  a.X = entity.data();
  a.rowSlot = rowSlot.data();
  a.gradX = gradX.data();
  a.proj = proj.data();
  a.d = d;
  a.g = g;
  emu::launch((unsigned)segGroup.size(), BLOCK, gramLossBytes(d, k, n) / sizeof(float), [&] { gramLossKernel(a); });
  // ∂M_r += Σ E xᵀ over the positives' rows, and S_r = Σ q xᵀ over all rows (the ∂M tile).
  for (int i = 0; i < 2 * B; i++) {
    const int r = rel[order[i / 2]];
    for (int q = 0; q < k; q++)
      for (int cc = 0; cc < d; cc++) gradM[((size_t)r * k + q) * d + cc] += E[(size_t)i * k + q] * entity[(size_t)eSlot[i] * d + cc];
  }
  for (int r = 0; r < R; r++)
    if (relTouched[r]) std::fill(S.begin() + (size_t)r * d * d, S.begin() + (size_t)(r + 1) * d * d, 0.f);
  for (int64_t x = 0; x < rows; x++)
    for (int i = 0; i < d; i++)
      for (int cc = 0; cc < d; cc++) S[((size_t)rowRel[x] * d + i) * d + cc] += Q[(size_t)x * d + i] * entity[(size_t)rowSlot[x] * d + cc];
  emu::launch(R, BLOCK, 0, [&] { gramFinishKernel(m, g); });

  // The direct form in double.
  std::vector<double> rX((size_t)N * d, 0), rM((size_t)R * k * d, 0), rR((size_t)R * k, 0);
  double rLoss = 0;
  int fallback = 0;
  auto project = [&](int r, int e, std::vector<double>& out) {
    for (int q = 0; q < k; q++) {
      double s = 0;
      for (int i = 0; i < d; i++) s += (double)proj[((size_t)r * k + q) * d + i] * entity[(size_t)e * d + i];
      out[q] = s;
    }
  };
  std::vector<double> ph(k), pt(k), py(k);
  for (int b = 0; b < B; b++) {
    const int r = rel[b];
    project(r, h[b], ph);
    project(r, t[b], pt);
    // e for a pair: a = (head side ? t : h) side as in backend.ts; returns dist and fills e.
    std::vector<std::vector<double>> es(n + 1, std::vector<double>(k));
    std::vector<double> dist(n + 1);
    for (int q = 0; q < k; q++) es[n][q] = ph[q] + relation[(size_t)r * k + q] - pt[q];
    for (int j = 0; j < n; j++) {
      const int y = neg[(size_t)b * n + j];
      project(r, y, py);
      const bool hs = negHead[(size_t)b * n + j] != 0;
      for (int q = 0; q < k; q++) es[j][q] = hs ? py[q] + relation[(size_t)r * k + q] - pt[q] : ph[q] + relation[(size_t)r * k + q] - py[q];
      // The kernel's fallback test, in double: s < ½·(‖M a‖² + ‖r‖²).
      double ma = 0, rr = 0, s = 0;
      for (int q = 0; q < k; q++) {
        ma += (hs ? pt[q] : ph[q]) * (hs ? pt[q] : ph[q]);
        rr += (double)relation[(size_t)r * k + q] * relation[(size_t)r * k + q];
        s += es[j][q] * es[j][q];
      }
      if (s < 0.5 * (ma + rr)) fallback++;
    }
    for (int j = 0; j <= n; j++) {
      double s = 0;
      for (double v : es[j]) s += v * v;
      dist[j] = std::sqrt(s);
    }
    const double dPos = dist[n];
    std::vector<double> wt(n, 1.0 / n), coef(n + 1, 0);
    if (c.tau != 0) {
      double mx = -1e300, z = 0;
      for (int j = 0; j < n; j++) mx = std::max(mx, -c.tau * dist[j]);
      for (int j = 0; j < n; j++) z += std::exp(-c.tau * dist[j] - mx);
      for (int j = 0; j < n; j++) wt[j] = std::exp(-c.tau * dist[j] - mx) / z;
    }
    auto sp = [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); };
    auto sg = [](double x) { return 1 / (1 + std::exp(-x)); };
    double loss = 0;
    for (int j = 0; j < n; j++) {
      if (c.loss == LOSS_MARGIN) {
        const double x = c.margin + dPos - dist[j];
        if (x > 0) {
          loss += wt[j] * x;
          coef[n] += wt[j];
          coef[j] = -wt[j];
        }
      } else {
        loss += 0.5 * wt[j] * sp(c.margin - dist[j]);
        coef[j] = -0.5 * wt[j] * sg(c.margin - dist[j]);
      }
    }
    if (c.loss == LOSS_SOFTPLUS) {
      loss += 0.5 * sp(dPos - c.margin);
      coef[n] = 0.5 * sg(dPos - c.margin);
    }
    rLoss += loss / B;
    for (int j = 0; j <= n; j++) {
      if (dist[j] <= 0) continue;
      const double f = coef[j] / B / dist[j];
      const bool pos = j == n, hs = !pos && negHead[(size_t)b * n + j] != 0;
      const int y = pos ? t[b] : neg[(size_t)b * n + j];
      // e = M(first − second) + r: tail side / positive (h, y), head side (y, t).
      const int first = hs ? y : h[b], second = hs ? t[b] : y;
      for (int q = 0; q < k; q++) {
        const double v = f * es[j][q];
        rR[(size_t)r * k + q] += v;
        for (int i = 0; i < d; i++) {
          const double mq = proj[((size_t)r * k + q) * d + i];
          rM[((size_t)r * k + q) * d + i] += v * ((double)entity[(size_t)first * d + i] - entity[(size_t)second * d + i]);
          rX[(size_t)first * d + i] += mq * v;
          rX[(size_t)second * d + i] -= mq * v;
        }
      }
    }
  }
  Result res;
  res.lossRel = std::fabs(lossAccum - rLoss) / std::max(1e-12, std::fabs(rLoss));
  res.gradXRel = emu::maxRel(rX, gradX);
  res.gradMRel = emu::maxRel(rM, gradM);
  res.gradRRel = emu::maxRel(rR, gradR);
  res.fallbackNegatives = fallback;
  return res;
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {"softplus d16 k12", 16, 12, 8, 40, 50, 3, LOSS_SOFTPLUS, 6.f, 0.f, Case::RANDOM},
      {"margin adversarial d16 k12", 16, 12, 8, 40, 50, 3, LOSS_MARGIN, 1.f, 1.f, Case::RANDOM},
      {"near pairs d16 k12", 16, 12, 8, 40, 50, 3, LOSS_SOFTPLUS, 6.f, 0.f, Case::NEAR_PAIRS},
      {"near pairs adversarial d16 k12", 16, 12, 8, 40, 50, 3, LOSS_MARGIN, 1.f, 1.f, Case::NEAR_PAIRS},
      {"fitted d16 k12", 16, 12, 8, 40, 100, 3, LOSS_SOFTPLUS, 6.f, 0.f, Case::FITTED},
      {"softplus d128 k128 n64", 128, 128, 64, 36, 200, 2, LOSS_SOFTPLUS, 6.f, 0.f, Case::RANDOM},
      {"softplus d64 k96 (k > d)", 64, 96, 12, 40, 120, 3, LOSS_SOFTPLUS, 6.f, 0.f, Case::RANDOM},
      {"margin adversarial d20 k8 (lanes past d)", 20, 8, 6, 40, 60, 2, LOSS_MARGIN, 2.f, 0.5f, Case::RANDOM},
  };
  bool ok = true;
  for (const Case& c : cases) {
    const Result r = runCase(c);
    const bool good = r.lossRel < 1e-5 && r.gradXRel < 1e-4 && r.gradMRel < 1e-4 && r.gradRRel < 1e-4;
    ok = ok && good;
    std::printf("{\"case\":\"%s\",\"lossRel\":%.3e,\"gradXRel\":%.3e,\"gradMRel\":%.3e,\"gradRRel\":%.3e,\"fallbackNegatives\":%d,\"ok\":%s}\n",
                c.name.c_str(), r.lossRel, r.gradXRel, r.gradMRel, r.gradRRel, r.fallbackNegatives, good ? "true" : "false");
  }
  return ok ? 0 : 1;
}
