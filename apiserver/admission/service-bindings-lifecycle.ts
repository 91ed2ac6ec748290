import { namespaceOf, refuse } from './types';
import type { AdmissionPlugin } from './types';

/**
 * ServiceBindingsLifecycle: no new ServiceBinding for a ServiceInstance that is being deleted, so
 * that no credentials are handed out for an instance about to be deprovisioned. An instance that
 * does not exist is the controller's to report.
 */
export const serviceBindingsLifecycle: AdmissionPlugin = {
  name: 'ServiceBindingsLifecycle',
  async validate(attrs, objects) {
    if (attrs.resource !== 'servicebindings' || attrs.operation !== 'CREATE' || attrs.subresource) return;
    const spec = attrs.object?.spec as { instanceRef?: { name?: unknown } } | undefined;
    const instanceName = spec?.instanceRef?.name;
    if (typeof instanceName !== 'string' || instanceName === '') return;
    const namespace = namespaceOf(attrs) ?? '';
    const instance = await objects.get('serviceinstances', namespace, instanceName);
    if (instance?.metadata.deletionTimestamp) {
      const binding = attrs.name ?? attrs.object?.metadata.name ?? '';
      throw refuse(
        attrs,
        `ServiceBinding ${namespace}/${binding} references a ServiceInstance that is being deleted: ${namespace}/${instanceName}`,
      );
    }
  },
};
