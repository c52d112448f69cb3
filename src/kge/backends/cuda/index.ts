export { CudaBackend, cudaBackendFactory, type TrainRunResult } from './cuda-backend';
export type { TrainRun } from '../backend';
export { CUDA_GEMMS, CUDA_STAGINGS, cudaAddonPath, cudaDeviceInfo, cudaUnavailableReason, loadCudaAddon, type CudaEngineOptions, type CudaGemm, type CudaPlacement, type CudaStaging } from './addon';
