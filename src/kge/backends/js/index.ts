export { JsBackend, jsBackendFactory } from './js-backend';
