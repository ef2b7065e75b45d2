import { serializerCompiler } from 'fastify-type-provider-zod';

/*
 * Replies are checked against their zod schema and serialised from what it returns. A zod record
 * drops a `__proto__` key without a word, yet names from data (targets, tags, attributes,
 * sectors) may be exactly that: such keys cross the schema under an escaped name that no name
 * can have (it starts with NUL) and are written back as "__proto__" in the JSON text. Only a key
 * can be followed by a colon in JSON, so values are never touched.
 */

const PROTO = '__proto__';
const ESCAPED = '\u0000__proto__';
const ESCAPED_KEY_TEXT = `${JSON.stringify(ESCAPED)}:`;
const PROTO_KEY_TEXT = `${JSON.stringify(PROTO)}:`;

function isRecordLike(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (!isRecordLike(value)) return false;
  if (Object.hasOwn(value, PROTO)) return true;
  for (const key of Object.keys(value)) if (hasProtoKey(value[key])) return true;
  return false;
}

function escapeProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(escapeProtoKeys);
  if (!isRecordLike(value)) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) out[key === PROTO ? ESCAPED : key] = escapeProtoKeys(value[key]);
  return out;
}

/** The zod serializer, with `__proto__` keys kept as ordinary keys. */
export const nameSafeSerializerCompiler: typeof serializerCompiler = (route) => {
  const serialize = serializerCompiler(route);
  return (data: unknown) => {
    if (!hasProtoKey(data)) return serialize(data);
    return serialize(escapeProtoKeys(data)).replaceAll(ESCAPED_KEY_TEXT, PROTO_KEY_TEXT);
  };
};
