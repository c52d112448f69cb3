// The N-API glue both KGE engines share (native/src/addon.cc, cuda/src/addon.cc): the engine object's
// arguments checked and read into engine.h's structs (config, tables, batches), and its calls — trainBatch,
// gradients, sampleNegatives, scoreAll, dispose — each run on a libuv worker thread (Napi::AsyncWorker) and
// answered by a Promise, so the event loop keeps running while an engine trains. An addon derives its wrap
// from EngineWrap<Wrap, Engine>, constructs its engine from readEngineArgs() and adds what only it has.
//
// Tables stay in JS memory: the wrap keeps references to the typed arrays it was given (so they outlive
// the engine, which works on their data pointers). Every argument is checked before an engine sees it, and
// a bad one is refused by name (a TypeError or RangeError), with nothing written.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"
#include "kernels.h"  // OptimizerKind

namespace adkg::napi_glue {

// The data pointer (byte offset applied) of a typed array of `type` with at least minLength elements.
template <typename T>
T* typedData(const Napi::Value& v, napi_typedarray_type type, const std::string& what, size_t minLength) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), what + " must be a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) throw Napi::TypeError::New(v.Env(), what + " has the wrong element type");
  if (ta.ElementLength() < minLength)
    throw Napi::RangeError::New(v.Env(), what + " has " + std::to_string(ta.ElementLength()) + " elements, needs " +
                                             std::to_string(minLength));
  Napi::ArrayBuffer buf = ta.ArrayBuffer();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset());
}

// A copy: the worker thread must not read a JS array the caller may change while the call is in flight.
inline std::vector<int32_t> copyInt32(const Napi::Value& v, const std::string& what) {
  int32_t* p = typedData<int32_t>(v, napi_int32_array, what, 0);
  size_t n = v.As<Napi::TypedArray>().ElementLength();
  return std::vector<int32_t>(p, p + n);
}

inline double numberArg(const Napi::Value& v, const std::string& what) {
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(x)) throw Napi::TypeError::New(v.Env(), what + " must be a finite number");
  return x;
}

// Resolves a promise with the value `resolve` makes, after `work` ran off the main thread; keeps the JS
// objects the work reads or writes alive until then.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resourceName, std::string errorPrefix, std::function<void()> work,
                std::function<Napi::Value(Napi::Env)> resolve, std::vector<Napi::Value> keepAlive, bool* busy)
      : Napi::AsyncWorker(env, resourceName), deferred_(Napi::Promise::Deferred::New(env)),
        errorPrefix_(std::move(errorPrefix)), work_(std::move(work)), resolve_(std::move(resolve)), busy_(busy) {
    for (auto& v : keepAlive) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(errorPrefix_ + e.what());
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
  std::string errorPrefix_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> resolve_;
  std::vector<Napi::ObjectReference> refs_;
  bool* busy_;
};

// What an engine is constructed from: the config, the tables (pointers into JS memory) and the number of
// entity types (sampling.typeOffsets' length − 1).
struct EngineArgs {
  adkg::EngineConfig config;
  adkg::EngineTables tables;
  int typeCount = 0;
};

// Names an addon gives its wrap: the class name JS sees, the prefix of its synchronous errors ("cuda
// backend"), the async resource name, and the prefix put before an engine's own errors from a worker.
struct WrapNames {
  const char* className;
  const char* label;
  const char* resourceName;
  const char* workErrorPrefix;
};

template <class Wrap, class Engine>
class EngineWrap : public Napi::ObjectWrap<Wrap> {
 public:
  using Method = Napi::Value (Wrap::*)(const Napi::CallbackInfo&);
  using Property = Napi::ClassPropertyDescriptor<Wrap>;

  // The calls every engine answers (EngineHandle in src/kge/backends/engine-backend.ts), plus an addon's own.
  static Napi::Function DefineWith(Napi::Env env, const std::vector<std::pair<const char*, Method>>& extra = {}) {
    std::vector<Property> props = {
        Napi::ObjectWrap<Wrap>::InstanceMethod("trainBatch", static_cast<Method>(&EngineWrap::TrainBatch)),
        Napi::ObjectWrap<Wrap>::InstanceMethod("gradients", static_cast<Method>(&EngineWrap::Gradients)),
        Napi::ObjectWrap<Wrap>::InstanceMethod("sampleNegatives", static_cast<Method>(&EngineWrap::SampleNegatives)),
        Napi::ObjectWrap<Wrap>::InstanceMethod("scoreAll", static_cast<Method>(&EngineWrap::ScoreAll)),
        Napi::ObjectWrap<Wrap>::InstanceMethod("dispose", static_cast<Method>(&EngineWrap::Dispose))};
    for (const auto& [name, m] : extra) props.push_back(Napi::ObjectWrap<Wrap>::InstanceMethod(name, m));
    return Napi::ObjectWrap<Wrap>::DefineClass(env, Wrap::names.className, props);
  }

 protected:
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Wrap>(info) {}

