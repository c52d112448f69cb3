// Advertisers with the most offsite conversions (CHECKOUT, SIGNUP, LEAD) per onsite click on their pins,
// within a time window. A high ratio means clicks on the advertiser's ads turn into business offsite;
// advertisers below minClicks are left out so one lucky click does not top the list.
// @param from time 0 - window start, inclusive (ISO-8601 with zone, a date, or epoch ms)
// @param to time 9223372036854775807 - window end, exclusive (ISO-8601 with zone, a date, or epoch ms)
// @param minClicks int 1 - least onsite clicks an advertiser needs to be listed
// @param limit int 20 - rows to return
MATCH (a:Advertiser)
WITH a,
     COUNT { (:User)-[c:CLICKED]->(:Pin)-[:PROMOTED_BY]->(a) WHERE $from <= c.ts < $to } AS clicks,
     COUNT { (:User)-[v:CHECKOUT|SIGNUP|LEAD]->(a) WHERE $from <= v.ts < $to } AS conversions
WHERE clicks >= $minClicks
RETURN a.id AS advertiser, a.vertical AS vertical, clicks, conversions,
       CASE WHEN clicks = 0 THEN null ELSE round(toFloat(conversions) / clicks, 4) END AS conversionsPerClick
ORDER BY coalesce(conversionsPerClick, -1.0) DESC, conversions DESC, advertiser  // nulls (no clicks) last
LIMIT $limit;
