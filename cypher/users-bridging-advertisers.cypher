// Users whose onsite and offsite activity bridge different advertisers: they engaged (click, save,
// closeup) with one advertiser's pins and acted offsite (page visit, add to cart, checkout, signup, lead)
// with another advertiser they never engaged with onsite. These paths are what lets the graph carry signal between advertisers.
// @param limit int 50 - rows to return
MATCH (u:User)-[:CLICKED|SAVED|CLOSEUP]->(:Pin)-[:PROMOTED_BY]->(onsite:Advertiser)
WITH u, collect(DISTINCT onsite) AS onsiteAdvertisers
MATCH (u)-[:PAGE_VISIT|ADD_TO_CART|CHECKOUT|SIGNUP|LEAD]->(offsite:Advertiser)
WHERE NOT offsite IN onsiteAdvertisers
WITH u, onsiteAdvertisers, offsite ORDER BY offsite.id
WITH u, onsiteAdvertisers, collect(DISTINCT offsite.id) AS offsiteOnly
UNWIND onsiteAdvertisers AS a
WITH u, offsiteOnly, a ORDER BY a.id
WITH u, offsiteOnly, collect(a.id) AS engagedOnsite
RETURN u.id AS user, engagedOnsite, offsiteOnly AS convertedOffsiteOnly, size(offsiteOnly) AS bridges
ORDER BY bridges DESC, user
LIMIT $limit;
