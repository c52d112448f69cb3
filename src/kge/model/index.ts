export * from './model-tables';
