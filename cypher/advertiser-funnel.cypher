// One advertiser's funnel from onsite ads to offsite conversions in a time window: impressions, clicks and
// saves on its pins, then page visits, add-to-carts, checkouts (with revenue summed per currency), signups and leads. Each offsite
// event is counted once (on its user→advertiser edge, not the extra user→product edge).
// @param advertiserId string - the advertiser
// @param from time 0 - window start, inclusive (ISO-8601 with zone, a date, or epoch ms)
// @param to time 9223372036854775807 - window end, exclusive (ISO-8601 with zone, a date, or epoch ms)
MATCH (a:Advertiser {id: $advertiserId})
RETURN a.id AS advertiser,
       COUNT { (:User)-[r:IMPRESSED]->(:Pin)-[:PROMOTED_BY]->(a) WHERE $from <= r.ts < $to } AS impressions,
       COUNT { (:User)-[r:CLICKED]->(:Pin)-[:PROMOTED_BY]->(a) WHERE $from <= r.ts < $to } AS clicks,
       COUNT { (:User)-[r:SAVED]->(:Pin)-[:PROMOTED_BY]->(a) WHERE $from <= r.ts < $to } AS saves,
       COUNT { (:User)-[r:PAGE_VISIT]->(a) WHERE $from <= r.ts < $to } AS pageVisits,
       COUNT { (:User)-[r:ADD_TO_CART]->(a) WHERE $from <= r.ts < $to } AS addToCarts,
       COUNT { (:User)-[r:CHECKOUT]->(a) WHERE $from <= r.ts < $to } AS checkouts,
       COLLECT { MATCH (:User)-[r:CHECKOUT]->(a) WHERE $from <= r.ts < $to AND r.value IS NOT NULL
                 WITH coalesce(r.currency, '(none)') AS currency, sum(r.value) AS total ORDER BY currency
                 RETURN currency + ' ' + toString(round(total, 2)) } AS checkoutRevenue,
       COUNT { (:User)-[r:SIGNUP]->(a) WHERE $from <= r.ts < $to } AS signups,
       COUNT { (:User)-[r:LEAD]->(a) WHERE $from <= r.ts < $to } AS leads;
