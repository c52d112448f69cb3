import { Command, Option } from 'commander';
import { connectNeo4j, loadQuery, neo4jSettingsFromEnv, QueryResult, resolveParams, runReadOnlyQuery } from '../../graph';
import { parseChoice } from '../options';

const FORMATS = ['table', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

interface CypherFlags {
  param: string[];
  format: Format;
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
      new Option('--param <name=value>', 'query parameter, repeatable; name:type=value with type string|int|float|bool|json (untyped: the type the file declares, else string)')
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], 'none'),
    )
    .option('--format <format>', `output: ${FORMATS.join('|')}`, parseChoice('--format', FORMATS), 'table')
    .addHelpText(
      'after',
      '\nConnects with NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE. A query is EXPLAINed first and refused\n(non-zero exit, nothing changed) unless its query type is read-only; it then runs in a READ transaction.\nQuery files declare parameters as comment lines: // @param name type [default] [- description]',
    )
    .action(async (queryArg: string, flags: CypherFlags) => {
      const query = await loadQuery(queryArg);
      const params = resolveParams(query.params, flags.param);
      const settings = neo4jSettingsFromEnv();
      const driver = await connectNeo4j(settings, { userAgent: 'adkg-cypher' });
      try {
        const result = await runReadOnlyQuery(driver, query.text, params, { database: settings.database });
        console.log(formatResult(result, flags.format));
      } finally {
        await driver.close();
      }
    });
}
