import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import { freeForm, type KubeObject } from './meta';
import type { PrinterColumn } from './resource';

/**
 * Schema pieces shared by the servicecatalog.k8s.io/v1beta1 kinds.
 *
 * Conventions:
 * - Every field is optional in the schema (only a condition's type and status are required):
 *   required-ness and cross-field rules belong to the registry strategies, which run after
 *   defaulting and report precise field errors, as the original validation did.
 * - Go clients send `null` for nil slices and zero times (e.g. status.conditions); no field here is
 *   nullable, so nulls must be dropped before validation, as Kubernetes does for structural schemas.
 * - Enumerations are emitted as `{type: string, enum: [...]}` rather than TypeBox literal unions,
 *   because `anyOf` branches that carry `type` are not structural.
 * - Enumerations whose Go field is serialised without `omitempty` also accept '' so that objects
 *   written by Go clients (which send the zero value) still validate.
 */

/** A string restricted to `values`, typed as their union. */
export function stringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions & { description: string },
) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An RFC 3339 timestamp (metav1.Time). */
export function timestamp(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** A 64-bit signed integer. */
export function int64(description: string) {
  return Type.Integer({ format: 'int64', description });
}

/** Base64 of arbitrary bytes (Go []byte). */
export function bytes(description: string) {
  return Type.String({ format: 'byte', description });
}

/** A string array. */
export function stringList(description: string, itemDescription?: string) {
  return Type.Array(Type.String(itemDescription ? { description: itemDescription } : {}), { description });
}

/** Accepted spellings of a Go time.Duration, e.g. "15m0s", "1h", "0.5s". */
export const goDurationPattern =
  '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$';

// ---------------------------------------------------------------------------------------------
// References

/** Reference to an object in the same namespace as the referrer. */
export function localObjectReference(description: string) {
  return Type.Object(
    {
      name: Type.Optional(
        Type.String({ description: 'Name of the referenced object, in the same namespace.' }),
      ),
    },
    { description },
  );
}
export const LocalObjectReferenceSchema = localObjectReference(
  'Reference to an object in the same namespace.',
);
export type LocalObjectReference = Static<typeof LocalObjectReferenceSchema>;

/** Reference to a cluster-scoped object. */
export function clusterObjectReference(description: string) {
  return Type.Object(
    { name: Type.Optional(Type.String({ description: 'Name of the referenced cluster-scoped object.' })) },
    { description },
  );
}
export const ClusterObjectReferenceSchema = clusterObjectReference('Reference to a cluster-scoped object.');
export type ClusterObjectReference = Static<typeof ClusterObjectReferenceSchema>;

/** Reference to an object in any namespace. */
export function objectReference(description: string) {
  return Type.Object(
    {
      namespace: Type.Optional(Type.String({ description: 'Namespace of the referenced object.' })),
      name: Type.Optional(Type.String({ description: 'Name of the referenced object.' })),
    },
    { description },
  );
}
export const ObjectReferenceSchema = objectReference('Reference to an object in a given namespace.');
export type ObjectReference = Static<typeof ObjectReferenceSchema>;

// ---------------------------------------------------------------------------------------------
// Conditions

export const conditionStatusValues = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof conditionStatusValues)[number];

/** One entry of status.conditions; `types` lists the condition types this kind uses. */
export function conditionSchema<const T extends readonly string[]>(types: T, description: string) {
  return Type.Object(
    {
      type: stringEnum(types, { description: `Which aspect this condition describes: ${types.join(', ')}.` }),
      status: stringEnum(conditionStatusValues, {
        description: 'Whether the condition currently holds: True, False or Unknown.',
      }),
      lastTransitionTime: Type.Optional(timestamp('When status last changed from one value to another.')),
      reason: Type.Optional(
        Type.String({ description: 'Short CamelCase cause of the last transition, for programs.' }),
      ),
      message: Type.Optional(
        Type.String({ description: 'Human readable explanation of the last transition.' }),
      ),
    },
    { description },
  );
}

export const brokerConditionTypes = ['Ready', 'Failed'] as const;
export const BrokerConditionSchema = conditionSchema(brokerConditionTypes, 'An observation about a broker.');
export type BrokerCondition = Static<typeof BrokerConditionSchema>;

/** The minimal shape the STATUS column reads from a condition. */
export interface ConditionLike {
  type?: string;
  status?: string;
  reason?: string;
}

