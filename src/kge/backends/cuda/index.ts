export { CudaBackend, cudaBackendFactory, type TrainRunResult } from './cuda-backend';
export type { TrainRun } from '../backend';
export { cudaAddonPath, cudaDeviceInfo, cudaUnavailableReason, loadCudaAddon, type CudaEngineOptions, type CudaPlacement } from './addon';
