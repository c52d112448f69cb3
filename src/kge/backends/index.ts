export * from './backend';
export * from './registry';
