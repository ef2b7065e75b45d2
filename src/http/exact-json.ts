import type { FastifyInstance } from 'fastify';
import { exactJsonNumber, JSON_NUMBER, MAX_JSON_NUMBER_DIGITS } from '../domain/decimal.js';
import { badRequest } from '../errors.js';
import { duplicateKeysMessage, scanJsonKeys } from '../ingest/json-text.js';

/**
 * Refuses a JSON text that repeats a key within one object: a parser keeps only the last, so the
 * sender's data would silently lose the others (names are data: targets, attributes, tags).
 */
export function refuseDuplicateKeys(text: string): void {
  const scan = scanJsonKeys(text);
  if (scan.protoKeys.length > 0) {
    // The JSON parser refuses these too, but as "not valid JSON": say what is wrong and what to do.
    const paths = scan.protoKeys.map((path) => JSON.stringify(path)).join(', ');
    throw badRequest(
      `The JSON body has a "__proto__" key (${paths}), which this route cannot take in JSON; rename it, or send a universe whose attribute is named __proto__ as CSV (target uploads take it in JSON too)`,
      scan.protoKeys.map((path) => ({ path: `body.${path}`, message: 'a "__proto__" key is refused in this JSON body' })),
    );
  }
  if (scan.duplicateCount === 0) return;
  const message = duplicateKeysMessage(scan);
  throw badRequest(
    message[0].toUpperCase() + message.slice(1),
    scan.duplicates.map((path) => ({ path: `body.${path}`, message: 'appears more than once in its object; send each key once' })),
  );
}

/** JSON bodies whose objects repeat a key are refused (400) before they are parsed. */
export function strictJsonKeys(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      refuseDuplicateKeys(body as string);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    void parse(request, body as string, done); // the default parser answers through done
  });
}

/**
 * Rewrites every number of a JSON text as a string holding the exact decimal written, so money
 * never passes through a float: `{"amount": 12.50}` → `{"amount": "12.5"}`, `1e2` → `"100"`.
 * A number with more than 15 significant digits cannot have been meant as a float64 either, so
 * it is refused, naming its field and asking for a decimal string. Text that is not valid JSON is
 * returned unchanged for the JSON parser to refuse.
 */
export function numbersAsDecimalStrings(text: string): string {
  let out = '';
  let copied = 0;
  let lastString = '';
  let key = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return text;
      try {
        lastString = JSON.parse(text.slice(i, j + 1)) as string;
      } catch {
        return text;
      }
      i = j + 1;
    } else if (c === ':') {
      key = lastString;
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      JSON_NUMBER.lastIndex = i;
      const match = JSON_NUMBER.exec(text);
      const end = match ? i + match[0].length : i;
      if (!match || /[0-9.eE+\-a-zA-Z]/.test(text[end] ?? '')) return text;
      const { exact, significantDigits, decimal } = exactJsonNumber(match[0]);
      const field = key ? `body.${key}` : 'body';
      if (!exact) {
        throw badRequest(`${field} is a JSON number with ${significantDigits} significant digits; send it as a decimal string`, [
          {
            path: field,
            message: `a JSON number keeps at most ${MAX_JSON_NUMBER_DIGITS} significant digits exactly; send ${match[0]} as a string, e.g. "${decimal}"`,
          },
        ]);
      }
      out += text.slice(copied, i) + JSON.stringify(decimal);
      copied = end;
      i = end;
    } else {
      i++;
    }
  }
  return out + text.slice(copied);
}

/** In this plugin scope, JSON bodies are parsed with their numbers as exact decimal strings (numbersAsDecimalStrings); repeated keys are refused. */
export function exactJsonNumbers(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    let text: string;
    try {
      refuseDuplicateKeys(body as string);
      text = numbersAsDecimalStrings(body as string);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    void parse(request, text, done); // the default parser answers through done
  });
}
