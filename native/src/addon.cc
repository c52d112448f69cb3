// N-API surface of the native KGE backend. Tables stay in JS memory: the engine keeps references to
// the typed arrays (so they outlive it) and works on their data pointers. Every compute call runs on a
// libuv worker thread (Napi::AsyncWorker) that fans out to the engine's thread pool, and returns a
// Promise, so the event loop keeps running while a batch trains. rowwiseStep (the ranking LID tables'
// optimizer, rows of one page) is synchronous: it is short and runs between tfjs steps anyway.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine.h"
#include "kernels.h"
#include "rowwise.h"

namespace {

using adkg::BatchInput;
using adkg::Engine;

template <typename T>
T* typedData(const Napi::Value& v, napi_typedarray_type type, const char* what, size_t minLength) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) throw Napi::TypeError::New(v.Env(), std::string(what) + " has the wrong element type");
  if (ta.ElementLength() < minLength)
    throw Napi::RangeError::New(v.Env(), std::string(what) + " has " + std::to_string(ta.ElementLength()) +
                                             " elements, needs " + std::to_string(minLength));
  Napi::ArrayBuffer buf = ta.ArrayBuffer();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset());
}

std::vector<int32_t> copyInt32(const Napi::Value& v, const char* what) {
  int32_t* p = typedData<int32_t>(v, napi_int32_array, what, 0);
  size_t n = v.As<Napi::TypedArray>().ElementLength();
  return std::vector<int32_t>(p, p + n);
}

