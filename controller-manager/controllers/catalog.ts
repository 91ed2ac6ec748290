import { createHash } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../../api-types/meta';
import type { CatalogRestrictions } from '../../api-types/common';
import { servicecatalogGroup } from '../../api-types/resource';
import { classProperties, parseRestrictions, planProperties } from '../../pkg/servicecatalog/restrictions';
import type { Catalog, ServiceOffering, ServicePlan } from '../../pkg/osb';
import { schemaProblem } from '../../pkg/servicecatalog/parameters-schema';
import type { CatalogScope } from '../../pkg/servicecatalog/references';

// ---------------------------------------------------------------------------------------------
// Names

const DNS1123_LABEL_MAX = 63;

/**
 * The Kubernetes name of a new class or plan, from its OSB id, as the original computes it: keeps
 * [a-y0-9] and interior '.'/'-' (no '..', no '-.'), writes every other character as z<hex code
 * point>z ('z' itself included, so the mapping stays reversible), and past 63 characters keeps a
 * 30-character prefix followed by '-' and the MD5 of the id.
 */
export function escapedName(externalID: string): string {
  const bytes = Buffer.byteLength(externalID, 'utf8');
  let out = '';
  let prevDot = false;
  let prevDash = false;
  let i = 0; // byte offset of ch, as Go's range over a string gives it
  for (const ch of externalID) {
    const interior = i !== 0 && i !== bytes - 1;
    if ((ch >= 'a' && ch <= 'y') || (ch >= '0' && ch <= '9')) {
      out += ch;
      prevDot = prevDash = false;
    } else if (ch === '.' && interior && !prevDot && !prevDash) {
      out += ch;
      prevDot = true;
      prevDash = false;
    } else if (ch === '-' && interior && !prevDot) {
      out += ch;
      prevDash = true;
      prevDot = false;
    } else {
      out += `z${ch.codePointAt(0)!.toString(16)}z`;
      prevDot = prevDash = false;
    }
    i += Buffer.byteLength(ch, 'utf8');
  }
  if (out.length > DNS1123_LABEL_MAX) {
    let prefix = out.slice(0, 30);
    if (prefix.endsWith('.')) prefix = prefix.slice(0, -1);
    out = `${prefix}-${createHash('md5').update(externalID, 'utf8').digest('hex')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation: every violation of the catalog, so a broker author can fix them in one go

/** Longest externalName/externalID the API server accepts on classes and plans. */
const MAX_EXTERNAL = 63;

const semver =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

const schemaPaths = [
  ['service_instance', 'create'],
  ['service_instance', 'update'],
  ['service_binding', 'create'],
] as const;

function planSchemas(plan: ServicePlan): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [kind, op] of schemaPaths) {
    const holder = (
      plan.schemas?.[kind] as Record<string, { parameters?: unknown } | undefined> | undefined
    )?.[op];
    if (holder && holder.parameters !== undefined)
      out.push([`schemas.${kind}.${op}.parameters`, holder.parameters]);
  }
  return out;
}

/**
 * Every way the catalog breaks the OSB API's rules (or limits of the objects it becomes): names,
 * ids and descriptions present, offering names and ids unique, at least one plan per offering,
 * plan names unique within their offering and plan ids across the catalog, maintenance_info
 * versions SemVer 2.0, parameter schemas valid JSON Schema with $schema, no external references
 * and at most 64 kB. Empty when the catalog is valid.
 */
export function validateCatalog(catalog: Catalog): string[] {
  const problems: string[] = [];
  const offeringNames = new Map<string, number>();
  const offeringIds = new Map<string, number>();
  const planIds = new Map<string, string>();
  catalog.services.forEach((svc: ServiceOffering, si) => {
    const at = `services[${si}]${nonEmpty(svc.name) ? ` ("${svc.name}")` : ''}`;
    const say = (what: string) => problems.push(`${at}: ${what}`);
    if (!nonEmpty(svc.name)) say('name must be a non-empty string');
    else {
      const other = offeringNames.get(svc.name);
      if (other !== undefined)
        say(`name "${svc.name}" is also the name of services[${other}]; offering names must be unique`);
      else offeringNames.set(svc.name, si);
      if (svc.name.length > MAX_EXTERNAL) say(`name is longer than ${MAX_EXTERNAL} characters`);
    }
    if (!nonEmpty(svc.id)) say('id must be a non-empty string');
    else {
      const other = offeringIds.get(svc.id);
      if (other !== undefined)
        say(`id "${svc.id}" is also the id of services[${other}]; offering ids must be unique`);
      else offeringIds.set(svc.id, si);
      if (svc.id.length > MAX_EXTERNAL) say(`id is longer than ${MAX_EXTERNAL} characters`);
    }
    if (!nonEmpty(svc.description)) say('description must be a non-empty string');
    if (svc.plans.length === 0) say('must have at least one plan');
    const planNames = new Map<string, number>();
    svc.plans.forEach((plan, pi) => {
      const path = `services[${si}].plans[${pi}]`;
      const pat = `${path}${nonEmpty(plan.name) ? ` ("${plan.name}")` : ''}`;
      const sayPlan = (what: string) => problems.push(`${pat}: ${what}`);
      if (!nonEmpty(plan.name)) sayPlan('name must be a non-empty string');
      else {
        const other = planNames.get(plan.name);
        if (other !== undefined) {
          sayPlan(
            `name "${plan.name}" is also the name of plans[${other}] of the same offering; plan names must be unique within an offering`,
          );
        } else planNames.set(plan.name, pi);
        if (plan.name.length > MAX_EXTERNAL) sayPlan(`name is longer than ${MAX_EXTERNAL} characters`);
      }
      if (!nonEmpty(plan.id)) sayPlan('id must be a non-empty string');
      else {
        const other = planIds.get(plan.id);
        if (other !== undefined)
          sayPlan(`id "${plan.id}" is also the id of ${other}; plan ids must be unique`);
        else planIds.set(plan.id, path);
        if (plan.id.length > MAX_EXTERNAL) sayPlan(`id is longer than ${MAX_EXTERNAL} characters`);
      }
      if (!nonEmpty(plan.description)) sayPlan('description must be a non-empty string');
      const version = plan.maintenance_info?.version;
      if (plan.maintenance_info && !semver.test(version ?? '')) {
        sayPlan(`maintenance_info.version "${version ?? ''}" is not a semantic version (SemVer 2.0)`);
      }
      for (const [where, schema] of planSchemas(plan)) {
        const problem = schemaProblem(schema);
        if (problem) sayPlan(`${where} ${problem}`);
      }
    });
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Conversion: the catalog as the classes and plans it should be

/** A class or plan as the catalog wants it: its name and the spec fields the controller owns. */
export interface DesiredEntry {
  name: string;
  externalID: string;
  spec: Record<string, unknown>;
}

interface DesiredCatalog {
  classes: DesiredEntry[];
  plans: DesiredEntry[];
}

/** Class spec fields that come from the catalog; anything else (defaultProvisionParameters) is the user's. */
export const classCatalogFields = [
  'externalName',
  'externalID',
  'description',
  'bindable',
  'bindingRetrievable',
  'planUpdatable',
  'instancesRetrievable',
  'allowContextUpdates',
  'externalMetadata',
  'tags',
  'requires',
] as const;

export const planCatalogFields = [
  'externalName',
  'externalID',
  'description',
  'bindable',
  'free',
  'planUpdatable',
  'bindingRotatable',
  'maximumPollingDuration',
  'externalMetadata',
  'instanceCreateParameterSchema',
  'instanceUpdateParameterSchema',
  'serviceBindingCreateParameterSchema',
  'maintenanceInfo',
] as const;

/** Drops undefined members, which JSON would drop anyway, so that specs compare as stored. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function classSpec(scope: CatalogScope, brokerName: string, svc: ServiceOffering): Record<string, unknown> {
  return defined({
    [scope.brokerNameField]: brokerName,
    externalName: svc.name,
    externalID: svc.id,
    description: svc.description,
    bindable: svc.bindable,
    bindingRetrievable: svc.bindings_retrievable ?? false,
    planUpdatable: svc.plan_updateable ?? false,
    instancesRetrievable: svc.instances_retrievable ?? false,
    allowContextUpdates: svc.allow_context_updates ?? false,
    externalMetadata: svc.metadata,
    tags: svc.tags,
    requires: svc.requires,
  });
}

function planSpec(
  scope: CatalogScope,
  brokerName: string,
  className: string,
  plan: ServicePlan,
): Record<string, unknown> {
  return defined({
    [scope.brokerNameField]: brokerName,
    externalName: plan.name,
    externalID: plan.id,
    description: plan.description,
    // unset means "as the class says", which is what the OSB API means by leaving it out
    bindable: plan.bindable,
    free: plan.free ?? true,
    planUpdatable: plan.plan_updateable,
    bindingRotatable: plan.binding_rotatable ?? false,
    maximumPollingDuration: plan.maximum_polling_duration,
    externalMetadata: plan.metadata,
    instanceCreateParameterSchema: plan.schemas?.service_instance?.create?.parameters,
    instanceUpdateParameterSchema: plan.schemas?.service_instance?.update?.parameters,
    serviceBindingCreateParameterSchema: plan.schemas?.service_binding?.create?.parameters,
    maintenanceInfo: plan.maintenance_info,
    [scope.classRefField]: { name: className },
  });
}

/**
 * The classes and plans a (valid) catalog becomes: names of existing objects are kept (matched by
 * OSB id), new ones get escapedName(id); then the restrictions filter classes, then plans, and a
 * class left with no plan is dropped. Throws CatalogRestrictionError on unparseable restrictions.
 */
export function convertCatalog(
  scope: CatalogScope,
  brokerName: string,
  catalog: Catalog,
  restrictions: CatalogRestrictions | undefined,
  existingClassNames: ReadonlyMap<string, string>,
  existingPlanNames: ReadonlyMap<string, string>,
): DesiredCatalog {
  const classFilter = parseRestrictions(restrictions?.serviceClass, scope.classRestrictionProperties);
  const planFilter = parseRestrictions(restrictions?.servicePlan, scope.planRestrictionProperties);
  const out: DesiredCatalog = { classes: [], plans: [] };
  for (const svc of catalog.services) {
    const className = existingClassNames.get(svc.id) ?? escapedName(svc.id);
    const cls: DesiredEntry = {
      name: className,
      externalID: svc.id,
      spec: classSpec(scope, brokerName, svc),
    };
    if (!classFilter.accepts(classProperties({ metadata: { name: className }, spec: cls.spec }))) continue;
    const plans = svc.plans
      .map((plan): DesiredEntry => {
        const name = existingPlanNames.get(plan.id) ?? escapedName(plan.id);
        return { name, externalID: plan.id, spec: planSpec(scope, brokerName, className, plan) };
      })
      .filter((p) => planFilter.accepts(planProperties({ metadata: { name: p.name }, spec: p.spec })));
    if (plans.length === 0) continue;
    out.classes.push(cls);
    out.plans.push(...plans);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ownership

const brokerApiVersion = (scope: CatalogScope) => `${scope.broker.group}/${scope.broker.version}`;

/** The controller reference a class or plan of this broker carries. */
function brokerOwnerReference(scope: CatalogScope, broker: KubeObject) {
  return {
    apiVersion: brokerApiVersion(scope),
    kind: scope.broker.kind,
    name: broker.metadata.name!,
    uid: broker.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether the controller manages this class or plan (it has a servicecatalog controller reference). */
export function isManaged(obj: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (r) => r.controller === true && r.apiVersion.startsWith(`${servicecatalogGroup}/`),
  );
}

/** The object's owner references with this broker as its one controller. */
export function ownedBy(
  scope: CatalogScope,
  meta: ObjectMeta,
  broker: KubeObject,
): ObjectMeta['ownerReferences'] {
  const mine = brokerOwnerReference(scope, broker);
  const others = (meta.ownerReferences ?? []).filter((r) => !r.controller);
  return [...others, mine];
}

/** Whether the owner references already say exactly what ownedBy would. */
export function isOwnedBy(scope: CatalogScope, meta: ObjectMeta, broker: KubeObject): boolean {
  const controllers = (meta.ownerReferences ?? []).filter((r) => r.controller);
  const mine = brokerOwnerReference(scope, broker);
  return (
    controllers.length === 1 &&
    controllers[0].uid === mine.uid &&
    controllers[0].kind === mine.kind &&
    controllers[0].apiVersion === mine.apiVersion &&
    controllers[0].name === mine.name &&
    controllers[0].blockOwnerDeletion === true
  );
}
