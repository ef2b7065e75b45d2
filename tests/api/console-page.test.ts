import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

const FILES = [
  { url: '/console', type: 'text/html' },
  { url: '/console/console.css', type: 'text/css' },
  { url: '/console/console.js', type: 'text/javascript' },
  { url: '/console/ui.js', type: 'text/javascript' },
  { url: '/console/admin.js', type: 'text/javascript' },
  { url: '/console/operator.js', type: 'text/javascript' },
  { url: '/console/author.js', type: 'text/javascript' },
];

describe('the /console files', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  it('are served without a key, each under a CSP that allows only same-origin scripts, styles and fetches', async () => {
    for (const { url, type } of FILES) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(String(res.headers['content-type']), url).toContain(type);
      const csp = String(res.headers['content-security-policy']);
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives.get('script-src'), url).toEqual(["'self'"]);
      expect(directives.get('style-src'), url).toEqual(["'self'"]);
      expect(directives.get('connect-src'), url).toEqual(["'self'"]);
      expect(directives.get('object-src'), url).toEqual(["'none'"]);
      expect(csp, url).not.toContain('unsafe-inline');
      expect(csp, url).not.toContain('unsafe-eval');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });

  it('hold no inline script or style and never write server strings as HTML', async () => {
    const html = (await t.app.inject({ method: 'GET', url: '/console' })).body;
    expect(html).toContain('<input id="key" name="key" type="password"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const { url } of FILES.filter((f) => f.type === 'text/javascript')) {
      const js = (await t.app.inject({ method: 'GET', url })).body;
      expect(js, url).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
      expect(js, url).not.toMatch(/localStorage/);
    }
  });
});
