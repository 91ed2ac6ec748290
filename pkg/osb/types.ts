import { Type, type Static } from '@sinclair/typebox';

/**
 * Open Service Broker API 2.17 messages. What a broker sends is a TypeBox schema (validated on
 * receipt, so a type here is a promise kept, not a hope); what the platform sends is a plain
 * interface. Objects never forbid additional properties: receivers MUST ignore vendor extensions.
 */

export const API_VERSION = '2.17';

const JSONObject = Type.Record(Type.String(), Type.Unknown());
export type JSONObject = Static<typeof JSONObject>;

// ---------------------------------------------------------------------------------------------
// Catalog

export const MaintenanceInfo = Type.Object({
  version: Type.String(),
  description: Type.Optional(Type.String()),
});
export type MaintenanceInfo = Static<typeof MaintenanceInfo>;

const InputParametersSchema = Type.Object({ parameters: Type.Optional(JSONObject) });

export const PlanSchemas = Type.Object({
  service_instance: Type.Optional(
    Type.Object({
      create: Type.Optional(InputParametersSchema),
      update: Type.Optional(InputParametersSchema),
    }),
  ),
  service_binding: Type.Optional(Type.Object({ create: Type.Optional(InputParametersSchema) })),
});
export type PlanSchemas = Static<typeof PlanSchemas>;

export const ServicePlan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  metadata: Type.Optional(JSONObject),
  /** Defaults to true. */
  free: Type.Optional(Type.Boolean()),
  /** Overrides the offering's `bindable`. */
  bindable: Type.Optional(Type.Boolean()),
  /** Defaults to false. */
  binding_rotatable: Type.Optional(Type.Boolean()),
  /** Overrides the offering's `plan_updateable` (the misspelling is the spec's). */
  plan_updateable: Type.Optional(Type.Boolean()),
  schemas: Type.Optional(PlanSchemas),
  /** Seconds. */
  maximum_polling_duration: Type.Optional(Type.Integer()),
  maintenance_info: Type.Optional(MaintenanceInfo),
});
export type ServicePlan = Static<typeof ServicePlan>;

export const DashboardClient = Type.Object({
  id: Type.String(),
  secret: Type.String(),
  redirect_uri: Type.Optional(Type.String()),
});
export type DashboardClient = Static<typeof DashboardClient>;

export const ServiceOffering = Type.Object({
  name: Type.String(),
  id: Type.String(),
  description: Type.String(),
  tags: Type.Optional(Type.Array(Type.String())),
  requires: Type.Optional(Type.Array(Type.String())),
  bindable: Type.Boolean(),
  instances_retrievable: Type.Optional(Type.Boolean()),
  bindings_retrievable: Type.Optional(Type.Boolean()),
  allow_context_updates: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(JSONObject),
  dashboard_client: Type.Optional(DashboardClient),
  /** Defaults to false. */
  plan_updateable: Type.Optional(Type.Boolean()),
  plans: Type.Array(ServicePlan),
});
export type ServiceOffering = Static<typeof ServiceOffering>;

export const Catalog = Type.Object({ services: Type.Array(ServiceOffering) });
export type Catalog = Static<typeof Catalog>;

// ---------------------------------------------------------------------------------------------
// Requests (platform → broker)

/** The Kubernetes context object (profile.md); `platform` MUST equal the originating identity's. */
export interface KubernetesContext {
  platform: 'kubernetes';
  namespace: string;
  /** REQUIRED on provision, update and bind (profile.md). */
  clusterid?: string;
  /** REQUIRED on provision and update (profile.md). */
  instance_name?: string;
  namespace_annotations?: Record<string, string>;
  instance_annotations?: Record<string, string>;
  [extension: string]: unknown;
}