  std::string label(const std::string& what) const { return std::string(Wrap::names.label) + ": " + what; }

  // Reads info[0..3] = (config, tables, optimizer, sampling) of src/kge/backends/engine-backend.ts; info must
  // hold `objects` objects (an addon's own come after the four). readThreads: config.threads is read too.
  EngineArgs readEngineArgs(const Napi::CallbackInfo& info, size_t objects, const std::string& usage, bool readThreads) {
    Napi::Env env = info.Env();
    bool ok = info.Length() >= objects;
    for (size_t i = 0; ok && i < objects; i++) ok = info[i].IsObject();
    if (!ok) throw Napi::TypeError::New(env, usage);
    EngineArgs a;
    adkg::EngineConfig& cfg = a.config;
    Napi::Object c = info[0].As<Napi::Object>();
    auto num = [&](const char* key) { return numberArg(c.Get(key), std::string("config.") + key); };
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
    if (readThreads) cfg.threads = (int)num("threads");
    if (cfg.N <= 0 || cfg.R <= 0 || cfg.d <= 0 || cfg.k <= 0 || cfg.negatives <= 0 || cfg.chunkSize <= 0)
      throw Napi::RangeError::New(env, std::string(Wrap::names.className) +
                                           ": entities, relations, dims, negatives and chunkSize must be positive");
    if (cfg.model == adkg::MODEL_TRANSE && cfg.k != cfg.d) throw Napi::RangeError::New(env, "TransE needs relDim = dim");
    if (cfg.A < 0 || cfg.K < 0) throw Napi::RangeError::New(env, "config.numAnchors and anchorsPerEntity must be ≥ 0");

    Napi::Object tb = info[1].As<Napi::Object>(), op = info[2].As<Napi::Object>(), sm = info[3].As<Napi::Object>();
    const size_t N = (size_t)cfg.N, R = (size_t)cfg.R, d = (size_t)cfg.d, k = (size_t)cfg.k, A = (size_t)cfg.A,
                 K = (size_t)cfg.K;
    adkg::EngineTables& t = a.tables;
    auto f32 = [&](Napi::Object o, const char* key, size_t len, const std::string& what) {
      Napi::Value v = o.Get(key);
      keep(v);
      return typedData<float>(v, napi_float32_array, what, len);
    };
    auto slots = [&](const char* table, size_t len, int optimizer) {
      adkg::TableSlots s;
      Napi::Value v = op.Get(table);
      if (!v.IsObject()) throw Napi::TypeError::New(env, std::string("optimizer.") + table + " is missing");
      Napi::Object o = v.As<Napi::Object>();
      s.s1 = f32(o, "s1", len, std::string("optimizer.") + table + ".s1");
      if (optimizer == adkg::OPT_ADAM) s.s2 = f32(o, "s2", len, std::string("optimizer.") + table + ".s2");
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
      // −1: no anchor in that position (src/common/anchor-index.ts).
      for (size_t i = 0; i < N * K; i++)
        if (t.anchorOf[i] < -1 || t.anchorOf[i] >= (int32_t)A)
          throw Napi::RangeError::New(env, "tables.anchorOf[" + std::to_string(i) + "] = " + std::to_string(t.anchorOf[i]) +
                                               " is neither −1 (no anchor) nor in [0, numAnchors = " + std::to_string(A) + ")");
    }
    Napi::Value hp = sm.Get("headProb"), et = sm.Get("entityType"), to = sm.Get("typeOffsets"), tm = sm.Get("typeMembers");
    keep(hp), keep(et), keep(to), keep(tm);
    t.headProb = typedData<double>(hp, napi_float64_array, "sampling.headProb", R);
    t.entityType = typedData<int32_t>(et, napi_int32_array, "sampling.entityType", N);
    t.typeOffsets = typedData<int32_t>(to, napi_int32_array, "sampling.typeOffsets", 1);
    const size_t types = to.As<Napi::TypedArray>().ElementLength();
    t.typeMembers = typedData<int32_t>(tm, napi_int32_array, "sampling.typeMembers", cfg.corruption == adkg::CORRUPT_TYPED ? N : 0);
    if (cfg.corruption == adkg::CORRUPT_TYPED) {
      for (size_t e = 0; e < N; e++)
        if (t.entityType[e] < 0 || (size_t)t.entityType[e] + 1 >= types)
          throw Napi::RangeError::New(env, "sampling.entityType has a type without typeOffsets");
    }
    a.typeCount = (int)types - 1;
    return a;
  }

  void ensureUsable(Napi::Env env) const {
    if (!engine_) throw Napi::Error::New(env, label("this engine was disposed"));
    if (busy_) throw Napi::Error::New(env, label("a call is already in flight (await the previous one)"));
  }

