package adkg.neo4j;

import java.io.IOException;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.TreeSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.neo4j.exceptions.KernelException;
import org.neo4j.graphdb.ConstraintViolationException;
import org.neo4j.graphdb.Direction;
import org.neo4j.graphdb.Label;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.NotFoundException;
import org.neo4j.graphdb.Relationship;
import org.neo4j.graphdb.RelationshipType;
import org.neo4j.graphdb.Transaction;
import org.neo4j.internal.kernel.api.NodeValueIndexCursor;
import org.neo4j.internal.kernel.api.PropertyIndexQuery;
import org.neo4j.internal.kernel.api.TokenRead;
import org.neo4j.token.api.TokenConstants;
import org.neo4j.internal.schema.IndexDescriptor;
import org.neo4j.internal.schema.SchemaDescriptors;
import org.neo4j.kernel.api.KernelTransaction;
import org.neo4j.procedure.Context;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;

/**
 * A Neo4jStore batch of interaction events written through the kernel API instead of Cypher: on a 2-core box the
 * Cypher runtime (row pipelines, expression evaluation, MERGE plans, planning) cost more server CPU per event than
 * the storage engine's commit. The semantics are those of the Cypher statements in src/graph/store/neo4j-store.ts,
 * which stay the fallback on servers without this procedure (it also loads as a plugin jar on a stock server):
 * <ul>
 * <li>an event whose Event node exists is a duplicate and writes nothing;</li>
 * <li>User, Pin, Advertiser and Product nodes are found by id or created (MERGE);</li>
 * <li>one Event node {id, ts} per stored event, under the unique constraint on Event.id: the idempotency guard;</li>
 * <li>one interaction edge per event, a second one to the Product when an offsite event names it;</li>
 * <li>PROMOTED_BY (pin→advertiser) and SOLD_BY (product→advertiser) MERGEd once per pair.</li>
 * </ul>
 * Lookups take the index-entry locks Cypher's MERGE takes, in one sorted order, so concurrent batches wait for each
 * other rather than race. What still goes wrong because of a concurrent transaction (a deadlock, an erase that
 * deleted a node we found) fails this call with a message starting {@value #RETRY}: the caller rolls back and
 * retries the batch, and the retry sees the other transaction's work. Null-valued properties are not set, as with Cypher's CREATE.
 * The batch arrives as one JSON string of parallel arrays: packing 10k events × 12 values as Bolt values cost the
 * client (neo4j-driver's per-value type checks) more CPU than reading and validating the events.
 */
public final class IngestProcedures {
    /** Prefix of the messages that mean "roll back and retry the batch" (Neo4jStore looks for it). */
    public static final String RETRY = "adkg-retry:";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, List<Object>>> COLUMNS = new TypeReference<>() {};

    @Context
    public Transaction tx;

    /** For locking unique-index seeks, the kernel's MERGE primitive (as a plugin: dbms.security.procedures.unrestricted=adkg.*). */
    @Context
    public KernelTransaction ktx;

    public static final class WriteResult {
        /** events written now */
        public long stored;
        /** events whose Event node existed already */
        public long duplicates;

        WriteResult(long stored, long duplicates) {
            this.stored = stored;
            this.duplicates = duplicates;
        }
    }

    @Procedure(name = "adkg.writeEvents", mode = Mode.WRITE)
    @Description("adkg ingest: writes a batch of interaction events (see Neo4jStore); the batch is one JSON object of parallel arrays")
    public Stream<WriteResult> writeEvents(@Name("labels") Map<String, Object> labels, @Name("batch") String batch) {
        Map<String, List<Object>> columns;
        try {
            columns = JSON.readValue(batch, COLUMNS);
        } catch (IOException e) {
            throw new IllegalArgumentException("adkg.writeEvents: the batch is not a JSON object of arrays: " + e.getMessage());
        }
        try {
            return Stream.of(write(labels, columns));
        } catch (RuntimeException e) {
            // A deadlock with a concurrent batch reaches the client as a failed procedure call, which drivers do not
            // retry: mark it (no cause attached: Neo4j reports a procedure failure by its root cause's message).
            for (Throwable x = e; x != null; x = x.getCause()) {
                if (x.getClass().getSimpleName().contains("Deadlock")) throw new IllegalStateException(RETRY + " deadlock with a concurrent batch (" + x.getMessage() + ")");
            }
            throw e;
        }
    }

    /** Column of the batch by its key (the keys Neo4jStore.writeEventsProcedure sends), checked for length. */
    private static List<Object> column(Map<String, List<Object>> columns, String key, int n) {
        List<Object> c = columns.get(key);
        if (c == null) throw new IllegalArgumentException("adkg.writeEvents: the batch has no \"" + key + "\" array");
        if (n >= 0 && c.size() != n) throw new IllegalArgumentException("adkg.writeEvents: batch arrays differ in length (\"" + key + "\" has " + c.size() + ", \"e\" " + n + ")");
        return c;
    }