/** The `user.info` of the Kubernetes user whose action caused the request. */
export interface OriginatingIdentity {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface ProvisionRequest {
  service_id: string;
  plan_id: string;
  context: KubernetesContext;
  /** Deprecated by `context` but still REQUIRED in 2.17. */
  organization_guid: string;
  /** Deprecated by `context` but still REQUIRED in 2.17. */
  space_guid: string;
  parameters?: JSONObject;
  maintenance_info?: MaintenanceInfo;
}

export interface PreviousValues {
  plan_id?: string;
  maintenance_info?: MaintenanceInfo;
  /** Deprecated. */
  service_id?: string;
  /** Deprecated. */
  organization_id?: string;
  /** Deprecated. */
  space_id?: string;
}

export interface UpdateRequest {
  service_id: string;
  /** Only when changing the plan: absent means "keep the plan". */
  plan_id?: string;
  context?: KubernetesContext;
  /** Absent means "keep the parameters"; send only what the user changed. */
  parameters?: JSONObject;
  previous_values?: PreviousValues;
  maintenance_info?: MaintenanceInfo;
}

export interface BindResource {
  app_guid?: string;
  route?: string;
  [extension: string]: unknown;
}

export interface BindRequest {
  service_id: string;
  plan_id: string;
  context?: KubernetesContext;
  bind_resource?: BindResource;
  /** Deprecated in favour of `bind_resource.app_guid`. */
  app_guid?: string;
  parameters?: JSONObject;
  /** Binding rotation: only for plans with `binding_rotatable: true`. */
  predecessor_binding_id?: string;
}

// ---------------------------------------------------------------------------------------------
// Responses (broker → platform)

const Operation = Type.String({ maxLength: 10000 });

export const ServiceInstanceMetadata = Type.Object({
  labels: Type.Optional(JSONObject),
  attributes: Type.Optional(JSONObject),
});
export type ServiceInstanceMetadata = Static<typeof ServiceInstanceMetadata>;

/** 200/201 to provision. */
export const ProvisionResponse = Type.Object({
  dashboard_url: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  metadata: Type.Optional(ServiceInstanceMetadata),
});
export type ProvisionResponse = Static<typeof ProvisionResponse>;

/** 202 to provision or update. */
export const InstanceAsyncResponse = Type.Object({
  dashboard_url: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  operation: Type.Optional(Type.Union([Operation, Type.Null()])),
  metadata: Type.Optional(ServiceInstanceMetadata),
});
export type InstanceAsyncResponse = Static<typeof InstanceAsyncResponse>;

/** 200 to update; absent or null `dashboard_url` means "keep the previous one". */
export const UpdateResponse = ProvisionResponse;
export type UpdateResponse = ProvisionResponse;

/** 202 to deprovision, unbind, and (without credentials: MUST NOT be returned) bind. */
export const AsyncOperationResponse = Type.Object({
  operation: Type.Optional(Type.Union([Operation, Type.Null()])),
});
export type AsyncOperationResponse = Static<typeof AsyncOperationResponse>;

export const BindAsyncResponse = Type.Object({
  operation: Type.Optional(Type.Union([Operation, Type.Null()])),
  credentials: Type.Optional(Type.Never()),
});

/** 200 to deprovision and unbind: `{}` (any object is accepted). */
export const EmptyResponse = JSONObject;

export const LastOperationState = Type.Union([
  Type.Literal('in progress'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);
export type LastOperationState = Static<typeof LastOperationState>;

export const LastOperationResponse = Type.Object({
  state: LastOperationState,
  description: Type.Optional(Type.String()),
  /** Update/deprovision failures only; absent means true. */
  instance_usable: Type.Optional(Type.Boolean()),
  /** Update failures only; absent means true. */
  update_repeatable: Type.Optional(Type.Boolean()),
});
export type LastOperationResponse = Static<typeof LastOperationResponse>;

export const GetInstanceResponse = Type.Object({
  service_id: Type.Optional(Type.String()),
  plan_id: Type.Optional(Type.String()),
  dashboard_url: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  parameters: Type.Optional(JSONObject),
  maintenance_info: Type.Optional(MaintenanceInfo),
  metadata: Type.Optional(ServiceInstanceMetadata),
});
export type GetInstanceResponse = Static<typeof GetInstanceResponse>;

export const BindingMetadata = Type.Object({
  /** ISO 8601, `yyyy-mm-ddThh:mm:ss.sZ`. */
  expires_at: Type.Optional(Type.String()),
  /** ISO 8601; at or before `expires_at`. */
  renew_before: Type.Optional(Type.String()),
});
export type BindingMetadata = Static<typeof BindingMetadata>;

export const VolumeMount = Type.Object({
  driver: Type.String(),
  container_dir: Type.String(),
  mode: Type.Union([Type.Literal('r'), Type.Literal('rw')]),
  device_type: Type.Literal('shared'),
  device: Type.Object({ volume_id: Type.String(), mount_config: Type.Optional(JSONObject) }),
});
export type VolumeMount = Static<typeof VolumeMount>;

export const Endpoint = Type.Object({
  host: Type.String(),
  /** Single ports ("443") or ranges ("9000-9010"). */
  ports: Type.Array(Type.String(), { minItems: 1 }),
  /** Defaults to tcp. */
  protocol: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('all')])),
});
export type Endpoint = Static<typeof Endpoint>;

