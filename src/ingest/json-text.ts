/**
 * What a JSON text says about its object keys, read without building any value: JSON.parse keeps
 * the last of repeated keys silently, and builds every value before a caller can count them.
 */
export interface JsonKeyScan {
  /** Paths of repeated keys (`targets.ender_20`, `rows[3].attributes.x`), the first 20. */
  duplicates: string[];
  duplicateCount: number;
  /** Paths of `__proto__` keys, the first 20: a parser that guards against prototype pollution refuses them. */
  protoKeys: string[];
  /** Set when the object at `limit.path` has more than `limit.max` keys: the scan stopped there. */
  overLimit?: { path: string; max: number };
}

const LIST_LIMIT = 20;

interface ObjectFrame {
  kind: 'object';
  path: string;
  keys: Set<string>;
  key: string;
  expectKey: boolean;
}

interface ArrayFrame {
  kind: 'array';
  path: string;
  index: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/**
 * One pass over the text: notes every object key that repeats within its object and, with
 * `limit`, stops as soon as the object at `limit.path` (a dotted path of keys from the root)
 * holds more than `limit.max` keys. Text that is not JSON is scanned as far as it goes; the
 * parser that follows refuses it.
 */
export function scanJsonKeys(text: string, limit?: { path: string; max: number }): JsonKeyScan {
  const stack: (ObjectFrame | ArrayFrame)[] = [];
  const duplicates: string[] = [];
  const protoKeys: string[] = [];
  let duplicateCount = 0;
  const valuePath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return '';
    return top.kind === 'object' ? child(top.path, top.key) : `${top.path}[${top.index}]`;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== QUOTE) {
        if (text.charCodeAt(j) === BACKSLASH) {
          escaped = true;
          j += 1;
        }
        j += 1;
      }
      if (j >= text.length) break;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        } catch {
          break;
        }
        top.key = key;
        top.expectKey = false;
        if (key === '__proto__' && protoKeys.length < LIST_LIMIT) protoKeys.push(child(top.path, key));
        if (top.keys.has(key)) {
          duplicateCount += 1;
          if (duplicates.length < LIST_LIMIT) duplicates.push(child(top.path, key));
        } else {
          top.keys.add(key);
          if (limit !== undefined && top.path === limit.path && top.keys.size > limit.max) {
            return { duplicates, duplicateCount, protoKeys, overLimit: limit };
          }
        }
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', path: valuePath(), keys: new Set(), key: '', expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', path: valuePath(), index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index += 1;
    }
  }
  return { duplicates, duplicateCount, protoKeys };
}

/** The message for repeated keys, naming them. */
export function duplicateKeysMessage(scan: JsonKeyScan): string {
  const listed = scan.duplicates.map((path) => JSON.stringify(path)).join(', ');
  const more = scan.duplicateCount > scan.duplicates.length ? ` and ${scan.duplicateCount - scan.duplicates.length} more` : '';
  const noun = scan.duplicateCount === 1 ? 'a key that appears' : `${scan.duplicateCount} keys that appear`;
  return `the JSON body has ${noun} more than once in the same object: ${listed}${more}; send each key once (a JSON parser would keep only the last)`;
}
