// Host check of the shared-negatives loss kernel's 16-byte variant (kernels.cu groupLossKernel<true>,
// ADKG_CUDA_SHARED_LOSS=vector, never run on a GPU yet) with no GPU: groupLossKernel<false> (the default, which passed
// the device battery) and <true> run as written on emulated thread blocks (cuda/test/emu/cuda_runtime.h) over the same
// groups, as CudaEngine::buildPlan and indexKernel lay them out for shared negatives and projected rows. <true> reads
// and sums the same values in the same order, so its outputs (every ∂ row, ∂r, the loss) must be bitwise <false>'s;
// both are also compared with the loss and gradients in double precision (src/kge/backends/backend.ts), and every
// ∂ row must be written (they start as NaN: exclusive rows are stored, not added). 16-byte accesses are checked for
// alignment. Prints one JSON line per case; exits 1 when a case is off. Built and run by test/cuda-emulation.test.ts.
#include <cuda_runtime.h>  // the emulation (cuda/test/emu)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../src/kernels.cu"

using namespace adkg_cuda;

namespace {

struct Case {
  std::string name;
  int k, n, B, C, R;  // relation dim, negatives, positives, chunk size, relations
  int loss;
  float margin, tau;
};

struct Outputs {
  std::vector<float> dV, gradR;
  double loss = 0;
};

struct Setup {
  std::vector<float> V, rel;
  std::vector<int32_t> segGroup, segStart, segCount, gRel, hIdx, tIdx, nIdx;
  std::vector<uint8_t> nHead;
  int64_t rows = 0;
};

// Groups as buildPlan makes them for shared negatives: each chunk of C positives split by relation (stable), groups of
// one relation next to each other, one segment per group; rows: 2 per positive (h, t), then the chunk's n negatives.
Setup makeSetup(const Case& c, std::mt19937& rng) {
  Setup s;
  std::uniform_real_distribution<float> uni(-0.5f, 0.5f);
  std::vector<int32_t> rel(c.B);
  for (auto& r : rel) r = (int)(rng() % c.R);
  struct Group {
    int rel, chunk;
    std::vector<int> members;
  };
  std::vector<Group> groups;
  for (int c0 = 0, ci = 0; c0 < c.B; c0 += c.C, ci++) {
    for (int r = 0; r < c.R; r++) {
      Group g{r, ci, {}};
      for (int i = c0; i < std::min(c.B, c0 + c.C); i++)
        if (rel[i] == r) g.members.push_back(i);
      if (!g.members.empty()) groups.push_back(g);
    }
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.rel < b.rel; });
  const int G = (int)groups.size();
  s.nIdx.resize((size_t)G * c.n);
  s.nHead.resize(G);
  int pos = 0;
  for (int g = 0; g < G; g++) {
    const Group& gr = groups[g];
    const int P = (int)gr.members.size();
    s.gRel.push_back(gr.rel);
    s.segGroup.push_back(g);
    s.segStart.push_back(pos);
    s.segCount.push_back(P);
    for (int w = 0; w < P; w++) {
      s.hIdx.push_back((int32_t)(s.rows + 2 * w));
      s.tIdx.push_back((int32_t)(s.rows + 2 * w + 1));
    }
    for (int j = 0; j < c.n; j++) s.nIdx[(size_t)g * c.n + j] = (int32_t)(s.rows + 2 * P + j);
    s.nHead[g] = (uint8_t)(rng() % 2);
    s.rows += 2 * P + c.n;
    pos += P;
  }
  s.V.resize((size_t)s.rows * c.k);
  for (auto& x : s.V) x = uni(rng);
  s.rel.resize((size_t)c.R * c.k);
  for (auto& x : s.rel) x = uni(rng);
  return s;
}

template <bool VEC>
Outputs runKernel(const Case& c, const Setup& s) {
  Outputs o;
  o.dV.assign((size_t)s.rows * c.k, std::nanf(""));
  o.gradR.assign((size_t)c.R * c.k, 0.f);
  LossArgs a{};
  a.V = s.V.data();
  a.dV = o.dV.data();
  a.rel = s.rel.data();
  a.gradR = o.gradR.data();
  a.segGroup = s.segGroup.data();
  a.segStart = s.segStart.data();
  a.segCount = s.segCount.data();
  a.gRel = s.gRel.data();
  a.hIdx = s.hIdx.data();
  a.tIdx = s.tIdx.data();
  a.nIdx = s.nIdx.data();
  a.nHead = s.nHead.data();
  a.k = c.k;
  a.n = c.n;
  a.shared = 1;
  a.negInSmem = 1;
  a.loss = c.loss;
  a.norm = NORM_L2;
  a.exclusive = 1;  // projected rows belong to one group
  a.margin = c.margin;
  a.tau = c.tau;
  a.invB = 1.f / (float)c.B;
  a.lossAccum = &o.loss;
  emu::launch((unsigned)s.segGroup.size(), BLOCK, groupLossSmemFloats(c.k, c.n, VEC), [&] { groupLossKernel<VEC>(a); });
  return o;
}