// Resolves a promise with the value `resolve` makes, after `work` ran off the main thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> resolve,
                std::vector<Napi::Value> keepAlive, bool* busy)
      : Napi::AsyncWorker(env, "adkg-native"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        resolve_(std::move(resolve)), busy_(busy) {
    for (auto& v : keepAlive) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(std::string("native backend: ") + e.what());
    }
  }
  void OnOK() override {
    *busy_ = false;
    deferred_.Resolve(resolve_(Env()));
  }
  void OnError(const Napi::Error& e) override {
    *busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> resolve_;
  std::vector<Napi::ObjectReference> refs_;
  bool* busy_;
};

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEngine",
                       {InstanceMethod("trainBatch", &NativeEngine::TrainBatch),
                        InstanceMethod("gradients", &NativeEngine::Gradients),
                        InstanceMethod("sampleNegatives", &NativeEngine::SampleNegatives),
                        InstanceMethod("scoreAll", &NativeEngine::ScoreAll),
                        InstanceMethod("dispose", &NativeEngine::Dispose)});
  }

  // new NativeEngine(config, tables, optimizer, sampling): see src/kge/backends/native/native-backend.ts.
  explicit NativeEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsObject())
      throw Napi::TypeError::New(env, "NativeEngine(config, tables, optimizer, sampling) expects four objects");
    Napi::Object c = info[0].As<Napi::Object>();
    auto num = [&](const char* key) {
      Napi::Value v = c.Get(key);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("config.") + key + " must be a number");
      return v.As<Napi::Number>().DoubleValue();
    };
    adkg::EngineConfig cfg;
    cfg.model = (int)num("model");
    cfg.N = (int64_t)num("numEntities");
    cfg.R = (int)num("numRelations");
    cfg.d = (int)num("dim");
    cfg.k = (int)num("relDim");
    cfg.A = (int)num("numAnchors");
    cfg.K = (int)num("anchorsPerEntity");
    cfg.loss = (int)num("loss");
    cfg.norm = (int)num("norm");
    cfg.margin = num("margin");
    cfg.tau = num("adversarialTemperature");
    cfg.negatives = (int)num("negatives");
    cfg.sampling = (int)num("sampling");
    cfg.chunkSize = (int)num("chunkSize");
    cfg.corruption = (int)num("corruption");
    cfg.entityOptimizer = (int)num("entityOptimizer");
    cfg.relationOptimizer = (int)num("relationOptimizer");
    cfg.lr = num("lr");
    cfg.relationLr = num("relationLr");
    cfg.unitBall = num("unitBall") != 0;
    cfg.learnAnchorWeights = num("learnAnchorWeights") != 0;
    cfg.seed = (uint32_t)num("seed");
    cfg.threads = (int)num("threads");
    if (cfg.N <= 0 || cfg.R <= 0 || cfg.d <= 0 || cfg.k <= 0 || cfg.negatives <= 0 || cfg.chunkSize <= 0)
      throw Napi::RangeError::New(env, "NativeEngine: entities, relations, dims, negatives and chunkSize must be positive");
    if (cfg.model == adkg::MODEL_TRANSE && cfg.k != cfg.d) throw Napi::RangeError::New(env, "TransE needs relDim = dim");

    Napi::Object tb = info[1].As<Napi::Object>();
    Napi::Object op = info[2].As<Napi::Object>();
    Napi::Object sm = info[3].As<Napi::Object>();
    const size_t N = (size_t)cfg.N, R = (size_t)cfg.R, d = (size_t)cfg.d, k = (size_t)cfg.k, A = (size_t)cfg.A,
                 K = (size_t)cfg.K;
    adkg::EngineTables t;
    auto f32 = [&](Napi::Object o, const char* key, size_t len, const char* what) {
      Napi::Value v = o.Get(key);
      keep(v);
      return typedData<float>(v, napi_float32_array, what, len);
    };
    auto slots = [&](const char* table, size_t len, int optimizer) {
      adkg::TableSlots s;
      Napi::Value v = op.Get(table);
      if (!v.IsObject()) throw Napi::TypeError::New(env, std::string("optimizer.") + table + " is missing");
      Napi::Object o = v.As<Napi::Object>();
      s.s1 = f32(o, "s1", len, (std::string("optimizer.") + table + ".s1").c_str());
      if (optimizer == adkg::OPT_ADAM) s.s2 = f32(o, "s2", len, (std::string("optimizer.") + table + ".s2").c_str());
      return s;
    };
    t.entity = f32(tb, "entity", N * d, "tables.entity");
    t.relation = f32(tb, "relation", R * k, "tables.relation");
    t.entitySlots = slots("entity", N * d, cfg.entityOptimizer);
    t.relationSlots = slots("relation", R * k, cfg.relationOptimizer);
    if (cfg.model != adkg::MODEL_TRANSE) {
      t.projection = f32(tb, "projection", R * k * d, "tables.projection");
      t.projectionSlots = slots("projection", R * k * d, cfg.relationOptimizer);
    }
    if (cfg.model == adkg::MODEL_TRANSRA) {
      t.anchor = f32(tb, "anchor", A * d, "tables.anchor");
      t.anchorLogit = f32(tb, "anchorLogit", N * K, "tables.anchorLogit");
      Napi::Value of = tb.Get("anchorOf");
      keep(of);
      t.anchorOf = typedData<int32_t>(of, napi_int32_array, "tables.anchorOf", N * K);
      t.anchorSlots = slots("anchor", A * d, cfg.entityOptimizer);
      if (cfg.learnAnchorWeights) t.anchorLogitSlots = slots("anchorLogit", N * K, cfg.entityOptimizer);
      for (size_t i = 0; i < N * K; i++)
        if (t.anchorOf[i] >= (int32_t)A) throw Napi::RangeError::New(env, "tables.anchorOf has an anchor outside [0, numAnchors)");
    }
    Napi::Value hp = sm.Get("headProb"), et = sm.Get("entityType"), to = sm.Get("typeOffsets"), tm = sm.Get("typeMembers");
    keep(hp), keep(et), keep(to), keep(tm);
    t.headProb = typedData<double>(hp, napi_float64_array, "sampling.headProb", R);
    t.entityType = typedData<int32_t>(et, napi_int32_array, "sampling.entityType", N);
    size_t types = to.As<Napi::TypedArray>().ElementLength();
    t.typeOffsets = typedData<int32_t>(to, napi_int32_array, "sampling.typeOffsets", 1);
    t.typeMembers = typedData<int32_t>(tm, napi_int32_array, "sampling.typeMembers", cfg.corruption == adkg::CORRUPT_TYPED ? N : 0);
    if (cfg.corruption == adkg::CORRUPT_TYPED) {
      for (size_t e = 0; e < N; e++)
        if (t.entityType[e] < 0 || (size_t)t.entityType[e] + 1 >= types)
          throw Napi::RangeError::New(env, "sampling.entityType has a type without typeOffsets");
    }
    engine_ = std::make_unique<Engine>(cfg, t);
  }

 private:
  void keep(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  void ensureUsable(Napi::Env env) {
    if (!engine_) throw Napi::Error::New(env, "native backend: this engine was disposed");
    if (busy_) throw Napi::Error::New(env, "native backend: a call is already in flight (await the previous one)");
  }
  BatchInput batchFrom(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6) throw Napi::TypeError::New(env, "expected (heads, relations, tails, epoch, offset, step, ...)");
    BatchInput b;
    b.heads = copyInt32(info[0], "batch.heads");
    b.relations = copyInt32(info[1], "batch.relations");
    b.tails = copyInt32(info[2], "batch.tails");
    b.epoch = (uint32_t)info[3].As<Napi::Number>().Int64Value();
    b.offset = info[4].As<Napi::Number>().DoubleValue();
    b.step = info[5].As<Napi::Number>().DoubleValue();
    std::string err = engine_->check(b);
    if (!err.empty()) throw Napi::RangeError::New(env, "native backend: batch " + err);
    return b;
  }
  Napi::Value start(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> resolve,
                    std::vector<Napi::Value> keepAlive) {
    keepAlive.push_back(Value());  // the engine itself
    auto* w = new PromiseWorker(env, std::move(work), std::move(resolve), std::move(keepAlive), &busy_);
    busy_ = true;
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    ensureUsable(info.Env());
    auto b = std::make_shared<BatchInput>(batchFrom(info));
    auto loss = std::make_shared<double>(0);
    Engine* e = engine_.get();
    return start(info.Env(), [e, b, loss] { *loss = e->train(*b); },
                 [loss](Napi::Env env) { return Napi::Number::New(env, *loss); }, {});
  }

  // gradients(heads, relations, tails, epoch, offset, step, {entity, relation, projection?, anchor?, anchorLogit?}: Float64Array)
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    auto b = std::make_shared<BatchInput>(batchFrom(info));
    if (info.Length() < 7 || !info[6].IsObject()) throw Napi::TypeError::New(env, "gradients: outputs object missing");
    const auto& c = engine_->config();
    Napi::Object o = info[6].As<Napi::Object>();
    adkg::GradientOutputs out;
    std::vector<Napi::Value> keepAlive;
    auto f64 = [&](const char* key, size_t len) -> double* {
      Napi::Value v = o.Get(key);
      if (v.IsUndefined() || v.IsNull()) return nullptr;
      keepAlive.push_back(v);
      return typedData<double>(v, napi_float64_array, key, len);
    };
    out.entity = f64("entity", (size_t)c.N * c.d);
    out.relation = f64("relation", (size_t)c.R * c.k);
    out.projection = f64("projection", (size_t)c.R * c.k * c.d);
    out.anchor = f64("anchor", (size_t)c.A * c.d);
    out.anchorLogit = f64("anchorLogit", (size_t)c.N * c.K);
    if (!out.entity || !out.relation || (c.model != adkg::MODEL_TRANSE && !out.projection) ||
        (c.model == adkg::MODEL_TRANSRA && (!out.anchor || !out.anchorLogit)))
      throw Napi::TypeError::New(env, "gradients: an output array for a table of this model is missing");
    auto loss = std::make_shared<double>(0);
    Engine* e = engine_.get();
    return start(env, [e, b, loss, out] { *loss = e->gradients(*b, out); },
                 [loss](Napi::Env env) { return Napi::Number::New(env, *loss); }, keepAlive);
  }

  // sampleNegatives(heads, relations, tails, epoch, offset, step, entities: Int32Array(B·n), corruptHead: Uint8Array(B·n))
  Napi::Value SampleNegatives(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    auto b = std::make_shared<BatchInput>(batchFrom(info));
    size_t len = b->heads.size() * (size_t)engine_->config().negatives;
    int32_t* ent = typedData<int32_t>(info[6], napi_int32_array, "entities", len);
    uint8_t* head = typedData<uint8_t>(info[7], napi_uint8_array, "corruptHead", len);
    Engine* e = engine_.get();
    return start(env, [e, b, ent, head] { e->sample(*b, ent, head); },
                 [](Napi::Env env) { return env.Undefined(); }, {info[6], info[7]});
  }

  // scoreAll(side: 1 tail | 0 head, known: Int32Array, relations: Int32Array, out: Float32Array(Q·N))
  Napi::Value ScoreAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    const auto& c = engine_->config();
    int side = info[0].As<Napi::Number>().Int32Value();
    auto known = std::make_shared<std::vector<int32_t>>(copyInt32(info[1], "queries.known"));
    auto rels = std::make_shared<std::vector<int32_t>>(copyInt32(info[2], "queries.relations"));
    if (known->size() != rels->size()) throw Napi::RangeError::New(env, "scoreAll: known and relations differ in length");
    for (size_t i = 0; i < known->size(); i++)
      if ((*known)[i] < 0 || (*known)[i] >= c.N || (*rels)[i] < 0 || (*rels)[i] >= c.R)
        throw Napi::RangeError::New(env, "scoreAll: query " + std::to_string(i) + " is out of range");
    float* out = typedData<float>(info[3], napi_float32_array, "out", known->size() * (size_t)c.N);
    Engine* e = engine_.get();
    return start(env, [e, side, known, rels, out] { e->scoreAll(side, *known, *rels, out); },
                 [](Napi::Env env) { return env.Undefined(); }, {info[3]});
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "native backend: dispose() while a call is in flight");
    engine_.reset();
    refs_.clear();
    return info.Env().Undefined();
  }

  std::unique_ptr<Engine> engine_;
  std::vector<Napi::ObjectReference> refs_;
  bool busy_ = false;
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
