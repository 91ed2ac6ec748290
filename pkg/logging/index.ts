import pino, { type Logger } from 'pino';

export type { Logger };

/** The one logger factory: structured JSON on stdout, level from LOG_LEVEL (default info). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { component: name } });
}