  // (heads, relations, tails, epoch, offset, step, ...): a copy of the batch, checked by the engine.
  adkg::BatchInput batchFrom(const Napi::CallbackInfo& info) const {
    Napi::Env env = info.Env();
    if (info.Length() < 6) throw Napi::TypeError::New(env, "expected (heads, relations, tails, epoch, offset, step, ...)");
    adkg::BatchInput b;
    b.heads = copyInt32(info[0], "batch.heads");
    b.relations = copyInt32(info[1], "batch.relations");
    b.tails = copyInt32(info[2], "batch.tails");
    b.epoch = (uint32_t)(int64_t)numberArg(info[3], "batch.epoch");
    b.offset = numberArg(info[4], "batch.offset");
    b.step = numberArg(info[5], "batch.step");
    std::string err = adkg::checkBatch(engine_->config(), b);
    if (!err.empty()) throw Napi::RangeError::New(env, label("batch " + err));
    return b;
  }

  // Queues `work` on a worker; the promise resolves with resolve(env). keepAlive: the JS arrays it touches.
  Napi::Value start(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> resolve,
                    std::vector<Napi::Value> keepAlive) {
    keepAlive.push_back(this->Value());  // the wrap (and so the engine) itself
    auto* w = new PromiseWorker(env, Wrap::names.resourceName, Wrap::names.workErrorPrefix, std::move(work),
                                std::move(resolve), std::move(keepAlive), &busy_);
    busy_ = true;
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  void keep(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

  // refs_ before engine_: members die in reverse order, so the engine (which may unregister the JS tables it
  // works on, as cuda's page-locked ones) goes before the references that keep those tables alive, also when
  // GC finalizes the wrap.
  std::vector<Napi::ObjectReference> refs_;
  std::unique_ptr<Engine> engine_;
  bool busy_ = false;

 private:
  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    ensureUsable(info.Env());
    auto b = std::make_shared<adkg::BatchInput>(batchFrom(info));
    auto loss = std::make_shared<double>(0);
    Engine* e = engine_.get();
    return start(info.Env(), [e, b, loss] { *loss = e->train(*b); },
                 [loss](Napi::Env env) { return Napi::Number::New(env, *loss); }, {});
  }

  // gradients(heads, relations, tails, epoch, offset, step, {entity, relation, projection?, anchor?, anchorLogit?}: Float64Array)
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    auto b = std::make_shared<adkg::BatchInput>(batchFrom(info));
    if (info.Length() < 7 || !info[6].IsObject()) throw Napi::TypeError::New(env, "gradients: outputs object missing");
    const auto& c = engine_->config();
    Napi::Object o = info[6].As<Napi::Object>();
    adkg::GradientOutputs out;
    std::vector<Napi::Value> keepAlive;
    auto f64 = [&](const char* key, size_t len) -> double* {
      Napi::Value v = o.Get(key);
      if (v.IsUndefined() || v.IsNull()) return nullptr;
      keepAlive.push_back(v);
      return typedData<double>(v, napi_float64_array, std::string("gradients.") + key, len);
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
    auto b = std::make_shared<adkg::BatchInput>(batchFrom(info));
    size_t len = b->heads.size() * (size_t)engine_->config().negatives;
    int32_t* ent = typedData<int32_t>(info[6], napi_int32_array, "entities", len);
    uint8_t* head = typedData<uint8_t>(info[7], napi_uint8_array, "corruptHead", len);
    Engine* e = engine_.get();
    return start(env, [e, b, ent, head] { e->sample(*b, ent, head); }, [](Napi::Env env) { return env.Undefined(); },
                 {info[6], info[7]});
  }

  // scoreAll(side: 1 tail | 0 head, known: Int32Array, relations: Int32Array, out: Float32Array(Q·N))
  Napi::Value ScoreAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    const auto& c = engine_->config();
    const double side = numberArg(info[0], "scoreAll: side");
    if (side != 0 && side != 1) throw Napi::RangeError::New(env, "scoreAll: side must be 1 (tail) or 0 (head)");
    auto known = std::make_shared<std::vector<int32_t>>(copyInt32(info[1], "queries.known"));
    auto rels = std::make_shared<std::vector<int32_t>>(copyInt32(info[2], "queries.relations"));
    if (known->size() != rels->size()) throw Napi::RangeError::New(env, "scoreAll: known and relations differ in length");
    for (size_t i = 0; i < known->size(); i++)
      if ((*known)[i] < 0 || (*known)[i] >= c.N || (*rels)[i] < 0 || (*rels)[i] >= c.R)
        throw Napi::RangeError::New(env, "scoreAll: query " + std::to_string(i) + " is out of range");
    float* out = typedData<float>(info[3], napi_float32_array, "out", known->size() * (size_t)c.N);
    Engine* e = engine_.get();
    const int s = (int)side;
    return start(env, [e, s, known, rels, out] { e->scoreAll(s, *known, *rels, out); },
                 [](Napi::Env env) { return env.Undefined(); }, {info[3]});
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), label("dispose() while a call is in flight"));
    engine_.reset();
    refs_.clear();
    return info.Env().Undefined();
  }
};

}  // namespace adkg::napi_glue
