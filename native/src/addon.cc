#include <napi.h>
#include <thread>
#include "kernels.h"

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", adkg::kernels().isa);
  out.Set("hardwareThreads", (double)std::thread::hardware_concurrency());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(adkg_native, Init)
