import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api-types/meta';
import { startScriptedBroker, type ScriptedBroker } from '../brokers/scripted';
import { startEtcd } from '../hack/lib/etcd';
import {
  startAPIServerProcess,
  startControllerManagerProcess,
  waitReady,
  type ServingProcess,
} from '../hack/lib/stack';
import { KubeClient } from '../pkg/kube/client';
import type { SharedInformer } from '../pkg/kube/informers';
import type { Catalog } from '../pkg/osb';

/** What the benches share: statistics, the results table, and the controller benches' stack. */

/** Nearest-rank percentile of samples (milliseconds); p in 0..100. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Runs fn n times in a row and returns each call's duration in milliseconds. */
export async function timeEach(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Calls fn(i) for i in 0..total-1 from `workers` concurrent loops; returns operations per second. */
export async function throughput(
  workers: number,
  total: number,
  fn: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < total; i = next++) await fn(i);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** A process's resident set (VmRSS) and its peak (VmHWM), in MB, from /proc. */
export function rssMB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The V8 heap in use (MB) in a process's /metrics. */
export const heapUsedMB = (metrics: string) =>
  Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1]) / 1e6;

export const ms = (v: number) =>
  v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${v.toFixed(0)} ms`;

/** One line of the results table: what was measured, the figure, the target and whether it was met. */
export interface Row {
  scenario: string;
  figure: string;
  target?: string;
  met?: boolean;
}

export function printTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.scenario,
    r.figure,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const header = ['scenario', 'figure', 'target', ''];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * What the controller benches run against: etcd and a standalone API server as child processes
 * logging into a directory of their own, the controller-manager as another when a bench wants
 * one, and scripted brokers in this process.
 */
export interface BenchStack {
  /** A client of the API server, with the admin token. */
  client: KubeClient;
  /** The controller-manager (without leader election; node run with `nodeFlags`), serving. */
  startControllerManager(nodeFlags: string[]): Promise<ServingProcess>;
  startBroker(catalog: Catalog): Promise<ScriptedBroker>;
  /** Stops everything and removes the directory. */
  stop(): Promise<void>;
}

/** The stack, its directory named after `name`. */
export async function startBenchStack(name: string): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), `catalog-bench-${name}-`));
  const processes: Array<{ stop(): Promise<void> }> = [];
  const brokers: ScriptedBroker[] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.stop();
    await Promise.all(brokers.map((b) => b.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd(join(dir, 'etcd'));
    processes.push(etcd);
    const apiserver = await startAPIServerProcess({
      etcd: etcd.endpoint,
      dir,
      extraArgs: ['--standalone'],
      log: join(dir, 'apiserver.log'),
    });
    processes.push(apiserver);
    await waitReady(apiserver);
    const kubeconfig = apiserver.writeKubeconfig(join(dir, 'kubeconfig'));
    return {
      client: KubeClient.load(kubeconfig),
      startControllerManager: async (nodeFlags) => {
        const cm = await startControllerManagerProcess({
          kubeconfig,
          dir,
          extraArgs: ['--leader-elect=false'],
          nodeFlags,
          log: join(dir, 'controller-manager.log'),
        });
        processes.push(cm);
        await waitReady(cm);
        return cm;
      },
      startBroker: async (catalog) => {
        const b = await startScriptedBroker({ catalog });
        brokers.push(b);
        return b;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Resolves when `done()` holds, checked on every change the informers see (no polling). */
export function whenever(
  informers: SharedInformer<KubeObject>[],
  done: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const timer = setTimeout(() => {
      finished = true;
      reject(new Error(`${what}: not done within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = () => {
      if (finished || !done()) return;
      finished = true;
      clearTimeout(timer);
      resolve();
    };
    for (const inf of informers) inf.onChange(check);
    check();
  });
}
