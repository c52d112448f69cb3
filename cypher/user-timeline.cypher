// Everything the graph holds about one user, newest first: each event's time, relation and target, with
// its edge properties. For support and erasure checks (after `adkg erase --user`, this returns nothing).
// An offsite event with a product is two rows (its user→advertiser and user→product edges); limit counts rows.
// @param userId string - the user
// @param limit int 100 - rows to return
MATCH (u:User {id: $userId})-[r]->(t)
RETURN toString(datetime({epochMillis: r.ts})) AS at, r.eventId AS eventId, type(r) AS relation,
       labels(t)[0] AS targetType, t.id AS target, properties(r) AS properties
ORDER BY r.ts DESC, eventId, targetType
LIMIT $limit;
