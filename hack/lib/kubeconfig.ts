import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

/**
 * This process's admin token: random, so no well-known token ever opens a server. `make run` and
 * the benches give it to the API server in a token file (writeAdminTokenFile) and to their
 * clients in the kubeconfig.
 */
export const adminToken = randomBytes(24).toString('base64url');

/** Writes `dir/tokens.csv` (--token-auth-file) with the admin token, user admin in system:masters; returns its path. */
export function writeAdminTokenFile(dir: string): string {
  const path = join(dir, 'tokens.csv');
  writeFileSync(path, `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
  return path;
}

/**
 * A kubeconfig for one server, trusting its CA. kubectl prompts for a password when a user has no
 * credentials at all, so there is always a token.
 */
export function kubeconfig(
  server: string,
  caPem: string,
  user: Record<string, string> = { token: adminToken },
): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'catalog',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: 'catalog-user', user }],
    contexts: [
      { name: 'catalog', context: { cluster: 'catalog', user: 'catalog-user', namespace: 'default' } },
    ],
    'current-context': 'catalog',
  });
}
