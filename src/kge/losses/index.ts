export * from './loss';
export * from './self-adversarial';
