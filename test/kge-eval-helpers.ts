/** Re-exports for the KGE tests (keeps the test files' imports short). */
export * from '../src/kge';
export { jsBackendFactory as jsBackendFactoryForTest } from '../src/kge/backends/js';
