import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'undici';
import { freePort } from '../../pkg/net';
import { waitFor } from '../../pkg/wait';

export interface EtcdProcess {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a single-member etcd on free loopback ports with its data in dataDir; `detached`: in a
 * process group of its own (see ProcessOptions in stack.ts).
 */
export async function startEtcd(dataDir: string, o: { detached?: boolean } = {}): Promise<EtcdProcess> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  const peerURL = `http://127.0.0.1:${peer}`;
  const proc = spawn(
    'etcd',
    [
      '--name=default',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=default=${peerURL}`,
      '--logger=zap',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: o.detached },
  );
  let exited = false;
  proc.once('exit', () => (exited = true));
  await waitFor('etcd', async () => {
    if (exited) return true;
    const res = await request(`${endpoint}/health`);
    const body = (await res.body.json()) as { health?: string };
    return body.health === 'true';
  });
  if (exited) throw new Error('etcd exited at start-up');
  return {
    endpoint,
    process: proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
