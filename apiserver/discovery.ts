import type { ResourceDefinition } from '../api-types/resource';

/** The discovery documents kubectl and the aggregator read, built once from the registered kinds. */

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiResourceList(groupVersion: string, resources: ResourceDefinition[]): object {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs,
        ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length > 0 ? { categories: r.categories } : {}),
      },
      ...r.subresources.map((s) => ({
        name: `${r.plural}/${s}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      })),
    ]),
  };
}

export function apiGroup(group: string, versions: string[]): object {
  const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: gvs, preferredVersion: gvs[0] };
}

export function apiGroupList(groups: Map<string, string[]>): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([group, versions]) => {
      const {
        name,
        versions: vs,
        preferredVersion,
      } = apiGroup(group, versions) as {
        name: string;
        versions: object[];
        preferredVersion: object;
      };
      return { name, versions: vs, preferredVersion };
    }),
  };
}

export function apiVersions(coreVersions: string[]): object {
  return { kind: 'APIVersions', versions: coreVersions, serverAddressByClientCIDRs: [] };
}
