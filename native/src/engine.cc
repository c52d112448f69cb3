#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "kernels.h"
#include "rng.h"
#include "thread_pool.h"

namespace adkg {

namespace {
constexpr uint32_t PURPOSE_SIDE = 1, PURPOSE_ENTITY = 2;  // backend.ts RNG_PURPOSE
inline uint32_t negativeStream(uint32_t epoch, uint32_t purpose) { return (uint32_t)((uint64_t)epoch * 8u + purpose); }
inline void prefetchRows(const float* p, int floats) {
  for (int off = 0; off < floats; off += 16) __builtin_prefetch(p + off, 1);
}
}  // namespace

Engine::Engine(const EngineConfig& cfg, const EngineTables& tables) : cfg_(cfg), t_(tables) {
  threads_ = cfg.threads > 0 ? cfg.threads : (int)std::max(1u, std::thread::hardware_concurrency());
  slotOf_.assign((size_t)cfg.N, -1);
  anchorSlotOf_.assign((size_t)std::max(cfg.A, 0), -1);
  ts_.resize((size_t)threads_);
}

// ---- Negatives, exactly as backend.ts / sampling/negative-sampler.ts ----
void Engine::drawNegatives(const BatchInput& b) {
  const int64_t B = (int64_t)b.heads.size();
  const int n = cfg_.negatives;
  negEnt_.resize((size_t)(B * n));
  negHead_.resize((size_t)(B * n));
  const uint32_t sideKey = streamKey(cfg_.seed, negativeStream(b.epoch, PURPOSE_SIDE));
  const uint32_t entKey = streamKey(cfg_.seed, negativeStream(b.epoch, PURPOSE_ENTITY));
  const double N = (double)cfg_.N;
  auto isHead = [&](uint32_t c, int r) {
    double u = toUnitFloat(hash32(sideKey ^ c));
    return cfg_.corruption == CORRUPT_BERNOULLI ? u < t_.headProb[r] : u < 0.5;
  };
  auto entity = [&](uint32_t c, int32_t replaced) -> int32_t {
    uint32_t u = hash32(entKey ^ c);
    if (cfg_.corruption != CORRUPT_TYPED) return (int32_t)scaleToInt(u, N);
    int type = t_.entityType[replaced];
    int32_t start = t_.typeOffsets[type], size = t_.typeOffsets[type + 1] - start;
    return t_.typeMembers[start + scaleToInt(u, (double)size)];
  };
  const uint64_t base = (uint64_t)(int64_t)b.offset;
  if (cfg_.sampling == SAMPLING_INDEPENDENT) {
    const int64_t perTask = 512;
    ThreadPool::instance().run((B + perTask - 1) / perTask, threads_, [&](int64_t task, int) {
      for (int64_t i = task * perTask; i < std::min(B, (task + 1) * perTask); i++) {
        uint64_t p = base + (uint64_t)i;
        for (int j = 0; j < n; j++) {
          uint32_t c = (uint32_t)(p * (uint64_t)n + (uint64_t)j);
          bool head = isHead(c, b.relations[i]);
          negHead_[i * n + j] = head ? 1 : 0;
          negEnt_[i * n + j] = entity(c, head ? b.heads[i] : b.tails[i]);
        }
      }
    });
    return;
  }
  const int C = cfg_.chunkSize;
  for (int64_t s = 0; s < B; s += C) {
    uint64_t q = base + (uint64_t)s;
    bool head = isHead((uint32_t)(q * (uint64_t)n), b.relations[s]);
    int64_t end = std::min(B, s + C);
    for (int j = 0; j < n; j++) {
      uint32_t c = (uint32_t)(q * (uint64_t)n + (uint64_t)j);
      int32_t e = entity(c, head ? b.heads[s] : b.tails[s]);
      for (int64_t i = s; i < end; i++) {
        negEnt_[i * n + j] = e;
        negHead_[i * n + j] = head ? 1 : 0;
      }
    }
  }
}

void Engine::sample(const BatchInput& b, int32_t* entities, uint8_t* corruptHead) {
  drawNegatives(b);
  std::memcpy(entities, negEnt_.data(), negEnt_.size() * sizeof(int32_t));
  std::memcpy(corruptHead, negHead_.data(), negHead_.size());
}

const float* Engine::xRow(int slot) const {
  if (cfg_.model == MODEL_TRANSRA) return xbuf_.data() + (int64_t)slot * cfg_.d;
  return t_.entity + (int64_t)slotEnt_[slot] * cfg_.d;
}

float* Engine::gradRow(ThreadState& ts, int slot) {
  float* row = ts.gradX.data() + (int64_t)slot * cfg_.d;
  if (!ts.touchedX[slot]) {
    ts.touchedX[slot] = 1;
    std::memset(row, 0, sizeof(float) * cfg_.d);
  }
  return row;
}

void Engine::processGroup(ThreadState& ts, const BatchInput& b, int64_t group) {
  const int d = cfg_.d, k = cfg_.k, n = cfg_.negatives;
  const bool project = cfg_.model != MODEL_TRANSE;
  const int64_t g0 = groupStart_[group], g1 = groupStart_[group + 1];
  const int P = (int)(g1 - g0);
  const bool shared = cfg_.sampling == SAMPLING_SHARED;
  const int m = shared ? 2 * P + n : P * (2 + n);
  ts.rowX.resize(m);
  ts.rowDX.resize(m);
  ts.posH.resize(P);
  ts.posT.resize(P);
  ts.negRow.resize((size_t)P * n);
  ts.negHead.resize((size_t)P * n);
  auto setRow = [&](int row, int slot) {
    ts.rowX[row] = xRow(slot);
    ts.rowDX[row] = gradRow(ts, slot);
  };
  for (int i = 0; i < P; i++) {
    int32_t pos = order_[g0 + i];
    ts.posH[i] = 2 * i;
    ts.posT[i] = 2 * i + 1;
    setRow(2 * i, slotH_[pos]);
    setRow(2 * i + 1, slotT_[pos]);
    for (int j = 0; j < n; j++) {
      int row = shared ? 2 * P + j : 2 * P + i * n + j;
      ts.negRow[(size_t)i * n + j] = row;
      ts.negHead[(size_t)i * n + j] = negHead_[(size_t)pos * n + j];
      if (!shared || i == 0) setRow(row, negSlot_[(size_t)pos * n + j]);
    }
  }
  const int r = b.relations[order_[g0]];
  float* dR = ts.gradR.data() + (int64_t)r * k;
  float* dM = project ? ts.gradM.data() + (int64_t)r * k * d : nullptr;
  if (!ts.touchedR[r]) {
    ts.touchedR[r] = 1;
    std::memset(dR, 0, sizeof(float) * k);
    if (project) std::memset(dM, 0, sizeof(float) * (size_t)k * d);
  }
  int64_t need = groupScratchFloats(m, d, k, P, n);
  if ((int64_t)ts.scratch.size() < need) ts.scratch.resize(need);
  size_t needPtrs = 5 * (size_t)std::max(std::max(m, n), std::max(d, k));
  if (ts.ptrs.size() < needPtrs) ts.ptrs.resize(needPtrs);

  GroupArgs g;
  g.d = d;
  g.k = k;
  g.project = project;
  g.M = project ? t_.projection + (int64_t)r * k * d : nullptr;
  g.r = t_.relation + (int64_t)r * k;
  g.m = m;
  g.X = ts.rowX.data();
  g.dX = ts.rowDX.data();
  g.numPos = P;
  g.posH = ts.posH.data();
  g.posT = ts.posT.data();
  g.n = n;
  g.negRow = ts.negRow.data();
  g.negHead = ts.negHead.data();
  g.shared = shared;
  g.loss = cfg_.loss;
  g.norm = cfg_.norm;
  g.margin = (float)cfg_.margin;
  g.tau = (float)cfg_.tau;
  g.scale = (float)(1.0 / (double)b.heads.size());
  g.dR = dR;
  g.dM = dM;
  g.lossSum = &ts.loss;
  g.scratch = ts.scratch.data();
  g.ptrScratch = ts.ptrs.data();
  kernels().groupForwardBackward(g);
}

double Engine::train(const BatchInput& b) { return run(b, nullptr); }
double Engine::gradients(const BatchInput& b, const GradientOutputs& out) { return run(b, &out); }

double Engine::run(const BatchInput& b, const GradientOutputs* gout) {
  const int64_t B = (int64_t)b.heads.size();
  if (B == 0) return 0;
  const int d = cfg_.d, k = cfg_.k, n = cfg_.negatives, K = cfg_.K;
  const bool transra = cfg_.model == MODEL_TRANSRA, project = cfg_.model != MODEL_TRANSE;
  const bool shared = cfg_.sampling == SAMPLING_SHARED;
  ThreadPool& pool = ThreadPool::instance();
  const KernelTable& kern = kernels();

  // 1. Negatives.
  drawNegatives(b);

  // 2. Unique entities (slots), their anchors and the relations touched.
  slotEnt_.clear();
  anchorSlotEnt_.clear();
  relList_.clear();
  slotH_.resize(B);
  slotT_.resize(B);
  negSlot_.resize((size_t)B * n);
  auto slotOf = [&](int32_t e) {
    int32_t& s = slotOf_[e];
    if (s < 0) {
      s = (int32_t)slotEnt_.size();
      slotEnt_.push_back(e);
    }
    return s;
  };
  for (int64_t i = 0; i < B; i++) {
    slotH_[i] = slotOf(b.heads[i]);
    slotT_[i] = slotOf(b.tails[i]);
    if (shared && i % cfg_.chunkSize != 0) {
      std::memcpy(&negSlot_[(size_t)i * n], &negSlot_[(size_t)(i - i % cfg_.chunkSize) * n], sizeof(int32_t) * n);
      continue;
    }
    for (int j = 0; j < n; j++) negSlot_[(size_t)i * n + j] = slotOf(negEnt_[(size_t)i * n + j]);
  }
  const int S = (int)slotEnt_.size();
  if (transra) {
    for (int s = 0; s < S; s++) {
      const int32_t* of = t_.anchorOf + (int64_t)slotEnt_[s] * K;
      for (int i = 0; i < K; i++) {
        if (of[i] < 0) continue;
        if (anchorSlotOf_[of[i]] < 0) {
          anchorSlotOf_[of[i]] = (int32_t)anchorSlotEnt_.size();
          anchorSlotEnt_.push_back(of[i]);
        }
      }
    }
  }
  const int SA = (int)anchorSlotEnt_.size();

  // 3. TransRA: compose x_e = ê_e + Σ α ā for every slot, keeping α for the backward pass.
  if (transra) {
    xbuf_.resize((size_t)S * d);
    alpha_.resize((size_t)S * std::max(K, 1));
    pool.run((S + 255) / 256, threads_, [&](int64_t task, int) {
      for (int s = (int)task * 256; s < std::min(S, (int)task * 256 + 256); s++)
        composeRow(slotEnt_[s], xbuf_.data() + (int64_t)s * d, alpha_.data() + (int64_t)s * K);
    });
  }

  // 4. Groups: positives of one relation (and, when shared, of one chunk), so a projection is applied
  //    to a block of rows at a time.
  order_.resize(B);
  groupStart_.clear();
  {
    const int64_t chunk = shared ? cfg_.chunkSize : B;
    const int maxGroup = shared ? cfg_.chunkSize : (project ? std::max(1, 512 / (n + 2)) : 8);
    for (int64_t c0 = 0; c0 < B; c0 += chunk) {
      int64_t c1 = std::min(B, c0 + chunk);
      for (int64_t i = c0; i < c1; i++) order_[i] = (int32_t)i;
      std::stable_sort(order_.begin() + c0, order_.begin() + c1,
                       [&](int32_t x, int32_t y) { return b.relations[x] < b.relations[y]; });
      for (int64_t i = c0; i < c1;) {
        int64_t j = i + 1;
        while (j < c1 && j - i < maxGroup && b.relations[order_[j]] == b.relations[order_[i]]) j++;
        groupStart_.push_back(i);
        i = j;
      }
    }
    groupStart_.push_back(B);
  }
  const int64_t G = (int64_t)groupStart_.size() - 1;

  // 5. Forward and backward, per group, into per-thread gradient buffers.
  const int T = std::min<int64_t>(threads_, G) > 0 ? (int)std::min<int64_t>(threads_, G) : 1;
  for (int t = 0; t < T; t++) {
    ThreadState& ts = ts_[t];
    if (ts.gradX.size() < (size_t)S * d) ts.gradX.resize((size_t)S * d);
    ts.touchedX.assign(S, 0);
    if (ts.gradR.size() < (size_t)cfg_.R * k) ts.gradR.resize((size_t)cfg_.R * k);
    if (project && ts.gradM.size() < (size_t)cfg_.R * k * d) ts.gradM.resize((size_t)cfg_.R * k * d);
    ts.touchedR.assign(cfg_.R, 0);
    if (transra) {
      if (ts.gradA.size() < (size_t)SA * d) ts.gradA.resize((size_t)SA * d);
      ts.touchedA.assign(SA, 0);
    }
    if (ts.gsum.size() < (size_t)std::max(d, k) * std::max(d, 1)) ts.gsum.resize((size_t)std::max(d, k) * std::max(d, 1));
    ts.dots.resize((size_t)std::max(K, 1));
    ts.loss = 0;
  }
  pool.run(G, T, [&](int64_t g, int w) { processGroup(ts_[w], b, g); });
  double loss = 0;
  for (int t = 0; t < T; t++) loss += ts_[t].loss;

  // 6. Entity rows (and TransRA's anchor gradients and logits): sum the threads, then step or report.
  const double step = b.step;
  const double ebc1 = 1 - std::pow(0.9, step), ebc2 = 1 - std::pow(0.999, step);
  const bool ub = cfg_.unitBall;
  // Anchor gradients are accumulated per worker of this phase (anchors are shared between entities).
  pool.run((S + 127) / 128, T, [&](int64_t task, int w) {
    ThreadState& me = ts_[w];
    float* g = me.gsum.data();
    std::vector<double> dots((size_t)std::max(K, 1));
    const int sEnd = std::min(S, (int)task * 128 + 128);
    for (int s = (int)task * 128; s < sEnd; s++) {
      int64_t e = slotEnt_[s];
      if (s + 6 < sEnd && !gout) {  // rows a few slots ahead are random rows of big tables: fetch them now
        int64_t e2 = (int64_t)slotEnt_[s + 6] * d;
        prefetchRows(t_.entity + e2, d);
        prefetchRows(t_.entitySlots.s1 + e2, d);
        if (t_.entitySlots.s2) prefetchRows(t_.entitySlots.s2 + e2, d);
      }
      std::memset(g, 0, sizeof(float) * d);
      for (int t = 0; t < T; t++)
        if (ts_[t].touchedX[s]) {
          const float* src = ts_[t].gradX.data() + (int64_t)s * d;
          for (int i = 0; i < d; i++) g[i] += src[i];
        }
      if (transra) {
        const int32_t* of = t_.anchorOf + e * K;
        const float* al = alpha_.data() + (int64_t)s * K;
        double mean = 0;
        for (int i = 0; i < K; i++) {
          if (of[i] < 0) continue;
          int as = anchorSlotOf_[of[i]];
          float* ga = me.gradA.data() + (int64_t)as * d;
          if (!me.touchedA[as]) {
            me.touchedA[as] = 1;
            std::memset(ga, 0, sizeof(float) * d);
          }
          const float* a = t_.anchor + (int64_t)of[i] * d;
          double dt = 0;
          for (int j = 0; j < d; j++) {
            ga[j] += al[i] * g[j];
            dt += (double)a[j] * g[j];
          }
          dots[i] = dt;
          mean += al[i] * dt;
        }
        if (cfg_.learnAnchorWeights) {
          float gl[64];
          float* glp = K <= 64 ? gl : new float[K];
          for (int i = 0; i < K; i++) glp[i] = of[i] >= 0 ? (float)(al[i] * (dots[i] - mean)) : 0.f;
          if (gout) {
            if (gout->anchorLogit)
              for (int i = 0; i < K; i++) gout->anchorLogit[e * K + i] = glp[i];
          } else {
            kern.optimizerRow(t_.anchorLogit + e * K, t_.anchorLogitSlots.s1 + e * K,
                              t_.anchorLogitSlots.s2 ? t_.anchorLogitSlots.s2 + e * K : nullptr, glp, K,
                              cfg_.entityOptimizer, (float)cfg_.lr, ebc1, ebc2, false);
          }
          if (glp != gl) delete[] glp;
        }
      }
      if (gout) {
        for (int i = 0; i < d; i++) gout->entity[e * d + i] = g[i];
      } else {
        kern.optimizerRow(t_.entity + e * d, t_.entitySlots.s1 + e * d,
                          t_.entitySlots.s2 ? t_.entitySlots.s2 + e * d : nullptr, g, d, cfg_.entityOptimizer,
                          (float)cfg_.lr, ebc1, ebc2, ub);
      }
    }
  });

  // 7. TransRA anchors.
  if (transra && SA > 0) {
    pool.run((SA + 63) / 64, T, [&](int64_t task, int w) {
      float* g = ts_[w].gsum.data();
      for (int as = (int)task * 64; as < std::min(SA, (int)task * 64 + 64); as++) {
        int64_t a = anchorSlotEnt_[as];
        std::memset(g, 0, sizeof(float) * d);
        for (int t = 0; t < T; t++)
          if (ts_[t].touchedA[as]) {
            const float* src = ts_[t].gradA.data() + (int64_t)as * d;
            for (int i = 0; i < d; i++) g[i] += src[i];
          }
        if (gout) {
          for (int i = 0; i < d; i++) gout->anchor[a * d + i] = g[i];
        } else {
          kern.optimizerRow(t_.anchor + a * d, t_.anchorSlots.s1 + a * d,
                            t_.anchorSlots.s2 ? t_.anchorSlots.s2 + a * d : nullptr, g, d, cfg_.entityOptimizer,
                            (float)cfg_.lr, ebc1, ebc2, ub);
        }
      }
    });
  }

  // 8. Relations and projections (dense tables; only the relations of the batch are stepped).
  for (int t = 0; t < T; t++)
    for (int r = 0; r < cfg_.R; r++)
      if (ts_[t].touchedR[r] && std::find(relList_.begin(), relList_.end(), r) == relList_.end()) relList_.push_back(r);
  std::sort(relList_.begin(), relList_.end());
  const int NR = (int)relList_.size();
  pool.run(NR, T, [&](int64_t task, int w) {
    int64_t r = relList_[task];
    float* g = ts_[w].gsum.data();  // sized ≥ max(d,k)·d
    // Row r of one dense table: the threads' partial gradients summed, then written out (gradients()) or stepped.
    auto reduceRow = [&](std::vector<float> ThreadState::*part, int64_t len, double* out, float* table,
                         const TableSlots& slots, bool unitBall) {
      std::memset(g, 0, sizeof(float) * len);
      for (int t = 0; t < T; t++)
        if (ts_[t].touchedR[r]) {
          const float* src = (ts_[t].*part).data() + r * len;
          for (int64_t i = 0; i < len; i++) g[i] += src[i];
        }
      if (gout) {
        for (int64_t i = 0; i < len; i++) out[r * len + i] = g[i];
      } else {
        kern.optimizerRow(table + r * len, slots.s1 + r * len, slots.s2 ? slots.s2 + r * len : nullptr, g, (int)len,
                          cfg_.relationOptimizer, (float)cfg_.relationLr, ebc1, ebc2, unitBall);
      }
    };
    reduceRow(&ThreadState::gradR, k, gout ? gout->relation : nullptr, t_.relation, t_.relationSlots, ub);
    if (project)
      reduceRow(&ThreadState::gradM, (int64_t)k * d, gout ? gout->projection : nullptr, t_.projection, t_.projectionSlots, false);
  });

  // 9. Forget the slots (only the touched entries, so the cost is per batch, not per table).
  for (int32_t e : slotEnt_) slotOf_[e] = -1;
  for (int32_t a : anchorSlotEnt_) anchorSlotOf_[a] = -1;
  return loss;
}

// x = ê_e + Σ α_i ā_i with α = softmax of the entity's logits over its anchors (−1: none), the softmax in double;
// alpha (K floats, 0 for a missing anchor) is kept for the backward pass when not null.
void Engine::composeRow(int64_t e, float* x, float* alpha) const {
  const int d = cfg_.d, K = cfg_.K;
  const int32_t* of = t_.anchorOf + e * K;
  const float* lg = t_.anchorLogit + e * K;
  std::memcpy(x, t_.entity + e * d, sizeof(float) * d);
  double mx = -INFINITY, z = 0;
  for (int i = 0; i < K; i++)
    if (of[i] >= 0) mx = std::max(mx, (double)lg[i]);
  for (int i = 0; i < K; i++) z += of[i] >= 0 ? std::exp((double)lg[i] - mx) : 0;
  for (int i = 0; i < K; i++) {
    const float w = of[i] >= 0 ? (float)(std::exp((double)lg[i] - mx) / z) : 0.f;
    if (alpha) alpha[i] = w;
    if (of[i] < 0) continue;
    const float* a = t_.anchor + (int64_t)of[i] * d;
    for (int j = 0; j < d; j++) x[j] += w * a[j];
  }
}

void Engine::composeAll(std::vector<float>& X) {
  const int d = cfg_.d;
  const int64_t N = cfg_.N;
  X.resize((size_t)N * d);
  ThreadPool::instance().run((N + 1023) / 1024, threads_, [&](int64_t task, int) {
    for (int64_t e = task * 1024; e < std::min(N, task * 1024 + 1024); e++) composeRow(e, X.data() + e * d, nullptr);
  });
}

void Engine::scoreAll(int side, const std::vector<int32_t>& known, const std::vector<int32_t>& relations, float* out) {
  const int d = cfg_.d, k = cfg_.k;
  const int64_t N = cfg_.N, Q = (int64_t)known.size();
  const float sign = side == 1 ? 1.f : -1.f;  // tail: a = x_h + r; head: a = x_t − r
  const KernelTable& kern = kernels();
  ThreadPool& pool = ThreadPool::instance();
  const float* X = t_.entity;
  if (cfg_.model == MODEL_TRANSRA) {
    composeAll(evalX_);
    X = evalX_.data();
  }
  const int64_t qBlock = 64;
  std::vector<float> A((size_t)Q * k);
  std::vector<float> YT, yy;
  auto scoreAgainst = [&](const std::vector<int64_t>& qs, const float* Y) {
    int64_t nb = ((int64_t)qs.size() + qBlock - 1) / qBlock;
    // Split the entities too, so that few queries still keep every thread busy.
    int64_t eSplit = nb >= threads_ ? 1 : std::max<int64_t>(1, std::min<int64_t>(threads_, N / 1024));
    int64_t eStep = (N + eSplit - 1) / eSplit;
    const bool l2 = cfg_.norm == NORM_L2;
    if (l2) {
      // l2 as ‖a‖² + ‖y‖² − 2 a·y: the a·y are one GEMM against Yᵀ (entities along the vector lanes).
      YT.resize((size_t)k * N);
      yy.resize((size_t)N);
      pool.run((N + 1023) / 1024, threads_, [&](int64_t task, int) {
        for (int64_t e = task * 1024; e < std::min(N, task * 1024 + 1024); e++) {
          const float* y = Y + e * k;
          for (int i = 0; i < k; i++) YT[(size_t)i * N + e] = y[i];
          yy[e] = kern.dot(y, y, k);
        }
      });
    }
    pool.run(nb * eSplit, threads_, [&](int64_t task, int) {
      int64_t qb = task / eSplit, es = task % eSplit;
      int64_t q0 = qb * qBlock, q1 = std::min<int64_t>((int64_t)qs.size(), q0 + qBlock);
      int64_t e0 = es * eStep, e1 = std::min(N, e0 + eStep);
      if (e0 >= e1) return;
      const int nq = (int)(q1 - q0);
      const float* arows[qBlock];
      float* orows[qBlock];
      float aa[qBlock];
      for (int64_t i = q0; i < q1; i++) {
        arows[i - q0] = A.data() + qs[i] * k;
        orows[i - q0] = out + qs[i] * N;
        aa[i - q0] = kern.dot(arows[i - q0], arows[i - q0], k);
      }
      if (!l2) {
        for (int i = 0; i < nq; i++) orows[i] += e0;
        kern.distanceBlock(nq, arows, (int)(e1 - e0), Y + e0 * k, k, k, cfg_.norm, orows);
        return;
      }
      // Entity blocks whose slice of Yᵀ (k × 512 floats) stays in L2 while every query passes over it.
      const int64_t eb = 512;
      std::vector<const float*> brows((size_t)k);
      float* crows[qBlock];
      for (int64_t b0 = e0; b0 < e1; b0 += eb) {
        int64_t b1 = std::min(e1, b0 + eb);
        for (int i = 0; i < k; i++) brows[i] = YT.data() + (size_t)i * N + b0;
        for (int i = 0; i < nq; i++) crows[i] = orows[i] + b0;
        kern.gemm(nq, (int)(b1 - b0), k, arows, brows.data(), crows, false);
        for (int i = 0; i < nq; i++) kern.finishL2(crows[i], yy.data() + b0, aa[i], (int)(b1 - b0));
      }
    });
  };
  if (cfg_.model == MODEL_TRANSE) {
    for (int64_t q = 0; q < Q; q++) {
      const float* x = X + (int64_t)known[q] * d;
      const float* r = t_.relation + (int64_t)relations[q] * k;
      for (int i = 0; i < k; i++) A[q * k + i] = x[i] + sign * r[i];
    }
    std::vector<int64_t> all((size_t)Q);
    for (int64_t q = 0; q < Q; q++) all[q] = q;
    scoreAgainst(all, X);
    return;
  }
  // TransR/TransRA: project every entity once per relation present in this call, then score its queries.
  std::vector<std::vector<int64_t>> byRel((size_t)cfg_.R);
  for (int64_t q = 0; q < Q; q++) byRel[relations[q]].push_back(q);
  evalP_.resize((size_t)N * k);
  std::vector<float> MT((size_t)d * k);
  for (int r = 0; r < cfg_.R; r++) {
    if (byRel[r].empty()) continue;
    const float* M = t_.projection + (int64_t)r * k * d;
    for (int a = 0; a < k; a++)
      for (int j = 0; j < d; j++) MT[(size_t)j * k + a] = M[(size_t)a * d + j];
    const int64_t eb = 256;
    pool.run((N + eb - 1) / eb, threads_, [&](int64_t task, int) {
      int64_t e0 = task * eb, e1 = std::min(N, e0 + eb);
      std::vector<const float*> ar(e1 - e0), br(d);
      std::vector<float*> cr(e1 - e0);
      for (int64_t e = e0; e < e1; e++) {
        ar[e - e0] = X + e * d;
        cr[e - e0] = evalP_.data() + e * k;
      }
      for (int j = 0; j < d; j++) br[j] = MT.data() + (size_t)j * k;
      kern.gemm((int)(e1 - e0), k, d, ar.data(), br.data(), cr.data(), false);
    });
    const float* rv = t_.relation + (int64_t)r * k;
    for (int64_t q : byRel[r]) {
      const float* p = evalP_.data() + (int64_t)known[q] * k;
      for (int i = 0; i < k; i++) A[q * k + i] = p[i] + sign * rv[i];
    }
    scoreAgainst(byRel[r], evalP_.data());
  }
}

}  // namespace adkg
