/**
 * Everything a command does once its flags are parsed; loaded only then, because the kube client
 * (an ES module graph) takes most of a second to load and --help or completion need none of it.
 */
export { Session } from '../session';
export {
  describeBindingCmd,
  describeBrokerCmd,
  describeClassCmd,
  describeInstanceCmd,
  describePlanCmd,
  getBindings,
  getBrokers,
  getClasses,
  getInstances,
  getPlans,
  marketplace,
} from './read';
export { deprovision, provision, touchInstance } from './instance';
export { bind, unbind } from './binding';
export { createClass, deregister, register, syncBroker } from './broker';
export { printVersions } from './version';
