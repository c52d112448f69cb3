// The two-hop neighbourhood of one pin, summarised by relation type: which relations lead out of the pin
// (IMPRESSED/CLICKED… from users, PROMOTED_BY, IN_CATEGORY), through what kind of node, and which
// relations from there reach how many distinct second-hop entities. Directions are ignored.
// @param pinId string - the pin at the centre
// @param limit int 50 - rows to return
MATCH (p:Pin {id: $pinId})-[r1]-(n1)-[r2]-(n2)
WHERE n2 <> p AND r2 <> r1
RETURN type(r1) AS firstHop, labels(n1)[0] AS via, type(r2) AS secondHop, labels(n2)[0] AS reaches,
       count(DISTINCT n1) AS viaNodes, count(DISTINCT n2) AS reachedNodes, count(*) AS paths
ORDER BY paths DESC, firstHop, secondHop, reaches
LIMIT $limit;
