import { describe, expect, it } from 'vitest';
import { WebhookTargetRefused, webhookTargets } from '../../src/services/webhook-target.js';

/** Address literals only: nothing here resolves a name or sends a request. */
describe('where webhooks may send', () => {
  const refused = async (allowed: string[], url: string) => {
    try {
      await webhookTargets(allowed).check(url);
      return null;
    } catch (error) {
      if (error instanceof WebhookTargetRefused) return error.message;
      throw error;
    }
  };

  it('refuses loopback, private, link-local, unique-local, unspecified and mapped inward addresses', async () => {
    for (const url of [
      'https://127.0.0.1/h', 'https://10.9.8.7/h', 'https://172.31.255.255/h', 'https://192.168.1.1/h', 'https://169.254.169.254/h',
      'https://100.64.0.1/h', 'https://0.0.0.0/h', 'https://[::1]/h', 'https://[::]/h', 'https://[fc00::1]/h', 'https://[fdff::1]/h',
      'https://[fe80::1]/h', 'https://[::ffff:127.0.0.1]/h', 'https://[::ffff:192.168.0.1]/h',
    ]) {
      expect(await refused([], url), url).toMatch(/loopback, private, link-local or unique-local/);
    }
  });

  it('lets public addresses through over https only', async () => {
    expect(await refused([], 'https://93.184.216.34/h')).toBeNull();
    expect(await refused([], 'https://[2606:2800:220:1:248:1893:25c8:1946]/h')).toBeNull();
    expect(await refused([], 'http://93.184.216.34/h')).toMatch(/must use https/);
    expect(await refused([], 'ftp://93.184.216.34/h')).toMatch(/scheme/);
    expect(await refused([], 'https://user:pw@93.184.216.34/h')).toMatch(/credentials/);
    expect(await refused([], '/relative')).toMatch(/absolute URL/);
  });

  it('lets WEBHOOK_ALLOWED_HOSTS list addresses and CIDRs, and allows plain http only for those', async () => {
    expect(await refused(['10.0.0.0/8'], 'http://10.1.2.3:8080/h')).toBeNull();
    expect(await refused(['10.0.0.0/8'], 'https://192.168.1.1/h')).not.toBeNull();
    expect(await refused(['127.0.0.1'], 'http://127.0.0.1:9/h')).toBeNull();
    expect(await refused(['127.0.0.1'], 'http://127.0.0.2:9/h')).not.toBeNull();
    expect(await refused(['fd00::/8'], 'http://[fd12::1]/h')).toBeNull();
    expect(await refused(['127.0.0.1'], 'http://[::ffff:127.0.0.1]/h')).toBeNull();
  });
});
