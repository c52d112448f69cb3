// N-API surface of the CUDA KGE backend (src/kge/backends/cuda/addon.ts describes it). The same shape as
// the native addon: tables stay in JS memory (referenced while the engine lives), every compute call runs
// on a libuv worker thread (Napi::AsyncWorker) and returns a Promise, so the event loop — a BullMQ
// worker's lock renewal among others — keeps running while the GPU trains.
#include <napi.h>

#include <functional>
#include <memory>

#include "cuda_engine.h"

namespace {

using adkg::BatchInput;
using adkg_cuda::CudaEngine;

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

std::vector<int32_t> copyInt32(const Napi::Value& v, const char* what) {
  int32_t* p = typedData<int32_t>(v, napi_int32_array, what, 0);
  size_t n = v.As<Napi::TypedArray>().ElementLength();
  return std::vector<int32_t>(p, p + n);
}

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> resolve,
                std::vector<Napi::Value> keepAlive, bool* busy)
      : Napi::AsyncWorker(env, "adkg-cuda"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        resolve_(std::move(resolve)), busy_(busy) {
    for (auto& v : keepAlive) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
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

class CudaEngineWrap : public Napi::ObjectWrap<CudaEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaEngine",
                       {InstanceMethod("trainBatch", &CudaEngineWrap::TrainBatch),
                        InstanceMethod("trainRun", &CudaEngineWrap::TrainRun),
                        InstanceMethod("gradients", &CudaEngineWrap::Gradients),
                        InstanceMethod("sampleNegatives", &CudaEngineWrap::SampleNegatives),
                        InstanceMethod("scoreAll", &CudaEngineWrap::ScoreAll),
                        InstanceMethod("dispose", &CudaEngineWrap::Dispose)});
  }

  // new CudaEngine(config, tables, optimizer, sampling, options)
  explicit CudaEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsObject() ||
        !info[4].IsObject())
      throw Napi::TypeError::New(env, "CudaEngine(config, tables, optimizer, sampling, options) expects five objects");
    Napi::Object c = info[0].As<Napi::Object>();
    auto num = [&](Napi::Object o, const char* key) {
      Napi::Value v = o.Get(key);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(key) + " must be a number");
      return v.As<Napi::Number>().DoubleValue();
    };
    adkg::EngineConfig cfg;
    cfg.model = (int)num(c, "model");
    cfg.N = (int64_t)num(c, "numEntities");
    cfg.R = (int)num(c, "numRelations");
    cfg.d = (int)num(c, "dim");
    cfg.k = (int)num(c, "relDim");
    cfg.A = (int)num(c, "numAnchors");
    cfg.K = (int)num(c, "anchorsPerEntity");
    cfg.loss = (int)num(c, "loss");
    cfg.norm = (int)num(c, "norm");
    cfg.margin = num(c, "margin");
    cfg.tau = num(c, "adversarialTemperature");
    cfg.negatives = (int)num(c, "negatives");
    cfg.sampling = (int)num(c, "sampling");
    cfg.chunkSize = (int)num(c, "chunkSize");
    cfg.corruption = (int)num(c, "corruption");
    cfg.entityOptimizer = (int)num(c, "entityOptimizer");
    cfg.relationOptimizer = (int)num(c, "relationOptimizer");
    cfg.lr = num(c, "lr");
    cfg.relationLr = num(c, "relationLr");
    cfg.unitBall = num(c, "unitBall") != 0;
    cfg.learnAnchorWeights = num(c, "learnAnchorWeights") != 0;
    cfg.seed = (uint32_t)num(c, "seed");
    if (cfg.N <= 0 || cfg.R <= 0 || cfg.d <= 0 || cfg.k <= 0 || cfg.negatives <= 0 || cfg.chunkSize <= 0)
      throw Napi::RangeError::New(env, "CudaEngine: entities, relations, dims, negatives and chunkSize must be positive");
    if (cfg.model == adkg::MODEL_TRANSE && cfg.k != cfg.d) throw Napi::RangeError::New(env, "TransE needs relDim = dim");

    Napi::Object tb = info[1].As<Napi::Object>(), op = info[2].As<Napi::Object>(), sm = info[3].As<Napi::Object>();
    Napi::Object oo = info[4].As<Napi::Object>();
    const size_t N = (size_t)cfg.N, R = (size_t)cfg.R, d = (size_t)cfg.d, k = (size_t)cfg.k, A = (size_t)cfg.A,
                 K = (size_t)cfg.K;
    const int ADAM = 1;
    adkg::EngineTables t;
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
      if (optimizer == ADAM) s.s2 = f32(o, "s2", len, std::string("optimizer.") + table + ".s2");
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
    adkg_cuda::EngineOptions opt;
    if (oo.Get("placement").IsString()) opt.placement = oo.Get("placement").As<Napi::String>().Utf8Value();
    if (opt.placement != "auto" && opt.placement != "resident" && opt.placement != "hybrid")
      throw Napi::RangeError::New(env, "options.placement must be auto, resident or hybrid, got " + opt.placement);
    if (oo.Get("memoryBudget").IsNumber()) opt.memoryBudget = oo.Get("memoryBudget").As<Napi::Number>().DoubleValue();
    if (oo.Get("hotRows").IsNumber()) opt.hotRows = (int64_t)oo.Get("hotRows").As<Napi::Number>().DoubleValue();
    if (oo.Get("gemm").IsString()) {
      const std::string g = oo.Get("gemm").As<Napi::String>().Utf8Value();
      opt.gemm = adkg_cuda::gemmMathFromName(g);
      if (opt.gemm < 0) throw Napi::RangeError::New(env, "options.gemm must be simt, tf32x3 or tf32, got " + g);
    }
    if (!oo.Get("gemmBlocks").IsUndefined()) {
      const double b = oo.Get("gemmBlocks").ToNumber().DoubleValue();
      if (b != 1 && b != 2) throw Napi::RangeError::New(env, "options.gemmBlocks must be 1 or 2, got " + oo.Get("gemmBlocks").ToString().Utf8Value());
      opt.gemmBlocks = (int)b;
    }
    if (!oo.Get("gemmTile").IsUndefined()) {
      const std::string tile = oo.Get("gemmTile").ToString().Utf8Value();
      opt.gemmTile = adkg_cuda::gemmTileFromName(tile);
      if (opt.gemmTile < 0) throw Napi::RangeError::New(env, "options.gemmTile must be element, chunk, wgmma or stationary, got " + tile);
    }
    if (!oo.Get("projectedDistance").IsUndefined()) {
      const std::string form = oo.Get("projectedDistance").ToString().Utf8Value();
      if (form != "direct" && form != "gram")
        throw Napi::RangeError::New(env, "options.projectedDistance must be direct or gram, got " + form);
      opt.gram = form == "gram";
    }
    if (!oo.Get("sharedLoss").IsUndefined()) {
      const std::string access = oo.Get("sharedLoss").ToString().Utf8Value();
      if (access != "element" && access != "vector")
        throw Napi::RangeError::New(env, "options.sharedLoss must be element or vector, got " + access);
      opt.vecSharedLoss = access == "vector";
    }
    opt.typeCount = (int)types - 1;
    try {
      engine_ = std::make_unique<CudaEngine>(cfg, t, opt);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  void keep(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  void ensureUsable(Napi::Env env) {
    if (!engine_) throw Napi::Error::New(env, "cuda backend: this engine was disposed");
    if (busy_) throw Napi::Error::New(env, "cuda backend: a call is already in flight (await the previous one)");
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
    if (!err.empty()) throw Napi::RangeError::New(env, "cuda backend: batch " + err);
    return b;
  }
  Napi::Value start(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> resolve,
                    std::vector<Napi::Value> keepAlive) {
    keepAlive.push_back(Value());
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
    CudaEngine* e = engine_.get();
    return start(info.Env(), [e, b, loss] { *loss = e->train(*b); },
                 [loss](Napi::Env env) { return Napi::Number::New(env, *loss); }, {});
  }

  // trainRun(heads, relations, tails, epoch, offset, batchSize, firstStep, losses: Float64Array(batches), keepOnDevice?)
  //   → Promise<{placement, hotRows, syncInSeconds, stepSeconds, syncOutSeconds, reusedDeviceTables, projectedDistance,
  //      residentBytes, gemmTile, sharedLoss}>
  Napi::Value TrainRun(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    if (info.Length() < 8) throw Napi::TypeError::New(env, "trainRun(heads, relations, tails, epoch, offset, batchSize, firstStep, losses)");
    auto in = std::make_shared<adkg_cuda::RunInput>();
    BatchInput check;
    check.heads = copyInt32(info[0], "heads");
    check.relations = copyInt32(info[1], "relations");
    check.tails = copyInt32(info[2], "tails");
    std::string err = engine_->check(check);
    if (!err.empty()) throw Napi::RangeError::New(env, "cuda backend: trainRun " + err);
    in->heads = std::move(check.heads);
    in->relations = std::move(check.relations);
    in->tails = std::move(check.tails);
    in->epoch = (uint32_t)info[3].As<Napi::Number>().Int64Value();
    in->offset = info[4].As<Napi::Number>().DoubleValue();
    in->batchSize = info[5].As<Napi::Number>().Int32Value();
    in->firstStep = info[6].As<Napi::Number>().DoubleValue();
    if (in->batchSize <= 0) throw Napi::RangeError::New(env, "trainRun: batchSize must be positive");
    in->keepOnDevice = info.Length() > 8 && info[8].IsBoolean() && info[8].As<Napi::Boolean>().Value();
    size_t batches = (in->heads.size() + in->batchSize - 1) / in->batchSize;
    double* losses = typedData<double>(info[7], napi_float64_array, "losses", batches);
    auto res = std::make_shared<adkg_cuda::RunResult>();
    CudaEngine* e = engine_.get();
    return start(env, [e, in, losses, res] { *res = e->trainRun(*in, losses); },
                 [res](Napi::Env env) {
                   Napi::Object o = Napi::Object::New(env);
                   o.Set("placement", res->placement);
                   o.Set("hotRows", (double)res->hotRows);
                   o.Set("syncInSeconds", res->syncInSeconds);
                   o.Set("stepSeconds", res->stepSeconds);
                   o.Set("syncOutSeconds", res->syncOutSeconds);
                   o.Set("reusedDeviceTables", res->reusedDeviceTables);
                   o.Set("projectedDistance", res->gram ? "gram" : "direct");
                   o.Set("residentBytes", res->residentBytes);
                   o.Set("gemmTile", res->gemmTile);
                   o.Set("sharedLoss", res->sharedLoss);
                   return o;
                 },
                 {info[7]});
  }

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
    CudaEngine* e = engine_.get();
    return start(env, [e, b, loss, out] { *loss = e->gradients(*b, out); },
                 [loss](Napi::Env env) { return Napi::Number::New(env, *loss); }, keepAlive);
  }

  Napi::Value SampleNegatives(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    auto b = std::make_shared<BatchInput>(batchFrom(info));
    size_t len = b->heads.size() * (size_t)engine_->config().negatives;
    int32_t* ent = typedData<int32_t>(info[6], napi_int32_array, "entities", len);
    uint8_t* head = typedData<uint8_t>(info[7], napi_uint8_array, "corruptHead", len);
    CudaEngine* e = engine_.get();
    return start(env, [e, b, ent, head] { e->sample(*b, ent, head); }, [](Napi::Env env) { return env.Undefined(); },
                 {info[6], info[7]});
  }

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
    CudaEngine* e = engine_.get();
    return start(env, [e, side, known, rels, out] { e->scoreAll(side, *known, *rels, out); },
                 [](Napi::Env env) { return env.Undefined(); }, {info[3]});
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "cuda backend: dispose() while a call is in flight");
    engine_.reset();
    refs_.clear();
    return info.Env().Undefined();
  }

  // refs_ before engine_: members die in reverse order, so the engine (which unregisters the page-locked
  // JS tables) goes before the references that keep those tables alive, also when GC finalizes the wrap.
  std::vector<Napi::ObjectReference> refs_;
  std::unique_ptr<CudaEngine> engine_;
  bool busy_ = false;
};

