import { Type, type Static } from '@sinclair/typebox';
import { readString, readValue, selectString, timestamp } from '../common';
import { kindSchema, type KubeObject } from '../meta';
import { eventProto } from './protobuf';
import { since, type ResourceDefinition } from '../resource';
import { coreGroup, coreObjectReference, coreVersion, int32, microTime } from './common';

export const EventSourceSchema = Type.Object(
  {
    component: Type.Optional(Type.String({ description: 'Component from which the event is generated.' })),
    host: Type.Optional(Type.String({ description: 'Node name on which the event is generated.' })),
  },
  { description: 'EventSource contains information for an event.' },
);
export type EventSource = Static<typeof EventSourceSchema>;

export const EventSeriesSchema = Type.Object(
  {
    count: Type.Optional(int32('Number of occurrences in this series up to the last heartbeat time')),
    lastObservedTime: Type.Optional(microTime('Time of the last occurrence observed')),
  },
  {
    description:
      'EventSeries contain information on series of events, i.e. thing that was/is happening continuously for some time.',
  },
);
export type EventSeries = Static<typeof EventSeriesSchema>;

export const EventSchema = kindSchema(
  'Event is a report of an event somewhere in the cluster. Events have a limited retention time and triggers and messages may evolve with time.',
  {
    involvedObject: Type.Optional(coreObjectReference('The object that this event is about.')),
    reason: Type.Optional(
      Type.String({
        description:
          "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      }),
    ),
    message: Type.Optional(
      Type.String({ description: 'A human-readable description of the status of this operation.' }),
    ),
    source: Type.Optional(EventSourceSchema),
    firstTimestamp: Type.Optional(
      timestamp('The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
    ),
    lastTimestamp: Type.Optional(
      timestamp('The time at which the most recent occurrence of this event was recorded.'),
    ),
    count: Type.Optional(int32('The number of times this event has occurred.')),
    type: Type.Optional(
      Type.String({
        description: 'Type of this event (Normal, Warning), new types could be added in the future',
      }),
    ),
    eventTime: Type.Optional(microTime('Time when this Event was first observed.')),
    series: Type.Optional(EventSeriesSchema),
    action: Type.Optional(
      Type.String({ description: 'What action was taken/failed regarding to the Regarding object.' }),
    ),
    related: Type.Optional(coreObjectReference('Optional secondary object for more complex actions.')),
    reportingComponent: Type.Optional(
      Type.String({
        description: 'Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`.',
      }),
    ),
    reportingInstance: Type.Optional(
      Type.String({ description: 'ID of the controller instance, e.g. `kubelet-xyzf`.' }),
    ),
  },
);
export type Event = Static<typeof EventSchema> & KubeObject;

// The cells below follow kube's printEvent (pkg/printers/internalversion).

function firstSeen(obj: KubeObject): string {
  return since(readString(obj, ['firstTimestamp']) ?? readString(obj, ['eventTime']));
}

function lastSeen(obj: KubeObject): string {
  const seriesLast = readString(obj, ['series', 'lastObservedTime']);
  if (readValue(obj, ['series']) !== undefined) return since(seriesLast);
  const last = readString(obj, ['lastTimestamp']);
  return last ? since(last) : firstSeen(obj);
}

function eventCount(obj: KubeObject): number {
  const series = readValue(obj, ['series', 'count']);
  if (readValue(obj, ['series']) !== undefined) return typeof series === 'number' ? series : 0;
  const count = readValue(obj, ['count']);
  return typeof count === 'number' && count !== 0 ? count : 1;
}

function eventObject(obj: KubeObject): string {
  const kind = (readString(obj, ['involvedObject', 'kind']) ?? '').toLowerCase();
  const name = readString(obj, ['involvedObject', 'name']) ?? '';
  return name ? `${kind}/${name}` : kind;
}

/** "component, host", with reportingComponent/reportingInstance standing in for empty source fields. */
function eventSource(obj: KubeObject): string {
  const component = readString(obj, ['source', 'component']) || readString(obj, ['reportingComponent']) || '';
  const host = readString(obj, ['source', 'host']) || readString(obj, ['reportingInstance']) || '';
  if (!component) return '';
  return host ? `${component}, ${host}` : component;
}

export const eventResource: ResourceDefinition = {
  group: coreGroup,
  version: coreVersion,
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  categories: [],
  subresources: [],
  schema: EventSchema,
  printerColumns: [
    {
      name: 'LAST SEEN',
      type: 'string',
      description: 'The time at which the most recent occurrence of this event was recorded.',
      priority: 0,
      cell: lastSeen,
    },
    {
      name: 'TYPE',
      type: 'string',
      description: 'Type of this event (Normal, Warning).',
      priority: 0,
      cell: (obj) => readString(obj, ['type']) ?? '',
    },
    {
      name: 'REASON',
      type: 'string',
      description:
        "A short, machine understandable string that gives the reason for the transition into the object's current status.",
      priority: 0,
      cell: (obj) => readString(obj, ['reason']) ?? '',
    },
    {
      name: 'OBJECT',
      type: 'string',
      description: 'The object that this event is about.',
      priority: 0,
      cell: eventObject,
    },
    {
      name: 'SUBOBJECT',
      type: 'string',
      description: 'The piece of the object this event is about (involvedObject.fieldPath).',
      priority: 1,
      cell: (obj) => readString(obj, ['involvedObject', 'fieldPath']) ?? '',
    },
    {
      name: 'SOURCE',
      type: 'string',
      description: 'The component reporting this event.',
      priority: 1,
      cell: eventSource,
    },
    {
      name: 'MESSAGE',
      type: 'string',
      description: 'A human-readable description of the status of this operation.',
      priority: 0,
      cell: (obj) => (readString(obj, ['message']) ?? '').trim(),
    },
    {
      name: 'FIRST SEEN',
      type: 'string',
      description: 'The time at which the event was first recorded.',
      priority: 1,
      cell: firstSeen,
    },
    {
      name: 'COUNT',
      type: 'integer',
      description: 'The number of times this event has occurred.',
      priority: 1,
      cell: eventCount,
    },
  ],
  selectableFields: {
    'involvedObject.kind': selectString(['involvedObject', 'kind']),
    'involvedObject.namespace': selectString(['involvedObject', 'namespace']),
    'involvedObject.name': selectString(['involvedObject', 'name']),
    'involvedObject.uid': selectString(['involvedObject', 'uid']),
    'involvedObject.apiVersion': selectString(['involvedObject', 'apiVersion']),
    'involvedObject.resourceVersion': selectString(['involvedObject', 'resourceVersion']),
    'involvedObject.fieldPath': selectString(['involvedObject', 'fieldPath']),
    reason: selectString(['reason']),
    reportingComponent: selectString(['reportingComponent']),
    // kube: the source component, or the reporting controller when the event has no source
    source: (obj) => readString(obj, ['source', 'component']) || readString(obj, ['reportingComponent']),
    type: selectString(['type']),
  },
  protobuf: eventProto,
};
