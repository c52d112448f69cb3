import { Command, Option } from 'commander';
import neo4j from 'neo4j-driver';
import { connectNeo4j, holdsAdkgGraph, labelsFor, loadQuery, namespaceLabels, neo4jSettingsFromEnv, QueryResult, resolveParams, runReadOnlyQuery } from '../../graph';
import { parseChoice } from '../options';

const FORMATS = ['table', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

interface CypherFlags {
  param: string[];
  format: Format;
  namespace?: string;
}

function cellText(v: unknown): string {
  if (v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function csvCell(v: unknown): string {
  const s = cellText(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatResult(r: QueryResult, format: Format): string {
  if (format === 'json') return JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))), null, 2);
  if (format === 'csv') return [r.columns.map(csvCell).join(','), ...r.rows.map((row) => row.map(csvCell).join(','))].join('\n');
  const cells = r.rows.map((row) => row.map(cellText));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join(' | ');
  return [line(r.columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`].join('\n');
}

export function register(program: Command): void {
  program
    .command('cypher')
    .description('Run a read-only Cypher query (text or a .cypher file) against Neo4j; queries that write are refused')
    .argument('<query>', 'Cypher text, or a path to a .cypher file (see cypher/ for the analyst queries)')
    .addOption(
      new Option('--param <name=value>', 'query parameter, repeatable; name:type=value with type string|int|float|bool|json|time (time: ISO-8601 with zone, a date, or epoch ms; untyped: the type the file declares, else string)')
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], 'none'),
    )
    .option('--format <format>', `output: ${FORMATS.join('|')}`, parseChoice('--format', FORMATS), 'table')
    .option('--namespace <name>', 'the graph ingested with this --namespace: the query\'s labels (:User, :Pin, …) are read as that namespace\'s (default $ADKG_NEO4J_NAMESPACE or none)')
    .addHelpText(
      'after',
      '\nConnects with NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE. A query is EXPLAINed first and refused\n(non-zero exit, nothing changed) unless its query type is read-only; it then runs in a READ transaction.\nQuery files declare parameters as comment lines: // @param name type [default] [- description]',
    )
    .action(async (queryArg: string, flags: CypherFlags) => {
      const warn = (m: string) => process.stderr.write(`adkg cypher: warning: ${m}\n`);
      const query = await loadQuery(queryArg);
      const params = resolveParams(query.params, flags.param, warn);
      const settings = neo4jSettingsFromEnv({ namespace: flags.namespace });
      labelsFor(settings.namespace); // a bad name is refused before connecting
      const text = namespaceLabels(query.text, settings.namespace);
      const driver = await connectNeo4j(settings, { userAgent: 'adkg-cypher' });
      try {
        const result = await runReadOnlyQuery(driver, text, params, { database: settings.database, warn });
        // No rows from a namespace that holds no graph: a mistyped --namespace, not an empty answer.
        if (result.rows.length === 0) {
          const session = driver.session({ database: settings.database, defaultAccessMode: neo4j.session.READ });
          try {
            if (!(await session.executeRead((tx) => holdsAdkgGraph(tx, settings.namespace)))) {
              warn(`${settings.namespace ? `namespace ${settings.namespace}` : 'the database (no namespace)'} at ${settings.uri} holds no adkg graph; check --namespace / ADKG_NEO4J_NAMESPACE`);
            }
          } finally {
            await session.close();
          }
        }
        console.log(formatResult(result, flags.format));
      } finally {
        await driver.close();
      }
    });
}
