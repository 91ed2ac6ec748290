#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { version } from '../../package.json';
import { runProcess } from '../../pkg/cmd';
import { FlagError, parseFlags, type FlagSpec } from '../../pkg/flags';
import { createLogger } from '../../pkg/logging';
import type { BrokerAuth } from '../../pkg/osb';
import { defaultScripts, loadCatalog } from './catalog';
import { startScriptedBroker } from './server';

const flagSpecs: Record<string, FlagSpec> = {
  port: { type: 'number', default: 8090, description: 'Port to listen on.' },
  host: { type: 'string', default: '127.0.0.1', description: 'Address to listen on.' },
  catalog: {
    type: 'string',
    default: 'default',
    description: 'Catalog to serve: a JSON file holding the body of GET /v2/catalog, or "default".',
  },
  username: { type: 'string', description: 'Require basic auth with this user (with --password).' },
  password: { type: 'string', description: 'Password for --username.' },
  token: { type: 'string', description: 'Require this bearer token instead of basic auth.' },
  'tls-cert-file': {
    type: 'string',
    description: 'Serve HTTPS with this PEM certificate (with --tls-key-file).',
  },
  'tls-key-file': { type: 'string', description: 'PEM private key for --tls-cert-file.' },
};

function authFrom(f: Record<string, unknown>): BrokerAuth | undefined {
  const { username, password, token } = f as { username?: string; password?: string; token?: string };
  if (token !== undefined && username !== undefined)
    throw new FlagError('--token and --username exclude each other');
  if (token !== undefined) return { bearer: { token } };
  if ((username === undefined) !== (password === undefined))
    throw new FlagError('--username needs --password');
  return username !== undefined ? { basic: { username, password: password as string } } : undefined;
}

interface Options {
  catalog: string;
  auth?: BrokerAuth;
  port: number;
  host: string;
  tls?: { cert: string; key: string };
}

function parse(argv: string[]): Options | undefined {
  const flags = parseFlags(argv, flagSpecs);
  if (flags.help) return undefined;
  const tlsCert = flags['tls-cert-file'] as string | undefined;
  const tlsKey = flags['tls-key-file'] as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new FlagError('--tls-cert-file and --tls-key-file go together');
  }
  return {
    catalog: flags.catalog as string,
    auth: authFrom(flags),
    port: flags.port as number,
    host: flags.host as string,
    tls:
      tlsCert && tlsKey
        ? { cert: readFileSync(tlsCert, 'utf8'), key: readFileSync(tlsKey, 'utf8') }
        : undefined,
  };
}

runProcess({
  name: 'scripted-broker',
  version,
  summary:
    'An Open Service Broker (API 2.17) that keeps instances and bindings in memory and journals every request.\n' +
    'Without a script it behaves: provision 201 with a dashboard_url, bind 201 with credentials, deletes 200\n' +
    '(410 when unknown); the default catalog\'s "async" plan answers 202 and succeeds on the second poll.',
  flags: flagSpecs,
  parse,
  async run(o) {
    const log = createLogger('scripted-broker');
    const broker = await startScriptedBroker({
      catalog: loadCatalog(o.catalog),
      // The default catalog's async plan is asynchronous only through its scripts.
      scripts: o.catalog === 'default' ? defaultScripts() : [],
      auth: o.auth,
      port: o.port,
      host: o.host,
      tls: o.tls,
    });
    log.info({ url: broker.url }, 'scripted broker listening');
    return {
      log,
      async stop() {
        log.info({ requests: broker.journal.length, violations: broker.violations() }, 'stopping');
        await broker.stop();
      },
    };
  },
});
