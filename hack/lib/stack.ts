import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../../pkg/net';
import { waitFor } from '../../pkg/wait';
import { kubeconfig, writeAdminTokenFile } from './kubeconfig';

/**
 * The stack's processes as `make run` and the benches start them: the built entry points in dist/,
 * run by this node on loopback. Starting returns at once; waitReady and waitListening tell when a
 * process serves, and fail as soon as it has exited.
 */

const dist = resolve(__dirname, '..', '..');

export interface StackProcess {
  /** The program, as in "catalog-apiserver exited (1)". */
  readonly name: string;
  /** What it is, as in "timed out waiting for the API server". */
  readonly what: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The file it writes its output to; the terminal's when absent. */
  readonly log?: string;
  alive(): boolean;
  /** SIGTERM, then resolves once it has exited. */
  stop(): Promise<void>;
}

/** A process serving HTTPS with a self-signed certificate it keeps in certDir. */
export interface ServingProcess extends StackProcess {
  readonly url: string;
  /** The CA of its certificate: there once it has started. */
  ca(): string;
}

export interface APIServerProcess extends ServingProcess {
  /** Writes a kubeconfig with the admin token for this server to `path`; returns `path`. */
  writeKubeconfig(path: string): string;
}

interface ProcessOptions {
  /** A file for its output (at LOG_LEVEL warn unless set): the benches'. The terminal otherwise. */
  log?: string;
  /** Node flags before the script: V8 settings. */
  nodeFlags?: string[];
  /** Variables over this process's environment (secrets, kept out of the command line). */
  env?: Record<string, string>;
  /**
   * In a process group of its own, so that the terminal's Ctrl-C reaches only its starter, which
   * stops the processes in order (`make run`).
   */
  detached?: boolean;
}

function startNode(
  name: string,
  what: string,
  script: string[],
  args: string[],
  opts: ProcessOptions,
): StackProcess {
  const out = opts.log === undefined ? 'inherit' : openSync(opts.log, 'a');
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), join(dist, ...script), ...args], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      ...(opts.log === undefined ? {} : { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }),
      ...opts.env,
    },
    detached: opts.detached,
  });
  // the child has its own copy
  if (typeof out === 'number') closeSync(out);
  let exited = false;
  proc.once('exit', () => (exited = true));
  return {
    name,
    what,
    process: proc,
    pid: proc.pid!,
    log: opts.log,
    alive: () => !exited,
    stop: () =>
      new Promise<void>((res) => {
        if (exited) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
}

function serving(p: StackProcess, port: number, certDir: string): ServingProcess {
  return { ...p, url: `https://127.0.0.1:${port}`, ca: () => readFileSync(join(certDir, 'ca.crt'), 'utf8') };
}

/**
 * The API server on `port` (a free one unless given) with etcd at `etcd`, its certificate in
 * dir/certs and the admin token (hack/lib/kubeconfig.ts) in dir/tokens.csv.
 */
export async function startAPIServerProcess(
  o: { etcd: string; dir: string; port?: number; extraArgs?: string[] } & ProcessOptions,
): Promise<APIServerProcess> {
  const port = o.port ?? (await freePort());
  const certDir = join(o.dir, 'certs');
  const p = serving(
    startNode(
      'catalog-apiserver',
      'the API server',
      ['apiserver', 'cmd', 'main.js'],
      [
        `--etcd-servers=${o.etcd}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${writeAdminTokenFile(o.dir)}`,
        ...(o.extraArgs ?? []),
      ],
      o,
    ),
    port,
    certDir,
  );
  return {
    ...p,
    writeKubeconfig: (path) => {
      writeFileSync(path, kubeconfig(p.url, p.ca()));
      return path;
    },
  };
}

/** The controller-manager on `port` (a free one unless given), its certificate in dir/cm-certs. */
export async function startControllerManagerProcess(
  o: { kubeconfig: string; dir: string; port?: number; extraArgs?: string[] } & ProcessOptions,
): Promise<ServingProcess> {
  const port = o.port ?? (await freePort());
  const certDir = join(o.dir, 'cm-certs');
  return serving(
    startNode(
      'catalog-controller-manager',
      'the controller-manager',
      ['controller-manager', 'cmd', 'main.js'],
      [
        `--kubeconfig=${o.kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        ...(o.extraArgs ?? []),
      ],
      o,
    ),
    port,
    certDir,
  );
}

/** The scripted broker (HTTP) on `port` (a free one unless given), serving its default catalog. */
export async function startScriptedBrokerProcess(
  o: { port?: number } & ProcessOptions = {},
): Promise<StackProcess & { url: string; port: number }> {
  const port = o.port ?? (await freePort());
  const p = startNode(
    'scripted-broker',
    'the scripted broker',
    ['brokers', 'scripted', 'cli.js'],
    [`--port=${port}`, '--catalog=default'],
    o,
  );
  return { ...p, url: `http://127.0.0.1:${port}`, port };
}

/** The SQL broker (HTTP) on `port` (a free one unless given), with its password from the environment. */
export async function startSqlBrokerProcess(
  o: {
    port?: number;
    username: string;
    password: string;
    postgresUrl: string;
    mariadbUrl: string;
    dataDir: string;
    /** --state-name; the broker's default when absent. */
    stateName?: string;
  } & ProcessOptions,
): Promise<StackProcess & { url: string; port: number }> {
  const port = o.port ?? (await freePort());
  const p = startNode(
    'catalog-sql-broker',
    'the SQL broker',
    ['brokers', 'sql', 'cli.js'],
    [
      '--bind-address=127.0.0.1',
      `--port=${port}`,
      `--username=${o.username}`,
      `--postgres-url=${o.postgresUrl}`,
      `--mariadb-url=${o.mariadbUrl}`,
      `--data-dir=${o.dataDir}`,
      ...(o.stateName ? [`--state-name=${o.stateName}`] : []),
    ],
    { ...o, env: { ...o.env, SQL_BROKER_PASSWORD: o.password } },
  );
  return { ...p, url: `http://127.0.0.1:${port}`, port };
}

/** Throws, with the end of its log, once the process has exited. */
export function assertAlive(p: StackProcess): void {
  if (p.alive()) return;
  const code = p.process.exitCode ?? p.process.signalCode;
  const tail = p.log ? `: ${readFileSync(p.log, 'utf8').slice(-2000)}` : '';
  throw new Error(`${p.name} exited (${code})${tail}`);
}

/** Waits until `check` holds; fails at once if the process exits first. */
async function waitServing(p: StackProcess, check: () => Promise<boolean>, timeoutMs: number) {
  await waitFor(p.what, async () => !p.alive() || (await check()), timeoutMs);
  assertAlive(p);
}

/** Waits until the process answers 200 on /readyz. */
export async function waitReady(p: ServingProcess, timeoutMs = 60_000): Promise<void> {
  await waitServing(
    p,
    async () => {
      const dispatcher = new Agent({ connect: { ca: p.ca() } });
      try {
        const res = await request(`${p.url}/readyz`, { dispatcher });
        await res.body.dump();
        return res.statusCode === 200;
      } finally {
        await dispatcher.close();
      }
    },
    timeoutMs,
  );
}

/** Waits until the process accepts connections on `port`. */
export async function waitListening(p: StackProcess & { port: number }, timeoutMs = 60_000): Promise<void> {
  await waitServing(
    p,
    () =>
      new Promise<boolean>((res) => {
        const socket = connect(p.port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          res(true);
        });
        socket.once('error', () => res(false));
      }),
    timeoutMs,
  );
}
