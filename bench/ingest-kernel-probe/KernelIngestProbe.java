import java.nio.file.Files; import java.util.*;
import org.neo4j.dbms.api.*; import org.neo4j.graphdb.*; import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.io.ByteUnit;
/**
 * bench/ingest-kernel-probe: the floor under adkg.writeEvents — the same per-event work (Event node under its
 * unique constraint, User/Pin found or created, one IMPRESSED edge with eventId, ts, surface) through the Core API
 * of an in-process Neo4j, no Bolt, no JSON, impressions only, batches of 10,000, two passes (cold JIT, then warm).
 * Run from the repo root after `npm run services:up` once (it builds tools/neo4j/target/lib):
 *   javac -cp 'tools/neo4j/target/lib/*' -d build/probe bench/ingest-kernel-probe/KernelIngestProbe.java
 *   java -Xmx1g -cp 'tools/neo4j/target/lib/*:build/probe' KernelIngestProbe 300000
 * Prints one line per pass: events/s and the share of wall time in commit.
 */
public class KernelIngestProbe {
  public static void main(String[] a) throws Exception {
    java.nio.file.Path home = Files.createTempDirectory("adkg-kernel-probe");
    var dbms = new DatabaseManagementServiceBuilder(home).setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(512)).build();
    var db = dbms.database("neo4j");
    try (var tx = db.beginTx()) { tx.execute("CREATE CONSTRAINT FOR (n:User) REQUIRE n.id IS UNIQUE"); tx.execute("CREATE CONSTRAINT FOR (n:Pin) REQUIRE n.id IS UNIQUE"); tx.execute("CREATE CONSTRAINT FOR (n:Event) REQUIRE n.id IS UNIQUE"); tx.commit(); }
    try (var tx = db.beginTx()) { tx.execute("CALL db.awaitIndexes(300)"); tx.commit(); }
    int N = Integer.parseInt(a[0]), B = 10000; boolean noEvent = a.length > 1;
    Label U = Label.label("User"), P = Label.label("Pin"), E = Label.label("Event");
    RelationshipType R = RelationshipType.withName("IMPRESSED");
    Random rnd = new Random(1); int users = N / 20, pins = N / 200;
    for (int rep = 0; rep < 2; rep++) {
      long t0 = System.nanoTime(); long commitNs = 0;
      for (int b = 0; b < N; b += B) {
        try (var tx = db.beginTx()) {
          Map<String, Node> nodes = new HashMap<>();
          for (int i = b; i < b + B; i++) {
            String eid = "r" + rep + "ev" + i;
            if (!noEvent) { if (tx.findNode(E, "id", eid) != null) continue; }
            double x = rnd.nextDouble(), y = rnd.nextDouble();
            String uid = "u" + (int)(x * x * users), pid = "p" + (int)(y * y * pins);
            Node u = nodes.computeIfAbsent(uid, k -> { Node n = tx.findNode(U, "id", k); if (n == null) { n = tx.createNode(U); n.setProperty("id", k); } return n; });
            Node p = nodes.computeIfAbsent(pid, k -> { Node n = tx.findNode(P, "id", k); if (n == null) { n = tx.createNode(P); n.setProperty("id", k); } return n; });
            long ts = 1767225600000L + i;
            if (!noEvent) { Node e = tx.createNode(E); e.setProperty("id", eid); e.setProperty("ts", ts); }
            Relationship r = u.createRelationshipTo(p, R); r.setProperty("eventId", eid); r.setProperty("ts", ts); r.setProperty("surface", "home_feed");
          }
          long c0 = System.nanoTime(); tx.commit(); commitNs += System.nanoTime() - c0;
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("rep %d: %d events in %.2f s = %.0f events/s (commit %.0f%%)%n", rep, N, s, N / s, 100.0 * commitNs / 1e9 / s);
    }
    dbms.shutdown();
    try (var paths = Files.walk(home)) {
      paths.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
