import yaml from 'js-yaml';
import type { ResourceDefinition } from '../api-types';
import { apiVersionOf } from '../api-types/resource';
import type { KubeObject } from '../api-types/meta';
import { CliError } from './errors';

export const outputFormats = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** Display width: code points, as kubectl's tabwriter counts runes. */
const width = (s: string) => [...s].length;

/**
 * Columns as kubectl prints them (Go's text/tabwriter with kubectl's settings: padding 3, minimum
 * cell width 6): each cell left aligned and padded to its column's widest cell plus the padding,
 * the last column unpadded, no trailing blanks. Hand-written to match kubectl's layout exactly.
 */
export function formatTable(
  headers: string[] | undefined,
  rows: string[][],
  { padding = 3, minWidth = 6 } = {},
): string {
  const all = headers ? [headers, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return all
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1
            ? cell
            : cell + ' '.repeat(Math.max(widths[i] + padding, minWidth) - width(cell)),
        )
        .join('')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** `Key:   value` lines, values aligned as kubectl describe aligns them. */
export function formatDetails(rows: Array<[string, string | number | boolean | undefined]>): string {
  return formatTable(
    undefined,
    rows.filter(([, v]) => v !== undefined).map(([k, v]) => [`${k}:`, String(v)]),
    { padding: 2, minWidth: 0 },
  );
}

/** A block under a heading, as describe prints related objects: "\nBindings:\n" and its body. */
export function section(title: string, body: string, empty: string): string {
  return `\n${title}:\n${body || `  ${empty}\n`}`;
}

/** YAML of a value, each line indented. */
export function indentedYaml(value: unknown, indent = 2): string {
  const pad = ' '.repeat(indent);
  return dumpYaml(value)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `${pad}${l}\n`)
    .join('');
}

const dumpYaml = (value: unknown) => yaml.dump(value, { noRefs: true, lineWidth: -1 });

/** "2018-11-01 18:31:16 +0000 UTC", as the original printed times. */
export function formatTime(ts: string | undefined): string {
  const t = ts ? new Date(ts) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '';
  return `${t.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** The object as `kubectl apply -f` takes it back: with its apiVersion and kind. */
export function manifest(kind: ResourceDefinition, o: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(kind), kind: kind.kind, ...o };
}

/**
 * One object as it is; several as kubectl's v1 List in JSON (for jq), and in YAML as a stream of
 * documents, which `kubectl apply -f` validates object by object: a List makes kubectl validate
 * against the server's protobuf OpenAPI v2, which a standalone catalog server does not serve.
 */
export function formatObjects(format: 'json' | 'yaml', objects: KubeObject[], single: boolean): string {
  if (format === 'yaml') return single ? dumpYaml(objects[0]) : objects.map(dumpYaml).join('---\n');
  const doc = single
    ? objects[0]
    : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
  return `${JSON.stringify(doc, null, 4)}\n`;
}

export function checkFormat(format: string, allowed: readonly string[] = outputFormats): OutputFormat {
  if (!allowed.includes(format))
    throw new CliError(`invalid --output "${format}": want one of ${allowed.join(', ')}`);
  return format as OutputFormat;
}