const bindingFields = {
  metadata: Type.Optional(BindingMetadata),
  credentials: Type.Optional(JSONObject),
  /** Valid only if the offering `requires` syslog_drain. */
  syslog_drain_url: Type.Optional(Type.String()),
  /** Valid only if the offering `requires` route_forwarding. */
  route_service_url: Type.Optional(Type.String()),
  /** Valid only if the offering `requires` volume_mount. */
  volume_mounts: Type.Optional(Type.Array(VolumeMount)),
  endpoints: Type.Optional(Type.Array(Endpoint)),
};

/** 200/201 to bind. Credentials may be returned only here, so persist them at once. */
export const BindResponse = Type.Object(bindingFields);
export type BindResponse = Static<typeof BindResponse>;

export const GetBindingResponse = Type.Object({ ...bindingFields, parameters: Type.Optional(JSONObject) });
export type GetBindingResponse = Static<typeof GetBindingResponse>;

/** The error body; every field is optional and parsed leniently (a bad error body is still an error). */
export interface ErrorResponse {
  error?: string;
  description?: string;
  instance_usable?: boolean;
  update_repeatable?: boolean;
}

/** The error codes the spec defines (`error` field of 422 responses). */
export const ErrorCodes = {
  AsyncRequired: 'AsyncRequired',
  ConcurrencyError: 'ConcurrencyError',
  RequiresApp: 'RequiresApp',
  MaintenanceInfoConflict: 'MaintenanceInfoConflict',
} as const;

// ---------------------------------------------------------------------------------------------
// Results: one variant per success status the spec defines for the endpoint; anything else is
// thrown as an OSBError. `requestId` is the X-Broker-API-Request-Identity that was sent.

interface Result {
  requestId: string;
}

/** Seconds to wait before polling again (Retry-After: delta-seconds or HTTP-date), when given. */
interface RetryAfter {
  retryAfterSeconds?: number;
}

export interface CatalogResult extends Result {
  kind: 'sync';
  status: 200;
  body: Catalog;
}

/** 202 on an instance: poll the instance last_operation with `operation` (echoed verbatim). */
export interface InstanceAsyncResult extends Result, RetryAfter {
  kind: 'async';
  status: 202;
  operation?: string;
  /** The broker MUST send it here if it ever will (it cannot later). */
  dashboardUrl?: string;
  body: InstanceAsyncResponse;
}

/** 202 on a delete or a binding: poll the matching last_operation with `operation`. */
export interface AsyncResult extends Result, RetryAfter {
  kind: 'async';
  status: 202;
  operation?: string;
  body: AsyncOperationResponse;
}

export type ProvisionResult =
  | (Result & { kind: 'sync'; status: 201; dashboardUrl?: string; body: ProvisionResponse })
  /** Already provisioned with identical attributes (synchronous only). */
  | (Result & { kind: 'exists'; status: 200; dashboardUrl?: string; body: ProvisionResponse })
  | InstanceAsyncResult;

export type UpdateResult =
  /** Absent `dashboardUrl` means "keep the previous one". */
  (Result & { kind: 'sync'; status: 200; dashboardUrl?: string; body: UpdateResponse }) | InstanceAsyncResult;

/** 410 Gone is success for a delete: the broker does not know the resource (any more). */
export type DeleteResult =
  (Result & { kind: 'sync'; status: 200 }) | (Result & { kind: 'gone'; status: 410 }) | AsyncResult;
export type DeprovisionResult = DeleteResult;
export type UnbindResult = DeleteResult;

export type BindResult =
  | (Result & { kind: 'sync'; status: 201; body: BindResponse })
  /** Already bound with identical parameters (synchronous only). */
  | (Result & { kind: 'exists'; status: 200; body: BindResponse })
  | AsyncResult;

/**
 * 410 is only meaningful while polling a delete (then: success, forget the resource); while
 * polling a create or update it is an invalid answer and the platform SHOULD keep polling.
 */
export type LastOperationResult =
  | (Result &
      RetryAfter & {
        kind: 'state';
        status: 200;
        state: LastOperationState;
        description?: string;
        /** Absent means true. */
        instanceUsable?: boolean;
        /** Absent means true. */
        updateRepeatable?: boolean;
        body: LastOperationResponse;
      })
  | (Result & RetryAfter & { kind: 'gone'; status: 410 });

export interface GetInstanceResult extends Result {
  kind: 'found';
  status: 200;
  body: GetInstanceResponse;
}

export interface GetBindingResult extends Result {
  kind: 'found';
  status: 200;
  body: GetBindingResponse;
}