// The loss and ∂V, ∂r in double: a = h + r (tail replaced) or t − r (head replaced) against the group's negatives.
void reference(const Case& c, const Setup& s, std::vector<double>& dV, std::vector<double>& dR, double& loss) {
  const int k = c.k, n = c.n;
  dV.assign((size_t)s.rows * k, 0.0);
  dR.assign((size_t)c.R * k, 0.0);
  loss = 0;
  auto sp = [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); };
  auto sg = [](double x) { return 1 / (1 + std::exp(-x)); };
  for (size_t g = 0; g < s.segGroup.size(); g++) {
    const int r = s.gRel[g];
    const bool head = s.nHead[g] != 0;
    const float* rr = &s.rel[(size_t)r * k];
    for (int i = s.segStart[g]; i < s.segStart[g] + s.segCount[g]; i++) {
      const float* h = &s.V[(size_t)s.hIdx[i] * k];
      const float* t = &s.V[(size_t)s.tIdx[i] * k];
      std::vector<double> av(k), ep(k);
      double dp = 0;
      for (int e = 0; e < k; e++) {
        av[e] = head ? (double)t[e] - rr[e] : (double)h[e] + rr[e];
        ep[e] = (double)h[e] + rr[e] - t[e];
        dp += ep[e] * ep[e];
      }
      dp = std::sqrt(dp);
      std::vector<double> dist(n), wt(n, 1.0 / n), coef(n, 0);
      for (int j = 0; j < n; j++) {
        const float* y = &s.V[(size_t)s.nIdx[g * n + j] * k];
        double s2 = 0;
        for (int e = 0; e < k; e++) s2 += (av[e] - y[e]) * (av[e] - y[e]);
        dist[j] = std::sqrt(s2);
      }
      if (c.tau != 0) {
        double mx = -1e300, z = 0;
        for (int j = 0; j < n; j++) mx = std::max(mx, -c.tau * dist[j]);
        for (int j = 0; j < n; j++) z += std::exp(-c.tau * dist[j] - mx);
        for (int j = 0; j < n; j++) wt[j] = std::exp(-c.tau * dist[j] - mx) / z;
      }
      double cPos = 0;
      for (int j = 0; j < n; j++) {
        if (c.loss == LOSS_MARGIN) {
          const double x = c.margin + dp - dist[j];
          if (x > 0) {
            loss += wt[j] * x / c.B;
            cPos += wt[j];
            coef[j] = -wt[j];
          }
        } else {
          loss += 0.5 * wt[j] * sp(c.margin - dist[j]) / c.B;
          coef[j] = -0.5 * wt[j] * sg(c.margin - dist[j]);
        }
      }
      if (c.loss == LOSS_SOFTPLUS) {
        loss += 0.5 * sp(dp - c.margin) / c.B;
        cPos = 0.5 * sg(dp - c.margin);
      }
      for (int e = 0; e < k; e++) {
        const double gp = dp > 0 ? cPos / c.B * ep[e] / dp : 0;
        dV[(size_t)s.hIdx[i] * k + e] += gp;
        dV[(size_t)s.tIdx[i] * k + e] -= gp;
        dR[(size_t)r * k + e] += gp;
      }
      for (int j = 0; j < n; j++) {
        if (dist[j] <= 0) continue;
        const float* y = &s.V[(size_t)s.nIdx[g * n + j] * k];
        for (int e = 0; e < k; e++) {
          const double gg = coef[j] / c.B * (av[e] - y[e]) / dist[j];
          dV[(size_t)s.nIdx[g * n + j] * k + e] -= gg;
          dV[(size_t)(head ? s.tIdx[i] : s.hIdx[i]) * k + e] += gg;
          dR[(size_t)r * k + e] += head ? -gg : gg;
        }
      }
    }
  }
}

}  // namespace

int main() {
  const std::vector<Case> cases = {
      {"softplus k128 n64 (the bench's shape)", 128, 64, 300, 256, 3, LOSS_SOFTPLUS, 6.f, 0.f},
      {"margin adversarial k128 n64", 128, 64, 200, 128, 2, LOSS_MARGIN, 1.f, 1.f},
      {"softplus k12 n8", 12, 8, 150, 32, 4, LOSS_SOFTPLUS, 6.f, 0.f},
      {"margin k20 n40", 20, 40, 160, 64, 3, LOSS_MARGIN, 2.f, 0.f},
      {"softplus adversarial k64 n33", 64, 33, 140, 70, 2, LOSS_SOFTPLUS, 6.f, 0.5f},
  };
  bool ok = true;
  for (const Case& c : cases) {
    std::mt19937 rng(99 + c.k + c.n);
    const Setup s = makeSetup(c, rng);
    const Outputs scalar = runKernel<false>(c, s), vec = runKernel<true>(c, s);
    size_t differ = 0;
    for (size_t i = 0; i < scalar.dV.size(); i++)
      if (std::memcmp(&scalar.dV[i], &vec.dV[i], 4) != 0) differ++;
    for (size_t i = 0; i < scalar.gradR.size(); i++)
      if (std::memcmp(&scalar.gradR[i], &vec.gradR[i], 4) != 0) differ++;
    std::vector<double> rdV, rdR;
    double rLoss;
    reference(c, s, rdV, rdR, rLoss);
    const double lossRel = std::fabs(scalar.loss - rLoss) / std::fabs(rLoss), dVRel = emu::maxRel(rdV, scalar.dV),
                 dRRel = emu::maxRel(rdR, scalar.gradR);
    const bool good = differ == 0 && scalar.loss == vec.loss && lossRel < 1e-5 && dVRel < 1e-5 && dRRel < 1e-5;
    ok = ok && good;
    std::printf("{\"case\":\"%s\",\"groups\":%zu,\"vecBitsDiffer\":%zu,\"vecLossEqual\":%s,\"lossRel\":%.3e,\"dVRel\":%.3e,\"dRRel\":%.3e,\"ok\":%s}\n",
                c.name.c_str(), s.segGroup.size(), differ, scalar.loss == vec.loss ? "true" : "false", lossRel, dVRel, dRRel,
                good ? "true" : "false");
  }
  return ok ? 0 : 1;
}
