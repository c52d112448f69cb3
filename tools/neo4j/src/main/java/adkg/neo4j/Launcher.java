package adkg.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import java.time.Duration;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.api.procedure.GlobalProcedures;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * Starts an embedded Neo4j Community with Bolt on 127.0.0.1 and no auth, with the adkg.writeEvents procedure
 * registered, and runs until SIGTERM/SIGINT,
 * when it shuts the database down cleanly (the shutdown hook waits for checkpoint and store close).
 *
 * Environment:
 *   ADKG_NEO4J_HOME       data/log directory (required; scripts/services.sh passes <repo>/.services/neo4j)
 *   ADKG_NEO4J_BOLT_PORT  Bolt port (default 7687)
 *   ADKG_NEO4J_PAGECACHE  page cache size (default 256m)
 *   ADKG_NEO4J_TX_LOG_RETENTION  transaction-log retention (default "256M size": benches must not fill the disk)
 *   ADKG_NEO4J_CONF       extra neo4j.conf-style settings file, applied last (overrides the above)
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        String home = env("ADKG_NEO4J_HOME", null);
        if (home == null) {
            System.err.println("adkg-neo4j: ADKG_NEO4J_HOME is not set (the directory that holds the database)");
            System.exit(2);
        }
        int port;
        try {
            port = Integer.parseInt(env("ADKG_NEO4J_BOLT_PORT", "7687"));
        } catch (NumberFormatException e) {
            System.err.println("adkg-neo4j: ADKG_NEO4J_BOLT_PORT is not a port number: " + System.getenv("ADKG_NEO4J_BOLT_PORT"));
            System.exit(2);
            return;
        }
        Path homePath = Path.of(home).toAbsolutePath();
        Files.createDirectories(homePath);

        long pageCache;
        try {
            pageCache = ByteUnit.parse(env("ADKG_NEO4J_PAGECACHE", "256m"));
        } catch (IllegalArgumentException e) {
            System.err.println("adkg-neo4j: ADKG_NEO4J_PAGECACHE is not a size like 256m: " + System.getenv("ADKG_NEO4J_PAGECACHE"));
            System.exit(2);
            return;
        }
        SocketAddress bolt = new SocketAddress("127.0.0.1", port);

        long started = System.nanoTime();
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(homePath)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                // No LOAD CSV FROM 'file:///…': with auth off, any Bolt client could otherwise read the host's files.
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, env("ADKG_NEO4J_TX_LOG_RETENTION", "256M size"))
                // Netty's default 5 s quiet period (twice over) made every stop take ~10 s longer.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5));
        String conf = env("ADKG_NEO4J_CONF", null);
        if (conf != null) {
            Path confPath = Path.of(conf);
            if (!Files.isRegularFile(confPath)) {
                System.err.println("adkg-neo4j: ADKG_NEO4J_CONF is not a readable file: " + conf);
                System.exit(2);
            }
            builder.loadPropertiesFromFile(confPath);
        }
        DatabaseManagementService dbms = builder.build();
        // The ingest procedure (IngestProcedures): Neo4jStore uses it when present, plain Cypher otherwise.
        GraphDatabaseAPI db = (GraphDatabaseAPI) dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        db.getDependencyResolver().resolveDependency(GlobalProcedures.class).registerProcedure(IngestProcedures.class);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("adkg-neo4j: shutting down");
            dbms.shutdown();
            System.out.println("adkg-neo4j: stopped");
            stopped.countDown();
        }, "adkg-neo4j-shutdown"));

        System.out.printf("adkg-neo4j: ready on bolt://127.0.0.1:%d (home %s, started in %d ms)%n",
                port, homePath, (System.nanoTime() - started) / 1_000_000);
        stopped.await();
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
