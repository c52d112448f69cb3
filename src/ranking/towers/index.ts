export { initDenseBackend, type BackendName } from './backend';
export { Mlp, Dense, glorot, uniqueName } from './mlp';
