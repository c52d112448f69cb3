/**
 * The analysts' read-only Cypher runner. A query is refused before it runs when EXPLAIN says it writes
 * (query type other than "r"), and it then runs inside a READ transaction, which Neo4j itself refuses to
 * let write: two independent guards, so nothing can change through it.
 *
 * Query files may declare their parameters in comment lines, which give types and defaults:
 *   // @param pinId string            (required)
 *   // @param limit int 25            (default 25)
 */
import { existsSync, promises as fs } from 'fs';
import neo4j, { Driver } from 'neo4j-driver';
import { QueryParameterError, QueryRefusedError, WriteQueryRefusedError } from './errors';
import { parseTimestamp } from './events';

/** time: an instant as epoch milliseconds (INTEGER), given as ISO-8601 with a zone (a date alone: UTC midnight) or as ms. */
export const PARAM_TYPES = ['string', 'int', 'float', 'bool', 'json', 'time'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export interface ParamDeclaration {
  name: string;
  type: ParamType;
  /** raw default text, converted with `type`; undefined = required */
  defaultText?: string;
  description?: string;
}

export interface LoadedQuery {
  text: string;
  /** the file it came from, or null for inline text */
  file: string | null;
  params: ParamDeclaration[];
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  queryType: string;
}

const DECLARATION = /^\s*\/\/\s*@param\s+([A-Za-z_][A-Za-z0-9_]*)\s+(\w+)(?:\s+(\S+))?(?:\s+-\s+(.*))?\s*$/;

export function parseDeclarations(text: string, source: string): ParamDeclaration[] {
  const out: ParamDeclaration[] = [];
  for (const line of text.split('\n')) {
    const m = DECLARATION.exec(line);
    if (!m) continue;
    if (!(PARAM_TYPES as readonly string[]).includes(m[2])) {
      throw new QueryParameterError(`${source}: @param ${m[1]} has type "${m[2]}"; use one of ${PARAM_TYPES.join('|')}`);
    }
    out.push({ name: m[1], type: m[2] as ParamType, defaultText: m[3], description: m[4] });
  }
  return out;
}

/** QUERY|FILE: an existing path (or any *.cypher argument) is read as a file; anything else is the query itself. */
export async function loadQuery(arg: string): Promise<LoadedQuery> {
  // A .cypher name, an existing path, or one word with a slash (a mistyped path is not Cypher: say it is missing).
  const looksLikeFile = /\.cypher$/i.test(arg.trim()) || (!/\s/.test(arg) && /^[\w.~-]*\//.test(arg) && !arg.includes('('));
  if (looksLikeFile || (!/\s/.test(arg) && existsSync(arg))) {
    let text: string;
    try {
      text = await fs.readFile(arg, 'utf8');
    } catch (e) {
      throw new QueryParameterError(`cannot read query file ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { text, file: arg, params: parseDeclarations(text, arg) };
  }
  return { text: arg, file: null, params: parseDeclarations(arg, 'query') };
}

const INT64_MAX = 9223372036854775807n;

export function convertParam(name: string, type: ParamType, text: string): unknown {
  const bad = (what: string) => new QueryParameterError(`parameter ${name} must be ${what}, got ${JSON.stringify(text)}`);
  switch (type) {
    case 'string':
      return text;
    case 'time': {
      if (/^-?\d+$/.test(text)) return convertParam(name, 'int', text);
      const ms = parseTimestamp(text);
      if (typeof ms === 'string') throw bad('a time: ISO-8601 with a zone (2026-01-31T12:00:00Z, or a date alone for UTC midnight) or epoch milliseconds');
      return neo4j.int(ms);
    }
    case 'int':
      if (!/^-?\d+$/.test(text)) throw bad('an integer');
      if (BigInt(text) > INT64_MAX || BigInt(text) < -INT64_MAX - 1n) throw bad('a 64-bit integer (Cypher\'s INTEGER)');
      return neo4j.int(text); // Cypher wants integers (LIMIT, ranges), and JS numbers travel as floats
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'bool':
      if (text !== 'true' && text !== 'false') throw bad('true or false');
      return text === 'true';
    case 'json':
      try {
        return JSON.parse(text);
      } catch {
        throw bad('JSON');
      }
  }
}

/**
 * Turns `--param` arguments (`name=value`, or `name:type=value`) into driver parameters, using the
 * query's declared types and defaults; an undeclared `name=value` is a string.
 */
export function resolveParams(declared: ParamDeclaration[], args: string[], warn: (message: string) => void = () => undefined): Record<string, unknown> {
  const decl = new Map(declared.map((d) => [d.name, d]));
  const params: Record<string, unknown> = {};
  for (const a of args) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::(\w+))?=(.*)$/s.exec(a);
    if (!m) throw new QueryParameterError(`--param ${JSON.stringify(a)} is not name=value or name:type=value`);
    const [, name, typeText, value] = m;
    if (typeText !== undefined && !(PARAM_TYPES as readonly string[]).includes(typeText)) {
      throw new QueryParameterError(`--param ${name}: type "${typeText}" is not one of ${PARAM_TYPES.join('|')}`);
    }
    // A file that declares its parameters and not this one: most likely a typo ("From" for "from"), which would
    // otherwise leave the declared one at its default and the query quietly unfiltered.
    if (declared.length > 0 && !decl.has(name)) {
      const close = declared.find((d) => d.name.toLowerCase() === name.toLowerCase());
      warn(`--param ${name} is not a parameter of this query (it declares ${declared.map((d) => d.name).join(', ')})${close ? `; did you mean ${close.name}?` : ''}`);
    }
    const type = (typeText as ParamType | undefined) ?? decl.get(name)?.type ?? 'string';
    params[name] = convertParam(name, type, value);
  }
  const missing: string[] = [];
  for (const d of declared) {
    if (d.name in params) continue;
    if (d.defaultText !== undefined) params[d.name] = convertParam(d.name, d.type, d.defaultText);
    else missing.push(`${d.name} (${d.type}${d.description ? `: ${d.description}` : ''})`);
  }
  if (missing.length > 0) throw new QueryParameterError(`missing --param for ${missing.join(', ')}`);
  return params;
}

/** Every operator of an EXPLAIN plan, depth first (operatorType names such as "LoadCSV@neo4j"). */
function planOperators(plan: unknown): string[] {
  if (!plan || typeof plan !== 'object') return [];
  const p = plan as { operatorType?: string; children?: unknown[] };
  return [p.operatorType ?? '', ...(p.children ?? []).flatMap(planOperators)];
}

/** Drops one trailing ';' (the driver runs exactly one statement). */
function statementOf(text: string): string {
  const statement = text.trim().replace(/;\s*$/, '');
  // The runner EXPLAINs every query itself; a second EXPLAIN or a PROFILE only gives Neo4j's "conflicting
  // execution mode" (or no rows), so say what to do instead.
  const mode = /^(?:\/\/[^\n]*\n\s*)*(EXPLAIN|PROFILE)\b/i.exec(statement);
  if (mode) throw new QueryParameterError(`leave out ${mode[1].toUpperCase()}: adkg cypher runs the query itself (to see a plan, use cypher-shell or Neo4j Browser)`);
  return statement;
}

/** EXPLAINs, refuses anything but a read, then runs the query in a read transaction. */
export interface ReadOnlyQueryOptions {
  database?: string;
  /** false skips the EXPLAIN guard, leaving only the READ transaction; tests use it to show that guard holds alone */
  explainFirst?: boolean;
  /** the planner's warnings (an unknown label or property, a cartesian product), e.g. to stderr */
  warn?: (message: string) => void;
}

export async function runReadOnlyQuery(driver: Driver, query: string, params: Record<string, unknown>, options: ReadOnlyQueryOptions = {}): Promise<QueryResult> {
  const statement = statementOf(query);
  const session = driver.session({ database: options.database, defaultAccessMode: neo4j.session.READ });
  try {
    return await session.executeRead(async (tx) => {
      let queryType = 'r';
      if (options.explainFirst !== false) {
        const plan = await tx.run(`EXPLAIN ${statement}`, params);
        queryType = plan.summary.queryType as string;
        if (queryType !== 'r') throw new WriteQueryRefusedError(queryType);
        // A read, but of files or URLs the server can reach: not the graph, and not for an analyst query to open.
        if (planOperators(plan.summary.plan).some((op) => /^LoadCSV/.test(op))) throw new QueryRefusedError('it reads a file or URL with LOAD CSV; adkg cypher reads the graph only');
        for (const n of plan.summary.notifications ?? []) {
          if (n.severity === 'WARNING') options.warn?.(`${n.title}: ${n.description}`);
        }
      }
      const result = tx.run(statement, params);
      const columns = (await result.keys()) as string[];
      const { records } = await result;
      return { columns, rows: records.map((r) => columns.map((k) => toPlain(r.get(k)))), queryType };
    });
  } finally {
    await session.close();
  }
}

/** Driver values → JSON-friendly values: integers to numbers (strings when beyond 2^53), nodes, relationships, paths, temporals. */
export function toPlain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (neo4j.isInt(v)) {
    const i = v as unknown as { inSafeRange(): boolean; toNumber(): number; toString(): string };
    return i.inSafeRange() ? i.toNumber() : i.toString();
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (typeof v !== 'object') return v;
  if (neo4j.isNode(v as never)) {
    const n = v as unknown as { labels: string[]; properties: Record<string, unknown> };
    return { labels: n.labels, properties: toPlain(n.properties) };
  }
  if (neo4j.isRelationship(v as never)) {
    const r = v as unknown as { type: string; properties: Record<string, unknown> };
    return { type: r.type, properties: toPlain(r.properties) };
  }
  if (neo4j.isPath(v as never)) {
    const p = v as unknown as { segments: { start: unknown; relationship: unknown; end: unknown }[]; start: unknown };
    return { start: toPlain(p.start), segments: p.segments.map((s) => ({ relationship: toPlain(s.relationship), end: toPlain(s.end) })) };
  }
  if (
    neo4j.isDate(v as never) || neo4j.isDateTime(v as never) || neo4j.isLocalDateTime(v as never) ||
    neo4j.isTime(v as never) || neo4j.isLocalTime(v as never) || neo4j.isDuration(v as never) || neo4j.isPoint(v as never)
  ) {
    return String(v);
  }
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toPlain(x)]));
}
