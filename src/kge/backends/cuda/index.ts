export { CudaBackend, cudaBackendFactory, type TrainRun, type TrainRunResult } from './cuda-backend';
export { cudaAddonPath, cudaDeviceInfo, cudaUnavailableReason, loadCudaAddon, type CudaEngineOptions, type CudaPlacement } from './addon';
