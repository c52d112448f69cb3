/**
 * The graph model (DESIGN §3): node types, relations, and which event action becomes which relation.
 * Both stores and the snapshot read these tables, so a new relation is added here once.
 */

export const NODE_TYPES = ['User', 'Pin', 'Advertiser', 'Category', 'Product'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const ONSITE_ACTIONS = ['impression', 'click', 'save', 'closeup', 'hide'] as const;
export type OnsiteAction = (typeof ONSITE_ACTIONS)[number];

export const OFFSITE_ACTIONS = ['page_visit', 'add_to_cart', 'checkout', 'signup', 'lead'] as const;
export type OffsiteAction = (typeof OFFSITE_ACTIONS)[number];

/** user → pin */
export const ONSITE_RELATIONS = ['IMPRESSED', 'CLICKED', 'SAVED', 'CLOSEUP', 'HID'] as const;
export type OnsiteRelation = (typeof ONSITE_RELATIONS)[number];

/** user → advertiser, and user → product when the event names a product */
export const OFFSITE_RELATIONS = ['PAGE_VISIT', 'ADD_TO_CART', 'CHECKOUT', 'SIGNUP', 'LEAD'] as const;
export type OffsiteRelation = (typeof OFFSITE_RELATIONS)[number];

export type InteractionRelation = OnsiteRelation | OffsiteRelation;

/** Catalog structure; these edges carry no time and are part of every snapshot that holds their head. */
export const STRUCTURAL_RELATIONS = ['PROMOTED_BY', 'IN_CATEGORY', 'SOLD_BY'] as const;
export type StructuralRelation = (typeof STRUCTURAL_RELATIONS)[number];

export type RelationName = InteractionRelation | StructuralRelation;

export const ONSITE_RELATION_OF: Readonly<Record<OnsiteAction, OnsiteRelation>> = {
  impression: 'IMPRESSED',
  click: 'CLICKED',
  save: 'SAVED',
  closeup: 'CLOSEUP',
  hide: 'HID',
};

export const OFFSITE_RELATION_OF: Readonly<Record<OffsiteAction, OffsiteRelation>> = {
  page_visit: 'PAGE_VISIT',
  add_to_cart: 'ADD_TO_CART',
  checkout: 'CHECKOUT',
  signup: 'SIGNUP',
  lead: 'LEAD',
};

/** Head and tail node types of each structural relation. */
export const STRUCTURAL_ENDS: Readonly<Record<StructuralRelation, readonly [NodeType, NodeType]>> = {
  PROMOTED_BY: ['Pin', 'Advertiser'],
  IN_CATEGORY: ['Pin', 'Category'],
  SOLD_BY: ['Product', 'Advertiser'],
};

export function isOnsiteRelation(r: string): r is OnsiteRelation {
  return (ONSITE_RELATIONS as readonly string[]).includes(r);
}

export function isOffsiteRelation(r: string): r is OffsiteRelation {
  return (OFFSITE_RELATIONS as readonly string[]).includes(r);
}
