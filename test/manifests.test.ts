import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseOptions as apiserverOptions } from '../apiserver/cmd/options';
import { parseOptions as controllerManagerOptions } from '../controller-manager/cmd/options';

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

const dir = join(__dirname, '..', 'manifests');
const docs: Doc[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => yaml.loadAll(readFileSync(join(dir, f), 'utf8')) as Doc[]);

const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

interface Container {
  command: string[];
}
const containerOf = (name: string) =>
  (find('Deployment', name)?.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0];

describe('manifests/', () => {
  test('every document names its apiVersion, kind and name', () => {
    expect(docs.length).toBeGreaterThan(10);
    for (const d of docs) {
      expect(d.apiVersion).toBeTruthy();
      expect(d.kind).toBeTruthy();
      expect(d.metadata?.name).toBeTruthy();
    }
  });

  test('the APIService points at the API server Service, on the port it serves', () => {
    const apiService = find('APIService', 'v1beta1.servicecatalog.k8s.io')!;
    const svcRef = apiService.spec!.service as { name: string; namespace: string; port: number };
    const svc = docs.find(
      (d) =>
        d.kind === 'Service' && d.metadata.name === svcRef.name && d.metadata.namespace === svcRef.namespace,
    )!;
    expect(svc).toBeDefined();
    const ports = (svc.spec!.ports as Array<{ port: number; targetPort: number }>).find(
      (p) => p.port === svcRef.port,
    )!;
    expect(ports.targetPort).toBe(8443);
    expect(apiService.spec).toMatchObject({ group: 'servicecatalog.k8s.io', version: 'v1beta1' });
  });

  test("the API server's flags are flags it accepts, and its certificate covers the Service name", () => {
    const [, , ...args] = containerOf('catalog-apiserver').command;
    const opts = apiserverOptions(args)!;
    expect(opts.serving.hosts).toContain('catalog-apiserver.catalog.svc');
  });

  test("the controller-manager's flags are flags it accepts", () => {
    const [, , ...args] = containerOf('catalog-controller-manager').command;
    expect(controllerManagerOptions(args)).toBeDefined();
  });

  test('the API server may delegate authentication and authorization and read the front-proxy settings', () => {
    const delegator = docs.find(
      (d) => d.kind === 'ClusterRoleBinding' && d.roleRef?.name === 'system:auth-delegator',
    );
    expect(delegator?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'catalog-apiserver', namespace: 'catalog' },
    ]);
    const reader = docs.find(
      (d) => d.kind === 'RoleBinding' && d.roleRef?.name === 'extension-apiserver-authentication-reader',
    );
    expect(reader?.metadata.namespace).toBe('kube-system');
  });

  test('admin, edit and view are extended to the servicecatalog kinds by aggregation labels', () => {
    const labels = docs
      .filter((d) => d.kind === 'ClusterRole')
      .flatMap((d) => Object.keys(d.metadata.labels ?? {}));
    for (const role of ['admin', 'edit', 'view']) {
      expect(labels).toContain(`rbac.authorization.k8s.io/aggregate-to-${role}`);
    }
  });

  test('the controller-manager may write everything it writes', () => {
    const rules = find('ClusterRole', 'catalog-controller-manager')!.rules!;
    const allows = (group: string, resource: string, verb: string) =>
      rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    expect(allows('servicecatalog.k8s.io', 'serviceinstances/status', 'update')).toBe(true);
    expect(allows('servicecatalog.k8s.io', 'serviceinstances/reference', 'update')).toBe(true);
    expect(allows('', 'secrets', 'create')).toBe(true);
    expect(allows('', 'events', 'create')).toBe(true);
    expect(allows('coordination.k8s.io', 'leases', 'update')).toBe(true);
    expect(allows('', 'configmaps', 'create')).toBe(true);
  });
});
