import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clusterServicePlanResource } from '../../api-types';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../../controller-manager/controllers/broker';
import { serviceBindingController } from '../../controller-manager/controllers/binding';
import { serviceInstanceController } from '../../controller-manager/controllers/instance';
import { eventually } from '.';
import { ControllerEnv } from './controllers';

/**
 * svcat as users run it: the built program (dist/svcat/cmd/main.js, so `make build` or
 * `npx tsc -p .` first) in a process of its own, against a standalone API server and a
 * controller-manager with short backoffs, and a scripted broker registered as ClusterServiceBroker
 * "scripted" with the default catalog.
 */

const main = resolve(__dirname, '..', '..', 'dist', 'svcat', 'cmd', 'main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Retries and polls back off 50 ms, 100 ms, ... 400 ms: waits end in well under a second. */
const LIMITER = { baseDelayMs: 50, maxDelayMs: 400, qps: 1000, burst: 1000 };

export class SvcatStack {
  /** A PATH entry holding kubectl-svcat, as `npm install -g` would put it. */
  readonly binDir: string;
  readonly home: string;

  private constructor(
    readonly suite: ControllerEnv,
    readonly kubeconfig: string,
  ) {
    this.binDir = mkdtempSync(join(tmpdir(), 'svcat-bin-'));
    this.home = mkdtempSync(join(tmpdir(), 'svcat-home-'));
    chmodSync(main, 0o755);
    symlinkSync(main, join(this.binDir, 'kubectl-svcat'));
  }

  static async start(): Promise<SvcatStack> {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (make build, or npx tsc -p .)`);
    const suite = await ControllerEnv.start({
      controllers: [
        startClusterServiceBrokerController,
        startServiceBrokerController,
        serviceInstanceController({ limiter: LIMITER }),
        serviceBindingController({ limiter: LIMITER }),
      ],
      options: { osbApiRequestTimeoutMs: 2000, operationPollingMaximumBackoffMs: LIMITER.maxDelayMs },
    });
    const stack = new SvcatStack(suite, suite.env.kubeconfig());
    return stack;
  }

  get api() {
    return this.suite.api;
  }

  /** Starts a scripted broker (default catalog) and registers it as ClusterServiceBroker `name`; waits for its plans. */
  async registerBroker(name = 'scripted') {
    const broker = await this.suite.startBroker({});
    await this.suite.createClusterBroker(name, broker.url);
    await eventually(
      async () => (await this.suite.catalogEntries(clusterServicePlanResource, name)).length === 4,
      20_000,
    );
    return broker;
  }

  /**
   * Runs `svcat args` with the stack's kubeconfig in $KUBECONFIG and a HOME of its own; never
   * throws on a non-zero exit. `stdin` is piped in (closed at once when absent).
   */
  svcat(
    args: string[],
    opts: { env?: Record<string, string | undefined>; stdin?: string } = {},
  ): Promise<Run> {
    return this.exec(process.execPath, [main, ...args], opts);
  }

  /** `kubectl svcat args`: kubectl finds kubectl-svcat on the PATH. */
  kubectlSvcat(args: string[]): Promise<Run> {
    return this.exec('kubectl', ['svcat', ...args], { env: { PATH: `${this.binDir}:${process.env.PATH}` } });
  }

  /** The real kubectl against the stack. */
  kubectl(args: string[], stdin?: string): Promise<Run> {
    return this.exec('kubectl', args, { stdin });
  }

  /** Runs svcat under a pseudo-terminal (script(1)), as a user at a terminal sees it. */
  svcatOnTerminal(args: string[]): Promise<Run> {
    const command = [process.execPath, main, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return this.exec('script', ['-qec', command, '/dev/null'], { env: { COLUMNS: '200' } });
  }

  private exec(
    file: string,
    args: string[],
    opts: { env?: Record<string, string | undefined>; stdin?: string },
  ): Promise<Run> {
    return new Promise((done) => {
      const env = {
        ...process.env,
        KUBECONFIG: this.kubeconfig,
        HOME: this.home,
        KUBECACHEDIR: join(this.home, 'kube-cache'),
        ...opts.env,
      };
      const child = execFile(file, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      });
      child.stdin?.end(opts.stdin ?? '');
    });
  }

  async stop(): Promise<void> {
    await this.suite.stop();
    rmSync(this.binDir, { recursive: true, force: true });
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Fails with everything svcat printed unless it exited 0; returns stdout. */
export function ok(r: Run, what = 'svcat'): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Fails unless it exited non-zero; returns stderr. */
export function fails(r: Run, what = 'svcat'): string {
  if (r.code === 0) throw new Error(`${what} succeeded\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stderr;
}

/** Lines joined with newlines and a final one: the golden text of a table or page. */
export const text = (...lines: string[]) => lines.map((l) => `${l}\n`).join('');

/** Times change between runs: "@ 2024-01-02 03:04:05 +0000 UTC" becomes "@ <time>". */
export const stableTimes = (s: string) => s.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC/g, '<time>');
