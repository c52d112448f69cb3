// N-API surface of the CUDA KGE backend (src/kge/backends/cuda/addon.ts describes it). The engine object is
// native/src/engine_napi.h's, shared with the native addon: tables stay in JS memory (referenced while the
// engine lives), every compute call runs on a libuv worker thread (Napi::AsyncWorker) and returns a Promise,
// so the event loop — a BullMQ worker's lock renewal among others — keeps running while the GPU trains.
#include <napi.h>

#include <memory>
#include <string>

#include "../../native/src/engine_napi.h"
#include "cuda_engine.h"

namespace {

using adkg::napi_glue::copyInt32;
using adkg::napi_glue::EngineArgs;
using adkg::napi_glue::EngineWrap;
using adkg::napi_glue::numberArg;
using adkg::napi_glue::typedData;
using adkg::napi_glue::WrapNames;
using adkg_cuda::CudaEngine;

// The engine object of src/kge/backends/cuda/cuda-backend.ts: engine_napi.h's calls, the engine options and trainRun.
class CudaEngineWrap : public EngineWrap<CudaEngineWrap, CudaEngine> {
 public:
  // A worker's errors are the engine's own, which already name the cuda backend.
  static constexpr WrapNames names{"CudaEngine", "cuda backend", "adkg-cuda", ""};
  static Napi::Function Define(Napi::Env env) { return DefineWith(env, {{"trainRun", &CudaEngineWrap::TrainRun}}); }

  // new CudaEngine(config, tables, optimizer, sampling, options)
  explicit CudaEngineWrap(const Napi::CallbackInfo& info) : EngineWrap(info) {
    Napi::Env env = info.Env();
    EngineArgs a = readEngineArgs(info, 5, "CudaEngine(config, tables, optimizer, sampling, options) expects five objects", false);
    Napi::Object oo = info[4].As<Napi::Object>();
    adkg_cuda::EngineOptions opt;
    if (!oo.Get("placement").IsUndefined()) opt.placement = oo.Get("placement").ToString().Utf8Value();
    if (opt.placement != "auto" && opt.placement != "resident" && opt.placement != "hybrid")
      throw Napi::RangeError::New(env, "options.placement must be auto, resident or hybrid, got " + opt.placement);
    if (!oo.Get("memoryBudget").IsUndefined()) {
      opt.memoryBudget = numberArg(oo.Get("memoryBudget"), "options.memoryBudget");
      if (!(opt.memoryBudget > 0)) throw Napi::RangeError::New(env, "options.memoryBudget must be a number of bytes > 0");
    }
    if (!oo.Get("hotRows").IsUndefined()) {
      const double hot = numberArg(oo.Get("hotRows"), "options.hotRows");
      if (!(hot >= 0 && hot == (double)(int64_t)hot)) throw Napi::RangeError::New(env, "options.hotRows must be a whole number of rows ≥ 0");
      opt.hotRows = (int64_t)hot;
    }
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
    if (!oo.Get("staging").IsUndefined()) {
      const std::string staging = oo.Get("staging").ToString().Utf8Value();
      if (staging != "copy" && staging != "mapped")
        throw Napi::RangeError::New(env, "options.staging must be copy or mapped, got " + staging);
      opt.mappedStaging = staging == "mapped";
    }
    opt.typeCount = a.typeCount;
    try {
      engine_ = std::make_unique<CudaEngine>(a.config, a.tables, opt);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  // trainRun(heads, relations, tails, epoch, offset, batchSize, firstStep, losses: Float64Array(batches), keepOnDevice?)
  //   → Promise<{placement, hotRows, syncInSeconds, stepSeconds, syncOutSeconds, reusedDeviceTables, projectedDistance,
  //      residentBytes, gemmTile, sharedLoss, staging}>
  Napi::Value TrainRun(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensureUsable(env);
    if (info.Length() < 8) throw Napi::TypeError::New(env, "trainRun(heads, relations, tails, epoch, offset, batchSize, firstStep, losses)");
    auto in = std::make_shared<adkg_cuda::RunInput>();
    adkg::BatchInput check;
    check.heads = copyInt32(info[0], "heads");
    check.relations = copyInt32(info[1], "relations");
    check.tails = copyInt32(info[2], "tails");
    std::string err = adkg::checkBatch(engine_->config(), check);
    if (!err.empty()) throw Napi::RangeError::New(env, label("trainRun " + err));
    in->heads = std::move(check.heads);
    in->relations = std::move(check.relations);
    in->tails = std::move(check.tails);
    in->epoch = (uint32_t)(int64_t)numberArg(info[3], "trainRun: epoch");
    in->offset = numberArg(info[4], "trainRun: offset");
    const double batchSize = numberArg(info[5], "trainRun: batchSize");
    if (!(batchSize >= 1 && batchSize <= INT32_MAX && batchSize == (int32_t)batchSize))
      throw Napi::RangeError::New(env, "trainRun: batchSize must be a positive integer");
    in->batchSize = (int32_t)batchSize;
    in->firstStep = numberArg(info[6], "trainRun: firstStep");
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
                   o.Set("staging", res->staging);
                   return o;
                 },
                 {info[7]});
  }
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
