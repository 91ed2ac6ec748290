import { parseDuration } from '../time';

/** A flag a process accepts; the value is kept as given and converted by `parseFlags`. */
export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'duration' | 'list';
  default?: string | number | boolean | string[];
  description: string;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export class FlagError extends Error {}

function convert(name: string, spec: FlagSpec, raw: string): FlagValues[string] {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw === '' || Number.isNaN(n))
        throw new FlagError(`invalid value "${raw}" for flag --${name}: not a number`);
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false')
        throw new FlagError(`invalid value "${raw}" for flag --${name}: want true or false`);
      return raw === 'true';
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined)
        throw new FlagError(`invalid value "${raw}" for flag --${name}: not a duration (e.g. 30s, 5m, 1h)`);
      return ms;
    }
    case 'list':
      return raw === '' ? [] : raw.split(',').map((s) => s.trim());
  }
}

/**
 * Parses `--flag value`, `--flag=value` and bare boolean `--flag`, as the Go processes of
 * Kubernetes accept them. Durations come back in milliseconds.
 */
export function parseFlags(argv: string[], specs: Record<string, FlagSpec>): FlagValues & { help: boolean } {
  const out: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] =
      spec.default === undefined
        ? undefined
        : typeof spec.default === 'string' && spec.type !== 'string'
          ? convert(name, spec, spec.default)
          : spec.default;
  }
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const spec = specs[name];
    if (!spec) throw new FlagError(`unknown flag: --${name}`);
    let raw: string;
    if (eq > 0) raw = arg.slice(eq + 1);
    else if (spec.type === 'boolean' && (argv[i + 1] === undefined || !/^(true|false)$/.test(argv[i + 1])))
      raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new FlagError(`flag needs an argument: --${name}`);
    out[name] = convert(name, spec, raw);
  }
  return { ...out, help };
}

export function usage(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`${summary}`, '', `Usage: ${command} [flags]`, '', 'Flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const def =
      spec.default === undefined || spec.default === '' ? '' : ` (default ${JSON.stringify(spec.default)})`;
    lines.push(`  --${name} ${spec.type === 'boolean' ? '' : spec.type}`.trimEnd());
    lines.push(`        ${spec.description}${def}`);
  }
  lines.push('  -h, --help', '        Show this help.', '  --version', '        Print the version and exit.');
  return lines.join('\n');
}
