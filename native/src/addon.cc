// N-API surface of the native KGE backend. The engine object is engine_napi.h's (shared with the cuda
// addon): tables stay in JS memory, every compute call runs on a libuv worker thread that fans out to the
// engine's thread pool and returns a Promise, so the event loop keeps running while a batch trains.
// rowwiseStep (the ranking LID tables' optimizer, rows of one page) is synchronous: it is short and runs
// between tfjs steps anyway.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine.h"
#include "engine_napi.h"
#include "kernels.h"
#include "rowwise.h"

namespace {

using adkg::Engine;
using adkg::napi_glue::EngineArgs;
using adkg::napi_glue::EngineWrap;
using adkg::napi_glue::WrapNames;

// The engine object of src/kge/backends/native/native-backend.ts: the calls engine_napi.h gives every engine.
class NativeEngine : public EngineWrap<NativeEngine, Engine> {
 public:
  static constexpr WrapNames names{"NativeEngine", "native backend", "adkg-native", "native backend: "};
  static Napi::Function Define(Napi::Env env) { return DefineWith(env); }

  // new NativeEngine(config, tables, optimizer, sampling), config with `threads`.
  explicit NativeEngine(const Napi::CallbackInfo& info) : EngineWrap(info) {
    EngineArgs a = readEngineArgs(info, 4, "NativeEngine(config, tables, optimizer, sampling) expects four objects", true);
    engine_ = std::make_unique<Engine>(a.config, a.tables);
  }
};

// A typed array of the given element type (named in errors), any length: its data pointer (byte offset
// applied) and length, in plain Node-API calls: rowwiseStep runs once per page a batch touches, so its
// fixed cost (~0.8 µs a call on the dev box) matters.
template <typename T>
std::pair<T*, size_t> typedArg(napi_env env, napi_value v, napi_typedarray_type type, const char* typeName, const char* what) {
  bool isTyped = false;
  napi_typedarray_type t;
  size_t len = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok || t != type)
    throw Napi::TypeError::New(env, std::string("rowwiseStep: ") + what + " must be a " + typeName);
  return {static_cast<T*>(data), len};
}

