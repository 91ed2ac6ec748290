import yaml from 'js-yaml';

/**
 * A kubeconfig for one server, trusting its CA. kubectl prompts for a password when a user has no
 * credentials at all, so there is always a token.
 */
export function kubeconfig(server: string, caPem: string, user: Record<string, string> = { token: 'catalog-admin' }): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'catalog', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'catalog-user', user }],
    contexts: [{ name: 'catalog', context: { cluster: 'catalog', user: 'catalog-user', namespace: 'default' } }],
    'current-context': 'catalog',
  });
}
