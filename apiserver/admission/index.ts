import { defaultServicePlan } from './default-service-plan';
import { originatingIdentityLocking } from './originating-identity-locking';
import { serviceBindingsLifecycle } from './service-bindings-lifecycle';
import { servicePlanChangeValidator } from './service-plan-change-validator';
import type { AdmissionPlugin } from './types';

/** Every admission plugin this server has, by the name --enable-admission-plugins uses. */
export const admissionPlugins: Record<string, AdmissionPlugin> = Object.fromEntries(
  [defaultServicePlan, serviceBindingsLifecycle, servicePlanChangeValidator, originatingIdentityLocking].map(
    (p) => [p.name, p],
  ),
);

/**
 * Enabled when --enable-admission-plugins is not given, in this order: the original chart's list
 * (the mutating DefaultServicePlan first, so the validators see the plan it fills in), then the
 * spec lock the original enforced through its OriginatingIdentityLocking feature gate.
 */
export const defaultAdmissionPlugins: string[] = [
  'DefaultServicePlan',
  'ServiceBindingsLifecycle',
  'ServicePlanChangeValidator',
  'OriginatingIdentityLocking',
];
