// Mirrors RowOptimizer.step (row-optimizer.ts) operation by operation: JS computes in double and rounds
// only where it stores into a Float32Array, so this does the same (and reads a stored value back as the
// rounded float where JS does). Built without FMA contraction (binding.gyp) so each product rounds as
// in JS; native and JS then agree to the last bit in nearly all cases (Math.pow and std::pow may differ
// by one ulp of a double).
#include "rowwise.h"

#include <cmath>

namespace adkg {

void rowwiseStep(float* values, float* state, float* moment, const int32_t* rows, const int32_t* gradIndex, size_t n,
                 const float* grads, size_t dim, const RowwiseParams& p) {
  const double lr = p.learningRate, eps = p.eps, beta1 = p.beta1, beta2 = p.beta2;
  for (size_t i = 0; i < n; i++) {
    const size_t r = (size_t)rows[i];
    float* x = values + r * dim;
    const float* g = grads + (size_t)gradIndex[i] * dim;
    double sq = 0;
    for (size_t k = 0; k < dim; k++) sq += (double)g[k] * (double)g[k];
    const double meanSq = sq / (double)dim;
    if (p.kind == ROWWISE_ADAGRAD) {
      float* acc = state + r;
      *acc = (float)((double)*acc + meanSq);
      const double scale = lr / (std::sqrt((double)*acc) + eps);
      for (size_t k = 0; k < dim; k++) x[k] = (float)((double)x[k] - scale * (double)g[k]);
      continue;
    }
    float* st = state + 2 * r;
    float* m = moment + r * dim;
    st[0] = (float)(beta2 * (double)st[0] + (1 - beta2) * meanSq);
    const double t = (double)st[1] + 1;  // per-row step count (JS: ++st[so + 1], whose value is the unrounded sum)
    st[1] = (float)t;
    const double c1 = 1 - std::pow(beta1, t);
    const double c2 = 1 - std::pow(beta2, t);
    const double denom = std::sqrt((double)st[0] / c2) + eps;
    for (size_t k = 0; k < dim; k++) {
      m[k] = (float)(beta1 * (double)m[k] + (1 - beta1) * (double)g[k]);
      x[k] = (float)((double)x[k] - (lr * ((double)m[k] / c1)) / denom);
    }
  }
}

}  // namespace adkg
