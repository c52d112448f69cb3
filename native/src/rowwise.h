// Row-wise sparse optimizer step of the ranking model's LID tables (src/ranking/tables/row-optimizer.ts):
// the same math, in the same precision, on one page of a table that JS owns. Raw pointers only; the
// N-API layer (addon.cc) validates every length and index before calling it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace adkg {

enum RowwiseKind { ROWWISE_ADAGRAD = 0, ROWWISE_ADAM = 1 };

struct RowwiseParams {
  int kind;
  double learningRate, eps, beta1, beta2;
};

// For each i < n: steps the row rows[i] of the page (values + rows[i]·dim) with the gradient
// grads + gradIndex[i]·dim. state: Adagrad 1 float per row (accumulator), Adam 2 ([v, step]);
// moment: Adam's first moment (dim per row), nullptr for Adagrad. Rows are stepped in order, so a
// row given twice is stepped twice, as the JS loop does.
void rowwiseStep(float* values, float* state, float* moment, const int32_t* rows, const int32_t* gradIndex, size_t n,
                 const float* grads, size_t dim, const RowwiseParams& p);

}  // namespace adkg
