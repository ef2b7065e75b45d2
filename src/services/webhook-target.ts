import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may send: never to loopback, private, link-local or unique-local addresses
 * (nor the unspecified address or shared carrier space), decided on the resolved address at
 * registration and again at every delivery's connect (a name that later resolves inward is
 * refused), unless WEBHOOK_ALLOWED_HOSTS lists the host by name or the address by CIDR.
 * Plain http only for listed hosts.
 */

const INWARD = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  INWARD.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) INWARD.addSubnet(net, prefix, 'ipv6');

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export class WebhookTargetRefused extends Error {}

export interface WebhookTargets {
  /** Checks a URL at registration; throws WebhookTargetRefused saying why. */
  check(url: string): Promise<void>;
  /** A lookup for http(s).request that refuses inward addresses at connect time. */
  lookupFor(hostname: string): LookupFunction;
}

export function webhookTargets(allowedHosts: readonly string[]): WebhookTargets {
  const names = new Set<string>();
  const allowed = new BlockList();
  for (const raw of allowedHosts) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const [address, prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) names.add(entry);
    else if (prefix === undefined) allowed.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    else allowed.addSubnet(address, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  }

  const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');
  const isInward = (address: string): boolean => {
    const mapped = MAPPED_V4.exec(address);
    if (mapped) return isInward(mapped[1]);
    return INWARD.check(address, familyOf(address));
  };
  const isListedAddress = (address: string): boolean => {
    const mapped = MAPPED_V4.exec(address);
    return allowed.check(address, familyOf(address)) || (mapped !== null && allowed.check(mapped[1], 'ipv4'));
  };
  const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase();

  /** Every address of the host, refused unless each is outward or listed. */
  async function addressesOf(hostname: string): Promise<{ address: string; family: number }[]> {
    const host = bare(hostname);
    const found = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) throw new WebhookTargetRefused(`${host} does not resolve`);
    if (!names.has(host)) {
      const inward = found.find((a) => isInward(a.address) && !isListedAddress(a.address));
      if (inward) {
        throw new WebhookTargetRefused(
          `${host} resolves to ${inward.address}, a loopback, private, link-local or unique-local address; webhooks may not target it unless WEBHOOK_ALLOWED_HOSTS lists it`,
        );
      }
    }
    return found;
  }

  const isListed = (host: string, addresses: readonly { address: string }[]) => names.has(host) || addresses.every((a) => isListedAddress(a.address));

  return {
    async check(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new WebhookTargetRefused(`${JSON.stringify(url)} is not an absolute URL`);
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new WebhookTargetRefused(`the URL's scheme must be https, not ${parsed.protocol.replace(':', '')}`);
      if (parsed.username || parsed.password) throw new WebhookTargetRefused('the URL may not carry credentials; authenticate deliveries by their signature');
      let addresses: { address: string }[];
      try {
        addresses = await addressesOf(parsed.hostname);
      } catch (error) {
        if (error instanceof WebhookTargetRefused) throw error;
        throw new WebhookTargetRefused(`${bare(parsed.hostname)} does not resolve`);
      }
      if (parsed.protocol === 'http:' && !isListed(bare(parsed.hostname), addresses)) {
        throw new WebhookTargetRefused('the URL must use https; plain http is allowed only for hosts WEBHOOK_ALLOWED_HOSTS lists');
      }
    },

    lookupFor(hostname) {
      return (_host, options, callback) => {
        addressesOf(hostname).then(
          (found) => {
            if (options.all) callback(null, found.map((a) => ({ address: a.address, family: a.family })));
            else callback(null, found[0].address, found[0].family);
          },
          (error: Error) => callback(Object.assign(error, { code: 'EREFUSED' }), '', 0),
        );
      };
    },
  };
}
