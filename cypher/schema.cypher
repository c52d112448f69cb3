// adkg graph schema for Neo4j 5 Community. Applied by Neo4jStore on open (every statement is IF NOT EXISTS).
// Statements end with ';' on their own line end; lines starting with // are comments.
// With a namespace (tests, side-by-side tenants) the store prefixes every label and schema name with "<ns>_".

// One node per id and type: ingestion MERGEs on these, so they are both the lookup index and the guard
// against duplicates under concurrent batches.
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT pin_id IF NOT EXISTS FOR (n:Pin) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT advertiser_id IF NOT EXISTS FOR (n:Advertiser) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT category_id IF NOT EXISTS FOR (n:Category) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT product_id IF NOT EXISTS FOR (n:Product) REQUIRE n.id IS UNIQUE;

// One Event node per stored eventId (with its ts): this constraint is what makes ingestion idempotent.
// The interaction edges carry the same eventId and ts, so analysts and snapshots never need to join.
CREATE CONSTRAINT event_id IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE;

// Erased users, remembered only as sha256(userId): ingestion drops their later events.
CREATE CONSTRAINT tombstone_user_hash IF NOT EXISTS FOR (n:Tombstone) REQUIRE n.userHash IS UNIQUE;

// No index on edge ts: snapshots read whole relation types (the type lookup index), and a range index
// per relation would cost every ingested edge an index update.
