import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

// Clients that send the whole body before reading the reply must still read the 413.
const ADMIN = 'sw_e2e_oversized_admin_key_0123456789';
const MB = 1024 * 1024;
let database: TestDatabase;
let server: ServerProcess;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await spawnServer({ DATABASE_URL: database.url, BOOTSTRAP_ADMIN_KEY: ADMIN });
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

function expectTooLarge(status: number, contentType: string | undefined, body: string) {
  expect(status, body).toBe(413);
  expect(contentType).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(body)).toMatchObject({ status: 413, title: 'Payload Too Large', detail: expect.stringMatching(/larger than this route accepts/) });
}

/** Runs a Python snippet that posts `mb` MB of JSON-ish bytes and prints status, type and body as JSON. */
function python(script: string, mb: number, path = '/v1/eras', key = ADMIN) {
  const child = spawnSync('python3', ['-c', script, `${server.url}${path}`, String(mb * MB), key], { encoding: 'utf8', timeout: 120_000 });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout) as { status: number; type: string; body: string };
}

const URLLIB = `
import json, sys, urllib.request, urllib.error
url, size, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = urllib.request.Request(url, data=b'x' * size, method='POST', headers={'content-type': 'application/json', 'authorization': 'Bearer ' + key})
try:
    r = urllib.request.urlopen(req)
    print(json.dumps({'status': r.status, 'type': r.headers.get('content-type'), 'body': r.read().decode()}))
except urllib.error.HTTPError as e:
    print(json.dumps({'status': e.code, 'type': e.headers.get('content-type'), 'body': e.read().decode()}))
`;

const REQUESTS = `
import json, sys, requests
url, size, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = requests.post(url, data=b'x' * size, headers={'content-type': 'application/json', 'authorization': 'Bearer ' + key})
print(json.dumps({'status': r.status_code, 'type': r.headers.get('content-type'), 'body': r.text}))
`;

const has = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const hasPython = has('python3', ['--version']);
const hasRequests = hasPython && has('python3', ['-c', 'import requests']);
const hasCurl = has('curl', ['--version']);

describe('a body over the limit', () => {
  it('gets the 413 problem over a raw socket that writes the whole body before it reads', async () => {
    const size = 50 * MB;
    const url = new URL(server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('utf8')));
      socket.on('error', reject);
      socket.on('end', () => resolve(received));
      socket.on('connect', () => {
        socket.write(`POST /v1/eras HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(MB, 'x');
        for (let sent = 0; sent < size; sent += MB) socket.write(chunk);
      });
    });
    const [head, body] = reply.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).toContain('connection: close');
    expectTooLarge(413, head.match(/content-type: ([^\r]+)/i)?.[1], body);
  });

  it('gets the 413 problem in Node fetch at 64 MB', async () => {
    const res = await fetch(`${server.url}/v1/eras`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: new Uint8Array(64 * MB),
    });
    expectTooLarge(res.status, res.headers.get('content-type') ?? undefined, await res.text());
  });

  it.runIf(hasPython).each([5, 50, 64])('gets the 413 problem in Python urllib at %i MB', (mb) => {
    const { status, type, body } = python(URLLIB, mb);
    expectTooLarge(status, type, body);
  });

  // Refusals decided before the body is read (key, role) reach a client that sends first, too.
  it.runIf(hasPython).each([
    [401, 'an unknown key', '/v1/eras', 'sw_not_a_key_of_this_service_0123456789'],
    [403, 'an admin key on an author route', '/v1/models/00000000-0000-4000-8000-000000000000/submissions?era=1', ADMIN],
  ])('gets the %i problem for %s in Python urllib with a 50 MB body', (expected, _what, path, key) => {
    const { status, type, body } = python(URLLIB, 50, path, key);
    expect(status, body).toBe(expected);
    expect(type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(body)).toMatchObject({ status: expected });
  });

  it.runIf(hasRequests).each([5, 50])('gets the 413 problem in Python requests at %i MB', (mb) => {
    const { status, type, body } = python(REQUESTS, mb);
    expectTooLarge(status, type, body);
  });

  it.runIf(hasCurl)('gets the 413 problem in curl at 64 MB, body from stdin', () => {
    const child = spawnSync(
      'curl',
      ['-sS', '-w', '\n%{http_code} %{content_type}', '-H', `authorization: Bearer ${ADMIN}`, '-H', 'content-type: application/json', '--data-binary', '@-', `${server.url}/v1/eras`],
      { input: Buffer.alloc(64 * MB, 'x'), encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * MB },
    );
    expect(child.stderr).toBe('');
    const [body, tail] = child.stdout.split('\n');
    const [status, type] = tail.split(' ');
    expectTooLarge(Number(status), type, body);
  });

  it('answers a form body (curl -d) and an XML body with 415 naming the accepted types', async () => {
    const child = spawnSync('curl', ['-sS', '-H', `authorization: Bearer ${ADMIN}`, '-d', 'id,sector', `${server.url}/v1/eras`], { encoding: 'utf8' });
    if (hasCurl) {
      const problem = JSON.parse(child.stdout) as { status: number; detail: string };
      expect(problem.status).toBe(415);
      expect(problem.detail).toContain('application/json or text/csv');
      expect(problem.detail).toContain("-H 'content-type: text/csv'");
    }
    const res = await fetch(`${server.url}/v1/eras`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/xml' }, body: '<era/>' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/"application\/xml" is not accepted; send Content-Type: application\/json or text\/csv/);
  });
});
