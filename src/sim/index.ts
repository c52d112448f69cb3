/** The ad-interaction simulator with ground truth (issue 3). */
export { simulate, SIM_FILES } from './simulate';
export type { SimManifest, SimulateOptions } from './simulate';
export { DEFAULT_SIM_CONFIG, ATTRIBUTION_WINDOW_DAYS, ATTRIBUTION_RULE, SimConfigError, resolveSimConfig } from './config';
export type { SimConfig } from './config';
export { CORRUPT_KINDS, OVERSIZED_ID_LENGTH } from './corruption';
export type { CorruptKind } from './corruption';
export { VERTICALS } from './world';
export { ACTIONS, SURFACES } from './event-buffer';
