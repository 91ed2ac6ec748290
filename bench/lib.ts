import { readFileSync } from 'node:fs';

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
