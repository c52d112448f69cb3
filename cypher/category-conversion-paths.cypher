// Categories whose pins lead to offsite conversions with the same advertiser: users who clicked or saved
// a pin in the category and later (after the engagement) converted with the pin's advertiser; the rate is
// converted users / engaged users.
// A rough, path-based attribution to compare categories; not a causal estimate.
// @param limit int 20 - rows to return
MATCH (c:Category)<-[:IN_CATEGORY]-(p:Pin)-[:PROMOTED_BY]->(a:Advertiser)
MATCH (u:User)-[e:CLICKED|SAVED]->(p)
WITH c, a, u, min(e.ts) AS firstEngagement
// Users, not (user, advertiser) pairs, on both sides of the rate: a user who converted with two of the category's
// advertisers counts once, so the rate stays a share of engaged users.
WITH c, count(DISTINCT u) AS engagedUsers,
     count(DISTINCT CASE WHEN EXISTS { (u)-[v:CHECKOUT|SIGNUP|LEAD]->(a) WHERE v.ts >= firstEngagement } THEN u END) AS convertedAfter
RETURN c.id AS category, engagedUsers, convertedAfter,
       round(toFloat(convertedAfter) / engagedUsers, 4) AS conversionRate
ORDER BY conversionRate DESC, engagedUsers DESC, category
LIMIT $limit;
