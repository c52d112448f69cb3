export { AttentionFinetuner, relationSpaces, USER_PIN_RELATIONS, USER_ADVERTISER_RELATIONS, type RelationSpaces } from './attention-finetuner';