    private WriteResult write(Map<String, Object> labels, Map<String, List<Object>> columns) {
        List<Object> eventIds = column(columns, "e", -1);
        int n = eventIds.size();
        List<Object> ts = column(columns, "t", n), relationTypes = column(columns, "r", n), offsite = column(columns, "off", n);
        List<Object> userIds = column(columns, "u", n), pinIds = column(columns, "p", n), advertiserIds = column(columns, "a", n);
        List<Object> productIds = column(columns, "pr", n), surfaces = column(columns, "s", n), values = column(columns, "v", n);
        List<Object> currencies = column(columns, "c", n);
        Nodes events = new Nodes(label(labels, "Event"));
        Nodes users = new Nodes(label(labels, "User"));
        Nodes pins = new Nodes(label(labels, "Pin"));
        Nodes advertisers = new Nodes(label(labels, "Advertiser"));
        Nodes products = new Nodes(label(labels, "Product"));
        Map<String, RelationshipType> types = new HashMap<>();
        // Distinct (from, to) pairs: a pin or product may name more than one advertiser across events.
        Map<Node, Set<Node>> promoted = new HashMap<>(), soldBy = new HashMap<>();
        // Every lock this batch takes on index entries, in one global order (label by label, ids sorted), as the
        // Cypher path's sorted MERGEs do: concurrent batches then queue for each other instead of deadlocking.
        Map<String, Node> fresh = new HashMap<>();
        for (String id : sortedDistinct(eventIds, null)) {
            events.merge(id);
            if (events.created != null) fresh.put(id, events.created);
        }
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) keep[i] = fresh.containsKey((String) eventIds.get(i));
        for (String id : sortedDistinct(userIds, keep)) users.merge(id);
        for (String id : sortedDistinct(pinIds, keep)) pins.merge(id);
        for (String id : sortedDistinct(advertiserIds, keep)) advertisers.merge(id);
        for (String id : sortedDistinct(productIds, keep)) products.merge(id);
        long stored = 0, duplicates = 0;
        for (int i = 0; i < n; i++) {
            String id = (String) eventIds.get(i);
            long t = ((Number) ts.get(i)).longValue();
            Node eventNode = fresh.remove(id);
            if (eventNode == null) {
                duplicates++;
                continue;
            }
            eventNode.setProperty("ts", t);
            RelationshipType type = types.computeIfAbsent((String) relationTypes.get(i), RelationshipType::withName);
            Node user = users.merge((String) userIds.get(i));
            Node advertiser = advertisers.merge((String) advertiserIds.get(i));
            if (!Boolean.TRUE.equals(offsite.get(i))) {
                Node pin = pins.merge((String) pinIds.get(i));
                Relationship r = link(user, pin, type, id, t);
                setIfPresent(r, "surface", surfaces.get(i));
                if (advertiser != null) promoted.computeIfAbsent(pin, k -> new HashSet<>()).add(advertiser);
            } else {
                Relationship r = link(user, advertiser, type, id, t);
                // JSON gives 12 for 12.0; Cypher's path stores every value as a float, so this one does too.
                Object value = values.get(i);
                setIfPresent(r, "value", value == null ? null : ((Number) value).doubleValue());
                setIfPresent(r, "currency", currencies.get(i));
                setIfPresent(r, "pinId", pinIds.get(i));
                Node product = products.merge((String) productIds.get(i));
                if (product != null) {
                    link(user, product, type, id, t);
                    soldBy.computeIfAbsent(product, k -> new HashSet<>()).add(advertiser);
                }
            }
            stored++;
        }
        RelationshipType promotedBy = RelationshipType.withName("PROMOTED_BY"), soldByType = RelationshipType.withName("SOLD_BY");
        promoted.forEach((pin, ads) -> ads.forEach(advertiser -> mergeEdge(pin, advertiser, promotedBy)));
        soldBy.forEach((product, ads) -> ads.forEach(advertiser -> mergeEdge(product, advertiser, soldByType)));
        return new WriteResult(stored, duplicates);
    }

    /** The distinct non-null ids of a column (of the rows kept, when keep is given), sorted. */
    private static List<String> sortedDistinct(List<Object> column, boolean[] keep) {
        TreeSet<String> ids = new TreeSet<>();
        for (int i = 0; i < column.size(); i++) {
            Object id = column.get(i);
            if (id != null && (keep == null || keep[i])) ids.add((String) id);
        }
        return new ArrayList<>(ids);
    }

    private static Label label(Map<String, Object> labels, String key) {
        Object name = labels.get(key);
        if (!(name instanceof String s) || s.isEmpty()) throw new IllegalArgumentException("adkg.writeEvents: labels." + key + " is missing");
        return Label.label(s);
    }

    /**
     * Nodes of one label found by id, or created: MERGE on the unique id, once per id per batch. The seek is the
     * kernel's locking unique-index seek, as Cypher's MERGE uses: when the id is absent it locks the index entry, so a
     * concurrent batch with the same new id waits for our commit and then finds our node instead of racing us.
     */
    private final class Nodes {
        private final Label label;
        private final int propertyKey;
        private final IndexDescriptor index;
        private final Map<String, Node> byId = new HashMap<>();
        /** The node the last merge created (null when it found an existing one). */
        Node created;

        Nodes(Label label) {
            this.label = label;
            TokenRead tokens = ktx.tokenRead();
            int labelId = tokens.nodeLabel(label.name());
            this.propertyKey = tokens.propertyKey("id");
            IndexDescriptor unique = null;
            if (labelId != TokenConstants.NO_TOKEN && propertyKey != TokenConstants.NO_TOKEN) {
                var it = ktx.schemaRead().indexForSchemaNonTransactional(SchemaDescriptors.forLabel(labelId, propertyKey));
                while (it.hasNext()) {
                    IndexDescriptor d = it.next();
                    if (d.isUnique()) unique = d;
                }
            }
            if (unique == null) throw new IllegalStateException("adkg.writeEvents: no uniqueness constraint on " + label.name() + ".id (Neo4jStore applies cypher/schema.cypher on open)");
            this.index = unique;
        }

        /** The node with this id: found, or created now (then also in {@link #created}); null for a null id. */
        Node merge(String id) {
            created = null;
            if (id == null) return null;
            Node node = byId.get(id);
            if (node != null) return node;
            long found;
            try (NodeValueIndexCursor cursor = ktx.cursors().allocateNodeValueIndexCursor(ktx.cursorContext(), ktx.memoryTracker())) {
                found = ktx.dataRead().lockingNodeUniqueIndexSeek(index, cursor, PropertyIndexQuery.exact(propertyKey, id));
            } catch (KernelException e) {
                throw new IllegalStateException("adkg.writeEvents: seek on " + label.name() + ".id failed: " + e.getMessage(), e);
            }
            if (found == -1) {
                node = tx.createNode(label);
                setUnique(node, label, id);
                created = node;
            } else {
                node = getNode(found);
            }
            byId.put(id, node);
            return node;
        }
    }

    @SuppressWarnings("deprecation") // an id the locking seek just returned, in this transaction
    private Node getNode(long id) {
        return tx.getNodeById(id);
    }

    /** Sets the unique id; a concurrent transaction's node with the same id makes this batch retry. */
    private static void setUnique(Node node, Label label, String id) {
        try {
            node.setProperty("id", id);
        } catch (RuntimeException conflict) {
            // The constraint surfaces as ConstraintViolationException or, when the other transaction committed while
            // we waited for its lock, as a raw IndexEntryConflictException: both mean another batch won.
            // No cause attached: Neo4j reports a failed procedure by its root cause's message, which must carry the mark.
            throw new ConstraintViolationException(RETRY + " a concurrent batch created " + label.name() + " " + id + " (" + conflict + ")");
        }
    }

    private static Relationship link(Node from, Node to, RelationshipType type, String eventId, long ts) {
        Relationship r;
        try {
            r = from.createRelationshipTo(to, type);
        } catch (NotFoundException gone) {
            // A node found at the start of this batch was erased and committed meanwhile.
            throw new NotFoundException(RETRY + " a node of this batch was deleted meanwhile (" + gone + ")");
        }
        r.setProperty("eventId", eventId);
        r.setProperty("ts", ts);
        return r;
    }

    /** MERGE (from)-[:type]->(to): checked, then re-checked under from's lock, so concurrent batches create it once. */
    private void mergeEdge(Node from, Node to, RelationshipType type) {
        if (hasEdge(from, to, type)) return;
        tx.acquireWriteLock(from);
        if (!hasEdge(from, to, type)) from.createRelationshipTo(to, type);
    }

    private static boolean hasEdge(Node from, Node to, RelationshipType type) {
        try (var rels = from.getRelationships(Direction.OUTGOING, type)) {
            for (Relationship r : rels) if (r.getEndNode().equals(to)) return true;
        }
        return false;
    }

    private static void setIfPresent(Relationship r, String key, Object value) {
        if (value != null) r.setProperty(key, value);
    }
}
