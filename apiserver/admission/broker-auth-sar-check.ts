import { namespaceOf, refuse } from './types';
import type { AdmissionAttributes, AdmissionPluginFactory } from './types';

interface SecretRef {
  namespace?: string;
  name?: string;
}
interface AuthInfo {
  basic?: { secretRef?: SecretRef };
  bearer?: { secretRef?: SecretRef };
}

/**
 * The Secret a broker's spec.authInfo names: in the namespace the reference gives for a
 * ClusterServiceBroker, in the broker's own for a ServiceBroker. Basic wins over bearer, as in the
 * original (validation allows only one of them anyway).
 */
function authSecret(attrs: AdmissionAttributes): { namespace: string; name: string } | undefined {
  const info = (attrs.object?.spec as { authInfo?: AuthInfo } | undefined)?.authInfo;
  if (!info) return undefined;
  const ref = info.basic ? info.basic.secretRef : info.bearer?.secretRef;
  if (typeof ref?.name !== 'string' || ref.name === '') return undefined;
  const namespace =
    attrs.resource === 'clusterservicebrokers' ? (ref.namespace ?? '') : (namespaceOf(attrs) ?? '');
  return { namespace, name: ref.name };
}

/**
 * BrokerAuthSarCheck: whoever creates or updates a broker must be allowed to read the Secret its
 * credentials are in, or they could have the controller use (and a broker see) credentials they
 * cannot read themselves. The server's own authorizer answers (a SubjectAccessReview in a cluster,
 * the policy file or the default policy standalone); without one everything is allowed anyway.
 * Status writes cannot change authInfo and are not checked.
 */
export const brokerAuthSarCheck: AdmissionPluginFactory = ({ authorizer }) => ({
  name: 'BrokerAuthSarCheck',
  async validate(attrs) {
    if (!authorizer || attrs.subresource) return;
    if (attrs.resource !== 'clusterservicebrokers' && attrs.resource !== 'servicebrokers') return;
    if (attrs.operation !== 'CREATE' && attrs.operation !== 'UPDATE') return;
    const secret = authSecret(attrs);
    if (!secret) return;
    const { namespace, name } = secret;
    const decision = await authorizer.authorize({
      user: attrs.user,
      verb: 'get',
      resourceRequest: true,
      path: `/api/v1/namespaces/${namespace}/secrets/${name}`,
      group: '',
      version: 'v1',
      resource: 'secrets',
      namespace,
      name,
    });
    if (decision.allowed) return;
    const why = decision.reason ? `: ${decision.reason}` : '';
    throw refuse(
      attrs,
      `broker forbidden access to auth secret (${name}): Reason: User "${attrs.user.username}" cannot get resource "secrets" in API group "" in the namespace "${namespace}"${why}`,
    );
  },
});
