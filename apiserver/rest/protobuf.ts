import type { ProtoField, ProtoMessage } from '../../api-types/resource';
import { badRequest } from '../../pkg/apierrors';
import { rfc3339, rfc3339Micro } from '../../pkg/time';

/**
 * Decodes request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf):
 * the `k8s\0` magic, a runtime.Unknown envelope (type meta + raw message), and the message itself,
 * read through the kind's field table into the JSON object a JSON client would have sent. Go's
 * protobuf marshalling writes non-pointer fields even when empty, so empty strings, zero times and
 * `omitZero` numbers are left out, as Go's JSON `omitempty` would.
 */

export const protobufContentType = 'application/vnd.kubernetes.protobuf';

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Json = Record<string, unknown>;

class DecodeError extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new DecodeError('unexpected end of data in a varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new DecodeError('varint too long');
    }
  }

  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length)
      throw new DecodeError('unexpected end of data in a length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new DecodeError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) throw new DecodeError('unexpected end of data');
  }
}

/** Reads (field number, wire type, value reader) triples of one message. */
function* fields(buf: Buffer): Generator<{ no: number; wireType: number; r: Reader }> {
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    yield { no: tag >>> 3, wireType: tag & 7, r };
  }
}

/** metav1.Time / MicroTime: {seconds, nanos}; the zero time is an empty message. */
function decodeTime(buf: Buffer, micro: boolean): string | undefined {
  let seconds = 0n;
  let nanos = 0;
  for (const { no, wireType, r } of fields(buf)) {
    if (no === 1 && wireType === 0) seconds = BigInt.asIntN(64, r.varint());
    else if (no === 2 && wireType === 0) nanos = Number(BigInt.asIntN(32, r.varint()));
    else r.skip(wireType);
  }
  if (seconds === 0n && nanos === 0) return undefined;
  const ms = Number(seconds) * 1000;
  return micro ? rfc3339Micro(ms, Math.floor(nanos / 1000)) : rfc3339(ms);
}

function decodeScalar(f: ProtoField, wireType: number, r: Reader): unknown {
  const want = (w: number) => {
    if (wireType !== w) throw new DecodeError(`field ${f.name}: wire type ${wireType}, want ${w}`);
  };
  switch (f.type) {
    case 'string':
      want(2);
      return r.bytes().toString('utf8');
    case 'bytes':
      want(2);
      return r.bytes().toString('base64');
    case 'bool':
      want(0);
      return r.varint() !== 0n;
    case 'int32':
      want(0);
      return Number(BigInt.asIntN(32, r.varint()));
    case 'int64':
      want(0);
      return Number(BigInt.asIntN(64, r.varint()));
    case 'time':
    case 'microTime':
      want(2);
      return decodeTime(r.bytes(), f.type === 'microTime');
    case 'fieldsV1': {
      want(2);
      let raw: Buffer | undefined;
      for (const inner of fields(r.bytes())) {
        if (inner.no === 1 && inner.wireType === 2) raw = inner.r.bytes();
        else inner.r.skip(inner.wireType);
      }
      if (!raw || raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw new DecodeError(`field ${f.name}: not JSON`);
      }
    }
    case 'message':
      want(2);
      return decodeMessage(r.bytes(), f.message);
    case 'map': {
      want(2);
      let key = '';
      let value = '';
      for (const inner of fields(r.bytes())) {
        if (inner.no === 1 && inner.wireType === 2) key = inner.r.bytes().toString('utf8');
        else if (inner.no === 2 && inner.wireType === 2) {
          const b = inner.r.bytes();
          value = f.value === 'bytes' ? b.toString('base64') : b.toString('utf8');
        } else inner.r.skip(inner.wireType);
      }
      return [key, value];
    }
  }
}

/** One message through its field table; unknown field numbers are skipped. */
export function decodeMessage(buf: Buffer, desc: ProtoMessage): Json {
  const out: Json = {};
  for (const { no, wireType, r } of fields(buf)) {
    const f = desc[no];
    if (!f) {
      r.skip(wireType);
      continue;
    }
    if (f.type === 'map') {
      const [k, v] = decodeScalar(f, wireType, r) as [string, unknown];
      ((out[f.name] ??= {}) as Json)[k] = v;
      continue;
    }
    if (f.repeated && f.type !== 'message' && f.type !== 'string' && f.type !== 'bytes' && wireType === 2) {
      // a packed repeated number or bool
      const packed = new Reader(r.bytes());
      while (!packed.done) ((out[f.name] ??= []) as unknown[]).push(decodeScalar(f, 0, packed));
      continue;
    }
    const value = decodeScalar(f, wireType, r);
    if (f.repeated) {
      ((out[f.name] ??= []) as unknown[]).push(value);
      continue;
    }
    const empty =
      value === undefined || value === '' || (value === 0 && 'omitZero' in f && f.omitZero === true);
    if (empty) delete out[f.name];
    else out[f.name] = value;
  }
  return out;
}

/** A whole protobuf request body of a kind: envelope, then the kind's message with apiVersion and kind first. */
export function decodeProtobufObject(body: Buffer, desc: ProtoMessage): Json {
  try {
    if (body.length < magic.length || !body.subarray(0, magic.length).equals(magic)) {
      throw new DecodeError('the data does not start with the Kubernetes protobuf prefix');
    }
    let typeMeta: Json = {};
    let raw: Buffer = Buffer.alloc(0);
    for (const { no, wireType, r } of fields(body.subarray(magic.length))) {
      if (no === 1 && wireType === 2) {
        typeMeta = decodeMessage(r.bytes(), {
          1: { name: 'apiVersion', type: 'string' },
          2: { name: 'kind', type: 'string' },
        });
      } else if (no === 2 && wireType === 2) raw = r.bytes();
      else if (no === 3 && wireType === 2) {
        const encoding = r.bytes().toString('utf8');
        if (encoding !== '') throw new DecodeError(`content encoding ${encoding} is not supported`);
      } else r.skip(wireType);
    }
    return { ...typeMeta, ...decodeMessage(raw, desc) };
  } catch (e) {
    if (e instanceof DecodeError) throw badRequest(`couldn't decode protobuf body: ${e.message}`);
    throw e;
  }
}

/** metav1.DeleteOptions, which typed Go clients send as protobuf along with the kind's bodies. */
export const deleteOptionsProto: ProtoMessage = {
  1: { name: 'gracePeriodSeconds', type: 'int64' },
  2: {
    name: 'preconditions',
    type: 'message',
    message: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } },
  },
  3: { name: 'orphanDependents', type: 'bool' },
  4: { name: 'propagationPolicy', type: 'string' },
  5: { name: 'dryRun', type: 'string', repeated: true },
};
