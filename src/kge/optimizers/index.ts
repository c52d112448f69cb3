export * from './row-gradients';
export * from './row-optimizers';
export * from './constraints';
