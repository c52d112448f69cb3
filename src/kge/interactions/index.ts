export * from './norm';
export * from './interaction';
export { transeInteraction } from './transe';
export { transrInteraction } from './transr';
import type { ModelName } from '../backends/backend';
import type { Interaction } from './interaction';
import { transeInteraction } from './transe';
import { transrInteraction } from './transr';

/** TransRA shares TransR's interaction; it differs only in how entities are represented. */
export function interactionFor(model: ModelName): Interaction {
  return model === 'transe' ? transeInteraction : transrInteraction;
}
