export { CudaBackend, cudaBackendFactory, type TrainRunResult } from './cuda-backend';
export type { TrainRun } from '../backend';
export { CUDA_GEMMS, cudaAddonPath, cudaDeviceInfo, cudaUnavailableReason, loadCudaAddon, type CudaEngineOptions, type CudaGemm, type CudaPlacement } from './addon';
