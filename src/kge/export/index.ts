export * from './npy';
export * from './embedding-export';
