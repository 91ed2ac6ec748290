import { readFileSync } from 'node:fs';
import type { Logger } from '../logging';
import { FlagError, usage, type FlagSpec, type FlagValues } from '../flags';
import { loadOrGenerateServingCert, type ServingCert } from '../tls/certs';

/** The HTTPS serving flags every process has, as kube's --secure-port family. */
export function servingFlags(d: { port: number; certDir: string; serves: string }): Record<string, FlagSpec> {
  return {
    'bind-address': { type: 'string', default: '0.0.0.0', description: `Address to serve ${d.serves} on.` },
    'secure-port': {
      type: 'number',
      default: d.port,
      description: `HTTPS port for ${d.serves} (0 picks a free port).`,
    },
    'cert-dir': {
      type: 'string',
      default: d.certDir,
      description:
        'Where the self-signed serving certificate is kept when --tls-cert-file/--tls-private-key-file are not given.',
    },
    'tls-cert-file': { type: 'string', description: 'Serving certificate (PEM, may include the chain).' },
    'tls-private-key-file': { type: 'string', description: 'Private key of --tls-cert-file.' },
  };
}

export interface ServingOptions {
  bindAddress: string;
  securePort: number;
  /** Names the self-signed certificate covers. */
  hosts: string[];
  /** The given certificate, or one generated (and kept) in --cert-dir for `hosts`. */
  tls(): ServingCert | { cert: string; key: string };
}

export function servingOptions(f: FlagValues, hosts: string[]): ServingOptions {
  const certFile = f['tls-cert-file'] as string | undefined;
  const keyFile = f['tls-private-key-file'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new FlagError('--tls-cert-file and --tls-private-key-file go together');
  }
  const certDir = f['cert-dir'] as string;
  return {
    bindAddress: f['bind-address'] as string,
    securePort: f['secure-port'] as number,
    hosts,
    tls: () =>
      certFile && keyFile
        ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
        : loadOrGenerateServingCert(certDir, hosts),
  };
}

/**
 * The life of a process: flags (--help prints usage, --version the version; a bad flag is one line
 * and exit 2), run, and on SIGTERM/SIGINT the stop function `run` returned, then exit 0.
 */
export function runProcess<O>(p: {
  name: string;
  version: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  parse(argv: string[]): O | undefined;
  run(opts: O): Promise<{ log: Logger; stop(): Promise<void> }>;
}): void {
  if (process.argv.slice(2).includes('--version')) {
    process.stdout.write(`${p.name} ${p.version}\n`);
    return;
  }
  let opts: O | undefined;
  try {
    opts = p.parse(process.argv.slice(2));
  } catch (e) {
    const hint = e instanceof FlagError ? 'Run with --help for usage.\n' : '';
    process.stderr.write(`${p.name}: ${(e as Error).message}\n${hint}`);
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(`${usage(p.name, p.summary, p.flags)}\n`);
    return;
  }
  p.run(opts).then(
    (running) => {
      const { log } = running;
      const shutdown = (signal: string) => {
        log.info({ signal }, 'shutting down');
        running
          .stop()
          .then(() => process.exit(0))
          .catch((err) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          });
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    },
    (e) => {
      process.stderr.write(`${p.name}: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
