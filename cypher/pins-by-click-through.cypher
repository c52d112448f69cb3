// Pins ranked by click-through rate (clicks / impressions) in a time window, with their advertiser and
// category; pins with fewer than minImpressions impressions are left out as too noisy to rank (with 0, pins
// without impressions are listed with a null ctr).
// @param from time 0 - window start, inclusive (ISO-8601 with zone, a date, or epoch ms)
// @param to time 9223372036854775807 - window end, exclusive (ISO-8601 with zone, a date, or epoch ms)
// @param minImpressions int 1 - least impressions a pin needs to be listed
// @param limit int 20 - rows to return
MATCH (p:Pin)
WITH p,
     COUNT { (:User)-[r:IMPRESSED]->(p) WHERE $from <= r.ts < $to } AS impressions,
     COUNT { (:User)-[r:CLICKED]->(p) WHERE $from <= r.ts < $to } AS clicks
WHERE impressions >= $minImpressions
OPTIONAL MATCH (p)-[:PROMOTED_BY]->(a:Advertiser)
OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category)
RETURN p.id AS pin, collect(DISTINCT a.id) AS advertisers, collect(DISTINCT c.id) AS categories,
       impressions, clicks, CASE WHEN impressions = 0 THEN null ELSE round(toFloat(clicks) / impressions, 4) END AS ctr
ORDER BY coalesce(ctr, -1.0) DESC, impressions DESC, pin  // nulls (no impressions) last
LIMIT $limit;
