import type { Session } from '../session';
import { clientVersion } from '../version';
import { write } from './shared';

/**
 * The catalog API server's version, from its OpenAPI document for servicecatalog.k8s.io: through
 * aggregation that document comes from the catalog server itself, while /version (which the
 * original printed) is kube-apiserver's.
 */
export async function serverVersion(s: Session): Promise<string> {
  const doc = (await s.getJSON('/openapi/v3/apis/servicecatalog.k8s.io/v1beta1')) as {
    info?: { version?: string };
  };
  const v = doc.info?.version;
  return v ? `v${v.replace(/^v/, '')}` : 'unknown';
}

export async function printVersions(s: Session | undefined): Promise<void> {
  write(`Client Version: ${clientVersion}\n`);
  if (s) write(`Server Version: ${await serverVersion(s)}\n`);
}