// info(): {ok, reason?, device?, computeCapability?, memoryBytes?} without creating an engine.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  std::string name;
  int major = 0, minor = 0;
  double total = 0;
  std::string why = adkg_cuda::deviceStatus(&name, &major, &minor, &total);
  out.Set("ok", why.empty());
  if (!why.empty()) out.Set("reason", why);
  if (!name.empty()) {
    out.Set("device", name);
    out.Set("computeCapability", std::to_string(major) + "." + std::to_string(minor));
    out.Set("memoryBytes", total);
  }
  return out;
}

#ifdef ADKG_EMU_ENGINE
// The host emulation's build only (cuda/build.js --emulation): emulationOrder('forward' | 'reverse') sets the order in
// which emulated blocks and the threads of a block run (cuda/test/emu), so that a test can run the battery once each
// way: a race between lanes or blocks that one order hides, the other shows.
Napi::Value EmulationOrder(const Napi::CallbackInfo& info) {
  const std::string order = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (order != "forward" && order != "reverse")
    throw Napi::RangeError::New(info.Env(), "emulationOrder must be forward or reverse, got " + order);
  emu::reverseOrder = order == "reverse";
  return info.Env().Undefined();
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("CudaEngine", CudaEngineWrap::Define(env));
#ifdef ADKG_EMU_ENGINE
  exports.Set("emulationOrder", Napi::Function::New(env, EmulationOrder, "emulationOrder"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(adkg_cuda, Init)
