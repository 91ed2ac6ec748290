import { serviceBindingParametersSchema } from './binding-parameters-schema';
import { brokerAuthSarCheck } from './broker-auth-sar-check';
import { defaultServicePlan } from './default-service-plan';
import { namespaceLifecycle } from './namespace-lifecycle';
import { originatingIdentityLocking } from './originating-identity-locking';
import { serviceInstanceParametersSchema } from './parameters-schema';
import { serviceBindingsLifecycle } from './service-bindings-lifecycle';
import { servicePlanChangeValidator } from './service-plan-change-validator';
import type { AdmissionPlugin, AdmissionPluginFactory } from './types';

/** A plugin that needs nothing from the server is its own factory. */
const stateless =
  (plugin: AdmissionPlugin): AdmissionPluginFactory =>
  () =>
    plugin;

/** Every admission plugin this server has, by the name --enable-admission-plugins uses. */
export const admissionPlugins: Record<string, AdmissionPluginFactory> = {
  NamespaceLifecycle: namespaceLifecycle,
  DefaultServicePlan: stateless(defaultServicePlan),
  ServiceBindingsLifecycle: stateless(serviceBindingsLifecycle),
  ServicePlanChangeValidator: stateless(servicePlanChangeValidator),
  BrokerAuthSarCheck: brokerAuthSarCheck,
  OriginatingIdentityLocking: stateless(originatingIdentityLocking),
  ServiceInstanceParametersSchema: stateless(serviceInstanceParametersSchema),
  ServiceBindingParametersSchema: stateless(serviceBindingParametersSchema),
};

/**
 * Enabled when --enable-admission-plugins is not given, in this order: the original chart's list
 * (NamespaceLifecycle first, as kube-apiserver runs it; the mutating DefaultServicePlan before the
 * validators, so they see the plan it fills in), then the spec lock the original enforced through
 * its OriginatingIdentityLocking feature gate, then the parameter schema check (after
 * DefaultServicePlan, so that the plan it fills in is the one checked).
 */
export const defaultAdmissionPlugins: string[] = [
  'NamespaceLifecycle',
  'DefaultServicePlan',
  'ServiceBindingsLifecycle',
  'ServicePlanChangeValidator',
  'BrokerAuthSarCheck',
  'OriginatingIdentityLocking',
  'ServiceInstanceParametersSchema',
  'ServiceBindingParametersSchema',
];