/**
 * The STATUS printer cell: looks only at the last condition, giving its type when it holds
 * and its reason otherwise; '' when there are no conditions.
 */
export function lastConditionState(conditions: readonly ConditionLike[] | null | undefined): string {
  if (!Array.isArray(conditions) || conditions.length === 0) return '';
  const last: unknown = conditions[conditions.length - 1];
  if (typeof last !== 'object' || last === null) return '';
  const { type, status, reason } = last as ConditionLike;
  const cell = status === 'True' ? type : reason;
  return typeof cell === 'string' ? cell : '';
}

/** The STATUS column every kind with conditions shows. */
export const statusPrinterColumn: PrinterColumn = {
  name: 'STATUS',
  type: 'string',
  description: 'Type of the last condition when it is True, otherwise its reason.',
  priority: 0,
  cell: (obj) => lastConditionState(readValue(obj, ['status', 'conditions']) as ConditionLike[] | undefined),
};

// ---------------------------------------------------------------------------------------------
// Reading fields of stored objects (printer cells and field selectors)

/** Walks `path` through nested objects; undefined as soon as a step is missing. */
export function readValue(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The string at `path`, or undefined when absent or not a string. */
export function readString(obj: unknown, path: readonly string[]): string | undefined {
  const v = readValue(obj, path);
  return typeof v === 'string' ? v : undefined;
}

/** A column showing one string field of the object ('' when unset). */
export function fieldColumn(
  name: string,
  path: readonly string[],
  description: string,
  priority = 0,
): PrinterColumn {
  return { name, type: 'string', description, priority, cell: (obj) => readString(obj, path) ?? '' };
}

/** A field selector reading one string field. */
export function selectString(path: readonly string[]): (obj: KubeObject) => string | undefined {
  return (obj) => readString(obj, path);
}

// ---------------------------------------------------------------------------------------------
// Brokers

export const relistBehaviorValues = ['', 'Duration', 'Manual'] as const;
export type RelistBehavior = (typeof relistBehaviorValues)[number];

export const CatalogRestrictionsSchema = Type.Object(
  {
    serviceClass: Type.Optional(
      stringList(
        'Predicates a service must satisfy to get a class, e.g. "spec.externalName in (a, b)"; properties: name, spec.externalName, spec.externalID.',
        'One predicate: <property><op><value>, op one of ==, !=, in, notin; several may be joined with commas.',
      ),
    ),
    servicePlan: Type.Optional(
      stringList(
        'Predicates a plan must satisfy to get a plan object; properties: name, spec.externalName, spec.externalID, spec.free and the owning class name.',
        'One predicate: <property><op><value>, op one of ==, !=, in, notin; several may be joined with commas.',
      ),
    ),
  },
  { description: 'Filters that decide which services and plans of the broker catalog get objects here.' },
);
export type CatalogRestrictions = Static<typeof CatalogRestrictionsSchema>;

/** Spec fields both broker kinds share (they differ only in authInfo). */
export const commonServiceBrokerSpecProperties = {
  url: Type.Optional(
    Type.String({ description: 'Base URL of the Open Service Broker API endpoint. Required.' }),
  ),
  insecureSkipTLSVerify: Type.Optional(
    Type.Boolean({
      description: 'Skip verification of the broker TLS certificate. Discouraged; use caBundle.',
    }),
  ),
  caBundle: Type.Optional(
    bytes('PEM bundle of CA certificates that sign the broker serving certificate, base64 encoded.'),
  ),
  relistBehavior: Type.Optional(
    stringEnum(relistBehaviorValues, {
      description:
        'When the catalog is fetched again: Duration (every relistDuration) or Manual. Empty means Duration.',
    }),
  ),
  relistDuration: Type.Optional(
    Type.String({
      pattern: goDurationPattern,
      description:
        'Interval between catalog fetches with relistBehavior Duration, as a Go duration such as "15m0s".',
    }),
  ),
  relistRequests: Type.Optional(
    int64('Counter a user increments to ask for an immediate catalog fetch. Never decreases.'),
  ),
  catalogRestrictions: Type.Optional(CatalogRestrictionsSchema),
};
export const CommonServiceBrokerSpecSchema = Type.Object(commonServiceBrokerSpecProperties, {
  description: 'Broker settings shared by ClusterServiceBroker and ServiceBroker.',
});
export type CommonServiceBrokerSpec = Static<typeof CommonServiceBrokerSpecSchema>;

/** Descriptions of the two authInfo members, shared by both broker kinds. */
export const basicAuthDescription =
  'HTTP basic authentication; the secret holds the keys "username" and "password".';
export const bearerAuthDescription =
  'Bearer token authentication; the secret holds the token under the key "token".';

export const commonServiceBrokerStatusProperties = {
  conditions: Type.Optional(
    Type.Array(BrokerConditionSchema, { description: 'Observations about the broker, latest last.' }),
  ),
  reconciledGeneration: Type.Optional(
    int64('metadata.generation of the spec the controller last processed, successfully or not.'),
  ),
  operationStartTime: Type.Optional(timestamp('When the operation in progress started.')),
  lastCatalogRetrievalTime: Type.Optional(timestamp('When the catalog was last fetched from the broker.')),
};
export const CommonServiceBrokerStatusSchema = Type.Object(commonServiceBrokerStatusProperties, {
  description: 'Observed state of a broker.',
});
export type CommonServiceBrokerStatus = Static<typeof CommonServiceBrokerStatusSchema>;

/** Broker printer columns after NAME; AGE is added by the server. */
export const brokerPrinterColumns: PrinterColumn[] = [
  fieldColumn('URL', ['spec', 'url'], 'URL of the broker.'),
  statusPrinterColumn,
  fieldColumn('RELIST-BEHAVIOR', ['spec', 'relistBehavior'], 'How the catalog is refreshed.', 1),
];

// ---------------------------------------------------------------------------------------------
// Classes and plans

/** OSB 2.17 maintenance_info. Our addition: not part of the original v1beta1 types. */
export function maintenanceInfo(description: string) {
  return Type.Object(
    {
      version: Type.Optional(
        Type.String({ description: 'Semantic version (semver 2.0) of the maintenance level.' }),
      ),
      description: Type.Optional(
        Type.String({ description: 'Human readable notes about this maintenance level.' }),
      ),
    },
    { description },
  );
}
export const MaintenanceInfoSchema = maintenanceInfo('Maintenance level (OSB maintenance_info).');
export type MaintenanceInfo = Static<typeof MaintenanceInfoSchema>;

export const commonServiceClassSpecProperties = {
  externalName: Type.Optional(
    Type.String({ description: 'Name the broker gives this service. May change.' }),
  ),
  externalID: Type.Optional(Type.String({ description: 'Id of this service in the OSB API. Immutable.' })),
  description: Type.Optional(Type.String({ description: 'Short description of the service.' })),
  bindable: Type.Optional(
    Type.Boolean({ description: 'Whether instances of this service can be bound; a plan may override it.' }),
  ),
  bindingRetrievable: Type.Optional(
    Type.Boolean({ description: 'Whether the broker lets bindings be fetched with GET (alpha).' }),
  ),
  planUpdatable: Type.Optional(
    Type.Boolean({ description: 'Whether an instance may move to another plan of this service.' }),
  ),
  instancesRetrievable: Type.Optional(
    Type.Boolean({
      description: 'Whether the broker lets instances be fetched with GET (OSB instances_retrievable).',
    }),
  ),
  allowContextUpdates: Type.Optional(
    Type.Boolean({
      description:
        'Whether the broker accepts updates that change only the context (OSB allow_context_updates).',
    }),
  ),
  externalMetadata: Type.Optional(freeForm('Broker supplied metadata for display, kept as sent.')),
  tags: Type.Optional(stringList('Classification tags from the broker (alpha; no meaning in Kubernetes).')),
  requires: Type.Optional(
    stringList('Cloud Foundry permissions the service needs (alpha; none are available in Kubernetes).'),
  ),
  defaultProvisionParameters: Type.Optional(
    freeForm(
      'Default provision parameters; plan and instance parameters take precedence. Kept across relists.',
    ),
  ),
};
export const CommonServiceClassSpecSchema = Type.Object(commonServiceClassSpecProperties, {
  description: 'Service class fields shared by ClusterServiceClass and ServiceClass.',
});
export type CommonServiceClassSpec = Static<typeof CommonServiceClassSpecSchema>;

export const CommonServiceClassStatusSchema = Type.Object(
  {
    removedFromBrokerCatalog: Type.Optional(
      Type.Boolean({ description: 'True once the broker no longer lists this service.' }),
    ),
  },
  { description: 'Observed state of a service class.' },
);
export type CommonServiceClassStatus = Static<typeof CommonServiceClassStatusSchema>;

export const commonServicePlanSpecProperties = {
  externalName: Type.Optional(Type.String({ description: 'Name the broker gives this plan. May change.' })),
  externalID: Type.Optional(Type.String({ description: 'Id of this plan in the OSB API. Immutable.' })),
  description: Type.Optional(Type.String({ description: 'Short description of the plan.' })),
  bindable: Type.Optional(
    Type.Boolean({
      description: 'Whether instances on this plan can be bound; unset means the class decides.',
    }),
  ),
  free: Type.Optional(Type.Boolean({ description: 'Whether the plan costs nothing.' })),
  planUpdatable: Type.Optional(
    Type.Boolean({
      description:
        'Whether instances may move to or from this plan; unset means the class decides (OSB plan_updateable).',
    }),
  ),
  bindingRotatable: Type.Optional(
    Type.Boolean({ description: 'Whether bindings on this plan can be rotated (OSB binding_rotatable).' }),
  ),
  maximumPollingDuration: Type.Optional(
    Type.Integer({
      description:
        'Seconds after which an asynchronous operation on this plan counts as failed (OSB maximum_polling_duration).',
    }),
  ),
  externalMetadata: Type.Optional(freeForm('Broker supplied metadata for display, kept as sent.')),
  instanceCreateParameterSchema: Type.Optional(
    freeForm('JSON schema of the parameters accepted when provisioning on this plan (alpha).'),
  ),
  instanceUpdateParameterSchema: Type.Optional(
    freeForm('JSON schema of the parameters accepted when updating an instance on this plan (alpha).'),
  ),
  serviceBindingCreateParameterSchema: Type.Optional(
    freeForm('JSON schema of the parameters accepted when binding an instance on this plan (alpha).'),
  ),
  serviceBindingCreateResponseSchema: Type.Optional(
    freeForm('JSON schema of the credentials a bind on this plan returns (alpha).'),
  ),
  defaultProvisionParameters: Type.Optional(
    freeForm('Default provision parameters; instance parameters take precedence. Kept across relists.'),
  ),
  maintenanceInfo: Type.Optional(
    maintenanceInfo('Maintenance level the broker offers for this plan (OSB 2.17; our addition).'),
  ),
};
export const CommonServicePlanSpecSchema = Type.Object(commonServicePlanSpecProperties, {
  description: 'Service plan fields shared by ClusterServicePlan and ServicePlan.',
});
export type CommonServicePlanSpec = Static<typeof CommonServicePlanSpecSchema>;

export const CommonServicePlanStatusSchema = Type.Object(
  {
    removedFromBrokerCatalog: Type.Optional(
      Type.Boolean({ description: 'True once the broker no longer lists this plan.' }),
    ),
  },
  { description: 'Observed state of a service plan.' },
);
export type CommonServicePlanStatus = Static<typeof CommonServicePlanStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Instances and bindings

export const UserInfoSchema = Type.Object(
  {
    username: Type.Optional(Type.String({ description: 'Name of the user.' })),
    uid: Type.Optional(Type.String({ description: 'Unique id of the user.' })),
    groups: Type.Optional(stringList('Groups the user belongs to.')),
    extra: Type.Optional(
      Type.Record(Type.String(), Type.Array(Type.String()), {
        description: 'Further attributes the authenticator supplied, each a list of strings.',
      }),
    ),
  },
  { description: 'The user who last changed the spec; set by the API server, never by the client.' },
);
export type UserInfo = Static<typeof UserInfoSchema>;

export const SecretKeyReferenceSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Name of a secret in the same namespace.' })),
    key: Type.Optional(Type.String({ description: 'Key in that secret whose value is a JSON object.' })),
  },
  { description: 'A key of a secret whose value holds parameters as a JSON object.' },
);
export type SecretKeyReference = Static<typeof SecretKeyReferenceSchema>;

export const ParametersFromSourceSchema = Type.Object(
  { secretKeyRef: Type.Optional(SecretKeyReferenceSchema) },
  { description: 'One source of parameters.' },
);
export type ParametersFromSource = Static<typeof ParametersFromSourceSchema>;

/** spec.parameters of instances and bindings. */
export function parametersField(what: string) {
  return freeForm(
    `Parameters sent to the broker on ${what}. Not secret: put sensitive values in a secret and use parametersFrom.`,
  );
}

export function parametersFromField() {
  return Type.Array(ParametersFromSourceSchema, {
    description: 'Secrets holding more parameters; a top-level name may appear in only one source.',
  });
}
