import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../pkg/logging';

/** One named health check: undefined when healthy, else why not. */
export interface HealthCheck {
  name: string;
  check(): string | undefined;
}

interface ServerConfig {
  bindAddress: string;
  /** 0 picks a free port. */
  port: number;
  tls: { cert: string; key: string };
  metrics: Registry;
  /** Liveness: /healthz and /livez. */
  livez: HealthCheck[];
  /** Readiness: /readyz (and the original's /healthz/ready). */
  readyz: HealthCheck[];
  log: Logger;
}

export interface HealthServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * The controller-manager's HTTPS endpoint: health in kube's format ("ok", or one "[-]check failed:
 * reason" line per failing check with status 500; `?verbose` lists every check) and Prometheus
 * metrics.
 */
export async function startHealthServer(cfg: ServerConfig): Promise<HealthServer> {
  const app = Fastify({ https: { cert: cfg.tls.cert, key: cfg.tls.key }, forceCloseConnections: true });

  const serve =
    (endpoint: string, checks: HealthCheck[]) => async (req: FastifyRequest, reply: FastifyReply) => {
      const results = checks.map((c) => ({ name: c.name, failure: c.check() }));
      const failed = results.filter((r) => r.failure !== undefined);
      const verbose = (req.query as Record<string, unknown>).verbose !== undefined;
      reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff');
      if (failed.length === 0 && !verbose) return reply.send('ok');
      const lines = (verbose ? results : failed).map((r) =>
        r.failure === undefined ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.failure}`,
      );
      lines.push(`${endpoint} check ${failed.length === 0 ? 'passed' : 'failed'}`);
      return reply.code(failed.length === 0 ? 200 : 500).send(`${lines.join('\n')}\n`);
    };
  app.get('/healthz', serve('healthz', cfg.livez));
  app.get('/livez', serve('livez', cfg.livez));
  app.get('/readyz', serve('readyz', cfg.readyz));
  app.get('/healthz/ready', serve('readyz', cfg.readyz));
  app.get('/metrics', async (_req, reply) =>
    reply.type(cfg.metrics.contentType).send(await cfg.metrics.metrics()),
  );

  await app.listen({ host: cfg.bindAddress, port: cfg.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  const host = cfg.bindAddress.includes(':') ? `[${cfg.bindAddress}]` : cfg.bindAddress;
  cfg.log.info({ port }, 'serving /healthz, /readyz and /metrics over HTTPS');
  return { port, url: `https://${host}:${port}`, stop: () => app.close() };
}
