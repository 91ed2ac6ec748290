import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../pkg/time';
import type { Obj } from './catalog';
import { CliError } from './errors';

/** --wait, --timeout and --interval of the commands that change something. */
export interface WaitArgs {
  wait?: boolean;
  timeout: string;
  interval: string;
}

export interface WaitOptions {
  /** Undefined: no limit (--timeout -1). */
  timeoutMs?: number;
  intervalMs: number;
  timeout: string;
}

function duration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new CliError(`invalid --${flag} "${value}": want a duration such as 30s, 5m or 1h`);
  return ms;
}

/** The wait flags checked; undefined without --wait. */
export function waitOptions(a: WaitArgs): WaitOptions | undefined {
  const timeoutMs = a.timeout === '-1' ? undefined : duration('timeout', a.timeout);
  const intervalMs = duration('interval', a.interval);
  if (intervalMs <= 0) throw new CliError('--interval must be more than 0');
  return a.wait ? { timeoutMs, intervalMs, timeout: a.timeout } : undefined;
}

/** What a poll saw: the state of the condition waited for, and whether the wait is over. */
export interface Observation {
  done?: 'succeeded' | 'failed';
  reason: string;
  message: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

const conditionOf = (o: Obj, type: string): Condition | undefined =>
  (o.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

const observed = (o: Obj) =>
  (o.status?.observedGeneration ?? o.status?.reconciledGeneration) as number | undefined;

/**
 * Until the controller has acted on the current generation and finished: Ready True is success,
 * Failed True is failure; anything else (an operation in flight, a retried error) goes on.
 */
export function untilReady(o: Obj | undefined): Observation {
  if (!o) return { done: 'failed', reason: 'Deleted', message: 'it was deleted' };
  if (o.metadata.deletionTimestamp)
    return { done: 'failed', reason: 'Deleting', message: 'it is being deleted' };
  const ready = conditionOf(o, 'Ready');
  const failed = conditionOf(o, 'Failed');
  const seen = observed(o);
  const settled =
    (seen === undefined || seen >= (o.metadata.generation ?? 0)) &&
    !o.status?.asyncOpInProgress &&
    !o.status?.currentOperation;
  const last = {
    reason: ready?.reason ?? 'Pending',
    message: ready?.message ?? 'waiting for the controller',
  };
  if (settled && failed?.status === 'True')
    return { done: 'failed', reason: failed.reason ?? '', message: failed.message ?? '' };
  if (settled && ready?.status === 'True') return { done: 'succeeded', ...last };
  return last;
}

/**
 * Until the object is gone; a Failed condition set after the deletion started means the
 * controller gave up (the broker refused for good or retries timed out).
 */
export function untilGone(o: Obj | undefined): Observation {
  if (!o) return { done: 'succeeded', reason: 'Deleted', message: 'deleted' };
  const failed = conditionOf(o, 'Failed');
  const since = o.metadata.deletionTimestamp;
  if (since && failed?.status === 'True' && (failed.lastTransitionTime ?? '') >= since)
    return { done: 'failed', reason: failed.reason ?? '', message: failed.message ?? '' };
  const ready = conditionOf(o, 'Ready');
  return {
    reason: ready?.reason ?? 'Deleting',
    message: ready?.message ?? 'waiting for the controller to finalize it',
  };
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/**
 * Live progress on a terminal: one line redrawn with a spinner, the state and the time waited.
 * Elsewhere (a pipe, a CI log) one plain line each time the state changes.
 */
class Progress {
  private text = '';
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private ended = false;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly what: string,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
    if (this.tty) this.timer = setInterval(() => this.draw(), 100);
  }

  private line(o: Observation) {
    return `${this.what}: ${o.reason}${o.message ? ` - ${o.message}` : ''}`;
  }

  private draw() {
    this.frame = (this.frame + 1) % frames.length;
    // the text is cut to the terminal's width, never the time waited
    const suffix = ` (${elapsed(Date.now() - this.started)})`;
    const room = Math.max(10, (this.out.columns || 80) - 3 - suffix.length);
    const text = [...this.text].length > room ? `${[...this.text].slice(0, room - 1).join('')}…` : this.text;
    this.out.write(`\r\x1b[2K${frames[this.frame]} ${text}${suffix}`);
  }

  update(o: Observation) {
    const text = this.line(o);
    if (text === this.text) return;
    this.text = text;
    if (this.tty) this.draw();
    else this.out.write(`${text} (${elapsed(Date.now() - this.started)})\n`);
  }

  end(o: Observation | undefined) {
    clearInterval(this.timer);
    if (!this.tty || this.ended) return;
    this.ended = true;
    const mark = o?.done === 'succeeded' ? '✔' : '✖';
    this.out.write(
      `\r\x1b[2K${o ? `${mark} ${this.line(o)} (${elapsed(Date.now() - this.started)})\n` : ''}`,
    );
  }
}

/** Several deletions at once: done when all are gone, failed when one failed. */
export function allGone(objects: Array<Obj | undefined>): Observation {
  const seen = objects.map(untilGone);
  const failed = seen.find((o) => o.done === 'failed');
  if (failed) return failed;
  const pending = seen.filter((o) => !o.done);
  if (!pending.length) return { done: 'succeeded', reason: 'Deleted', message: 'deleted' };
  return { reason: pending[0].reason, message: `${pending[0].message} (${pending.length} left)` };
}

/**
 * Polls `read` every interval until `judge` says done: returns the last object on success,
 * throws a one-line CliError with the failure's reason and message, or on timeout with the last
 * state seen. Ctrl-C stops waiting (the operation goes on in the cluster).
 */
export async function waitFor<T = Obj | undefined>(
  what: string,
  opts: WaitOptions,
  read: () => Promise<T>,
  judge: (o: T) => Observation,
  out: NodeJS.WriteStream = process.stderr,
): Promise<T> {
  const progress = new Progress(what, out);
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  const interrupted = () => {
    progress.end(undefined);
    process.stderr.write(`interrupted: stopped waiting for ${what}; the operation goes on in the cluster\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let last: Observation | undefined;
  try {
    for (;;) {
      const o = await read();
      last = judge(o);
      progress.update(last);
      if (last.done === 'succeeded') {
        progress.end(last);
        return o;
      }
      if (last.done === 'failed') {
        progress.end(last);
        throw new CliError(`${what} failed: ${last.reason}${last.message ? `: ${last.message}` : ''}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(opts.intervalMs, left));
    }
  } catch (e) {
    progress.end(undefined);
    throw e;
  } finally {
    process.off('SIGINT', interrupted);
  }
  progress.end(undefined);
  throw new CliError(
    `timed out after ${opts.timeout} waiting for ${what}; last state: ${last?.reason}${last?.message ? `: ${last.message}` : ''}`,
  );
}
