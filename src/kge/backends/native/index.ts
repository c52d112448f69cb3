export { NativeBackend, nativeBackendFactory } from './native-backend';
export { addonPath, addonUnavailableReason, loadAddon } from './addon';