// rowwiseStep(values, state, moment | null, rows, grads, gradIndex | null, dim, {kind, learningRate, eps, beta1, beta2}):
// the LID tables' row-wise Adagrad / partial row-wise Adam step (src/ranking/tables/row-optimizer.ts) of
// rows of one page, in place, synchronously. values: the page (pageRows × dim); state: its row state
// (pageRows × 1 Adagrad, × 2 Adam [v, step]); moment: Adam's first moment (pageRows × dim); rows: Int32Array
// of rows within the page; grads: Float32Array of gradient rows (dim each); gradIndex: Int32Array, the
// gradient row of each row (null: the i-th gradient row). Everything is checked before anything is written.
Napi::Value RowwiseStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto range = [&](const std::string& msg) { return Napi::RangeError::New(env, "rowwiseStep: " + msg); };
  if (info.Length() != 8)
    throw Napi::TypeError::New(env, "rowwiseStep(values, state, moment, rows, grads, gradIndex, dim, params) takes 8 arguments, got " +
                                        std::to_string(info.Length()));
  if (!info[7].IsObject()) throw Napi::TypeError::New(env, "rowwiseStep: params must be an object {kind, learningRate, eps, beta1, beta2}");
  napi_value po = info[7];
  napi_value kindV;
  char kind[16] = {0};
  size_t kindLen = 0;
  if (napi_get_named_property(env, po, "kind", &kindV) != napi_ok ||
      napi_get_value_string_utf8(env, kindV, kind, sizeof kind, &kindLen) != napi_ok)
    kind[0] = 0;
  adkg::RowwiseParams p{};
  if (std::strcmp(kind, "adagrad") == 0) p.kind = adkg::ROWWISE_ADAGRAD;
  else if (std::strcmp(kind, "adam") == 0) p.kind = adkg::ROWWISE_ADAM;
  else throw Napi::TypeError::New(env, "rowwiseStep: params.kind must be 'adagrad' or 'adam'");
  const bool adam = p.kind == adkg::ROWWISE_ADAM;
  auto num = [&](const char* key, bool needed) {
    napi_value v;
    double x = NAN;
    napi_valuetype vt = napi_undefined;
    if (napi_get_named_property(env, po, key, &v) == napi_ok && napi_typeof(env, v, &vt) == napi_ok && vt == napi_number)
      napi_get_value_double(env, v, &x);
    else if (!needed && vt == napi_undefined)
      return 0.0;
    if (!std::isfinite(x)) throw Napi::TypeError::New(env, std::string("rowwiseStep: params.") + key + " must be a finite number");
    return x;
  };
  p.learningRate = num("learningRate", true);
  p.eps = num("eps", true);
  p.beta1 = num("beta1", adam);
  p.beta2 = num("beta2", adam);
  if (!(p.learningRate > 0)) throw range("params.learningRate must be > 0");
  if (!(p.eps >= 0)) throw range("params.eps must be >= 0");
  if (adam && !(p.beta1 >= 0 && p.beta1 < 1 && p.beta2 >= 0 && p.beta2 < 1)) throw range("params.beta1 and beta2 must be in [0, 1)");

  if (!info[6].IsNumber()) throw Napi::TypeError::New(env, "rowwiseStep: dim must be a number");
  const double dimD = info[6].As<Napi::Number>().DoubleValue();
  if (!(dimD >= 1 && dimD <= 1e9 && std::floor(dimD) == dimD)) throw range("dim must be a positive integer");
  const size_t dim = (size_t)dimD;
  auto [values, valuesLen] = typedArg<float>(env, info[0], napi_float32_array, "Float32Array", "values");
  auto [state, stateLen] = typedArg<float>(env, info[1], napi_float32_array, "Float32Array", "state");
  if (valuesLen == 0 || valuesLen % dim != 0)
    throw range("values has " + std::to_string(valuesLen) + " floats, not a positive multiple of dim " + std::to_string(dim));
  const size_t pageRows = valuesLen / dim, width = adam ? 2 : 1;
  if (stateLen != pageRows * width)
    throw range("state has " + std::to_string(stateLen) + " floats, needs " + std::to_string(pageRows * width) + " (" +
                std::to_string(pageRows) + " rows × " + std::to_string(width) + ")");
  float* moment = nullptr;
  if (adam) {
    if (info[2].IsNull() || info[2].IsUndefined()) throw Napi::TypeError::New(env, "rowwiseStep: moment must be a Float32Array for adam");
    auto [m, mLen] = typedArg<float>(env, info[2], napi_float32_array, "Float32Array", "moment");
    if (mLen != valuesLen) throw range("moment has " + std::to_string(mLen) + " floats, needs " + std::to_string(valuesLen) + " (as values)");
    moment = m;
  } else if (!info[2].IsNull() && !info[2].IsUndefined()) {
    throw Napi::TypeError::New(env, "rowwiseStep: moment must be null for adagrad");
  }
  auto [rows, n] = typedArg<int32_t>(env, info[3], napi_int32_array, "Int32Array", "rows");
  auto [grads, gradsLen] = typedArg<float>(env, info[4], napi_float32_array, "Float32Array", "grads");
  if (gradsLen % dim != 0) throw range("grads has " + std::to_string(gradsLen) + " floats, not a multiple of dim " + std::to_string(dim));
  const size_t gradRows = gradsLen / dim;
  const int32_t* gradIndex = nullptr;
  std::vector<int32_t> identity;
  if (info[5].IsNull() || info[5].IsUndefined()) {
    if (gradRows != n) throw range("grads has " + std::to_string(gradRows) + " rows of dim " + std::to_string(dim) + " for " + std::to_string(n) + " rows");
    identity.resize(n);
    for (size_t i = 0; i < n; i++) identity[i] = (int32_t)i;
    gradIndex = identity.data();
  } else {
    auto [gi, giLen] = typedArg<int32_t>(env, info[5], napi_int32_array, "Int32Array", "gradIndex");
    if (giLen != n) throw range("gradIndex has " + std::to_string(giLen) + " entries for " + std::to_string(n) + " rows");
    for (size_t i = 0; i < n; i++)
      if (gi[i] < 0 || (size_t)gi[i] >= gradRows)
        throw range("gradIndex[" + std::to_string(i) + "] = " + std::to_string(gi[i]) + " is outside [0, " + std::to_string(gradRows) + ")");
    gradIndex = gi;
  }
  for (size_t i = 0; i < n; i++)
    if (rows[i] < 0 || (size_t)rows[i] >= pageRows)
      throw range("rows[" + std::to_string(i) + "] = " + std::to_string(rows[i]) + " is outside the page [0, " + std::to_string(pageRows) + ")");
  adkg::rowwiseStep(values, state, moment, rows, gradIndex, n, grads, dim, p);
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", adkg::kernels().isa);
  out.Set("hardwareThreads", (double)std::thread::hardware_concurrency());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("NativeEngine", NativeEngine::Define(env));
  exports.Set("rowwiseStep", Napi::Function::New(env, RowwiseStep, "rowwiseStep"));
  return exports;
}

}  // namespace

NODE_API_MODULE(adkg_native, Init)
