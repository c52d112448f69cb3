export * from './entity-representation';
