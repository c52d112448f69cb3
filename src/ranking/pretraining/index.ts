export { pretrainUserPinContrastive, type ContrastiveFacet, type ContrastiveOptions } from './contrastive';
