export { startScriptedBroker, type ScriptedBroker } from './server';
export { DEFAULT_IDS, defaultCatalog, defaultScripts, loadCatalog } from './catalog';
export type {
  AsyncBehaviour,
  Behaviour,
  BindingRecord,
  BindingState,
  Endpoint,
  InstanceRecord,
  InstanceState,
  JournalEntry,
  ScriptRule,
  ScriptedBrokerOptions,
  Violation,
} from './types';
export { ENDPOINTS } from './types';
