import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.js';
import * as dal from '../db/webhooks.js';
import { WEBHOOK_SECRET_PREFIX, type EventType } from '../domain/events.js';
import { notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { WebhookTargets } from './webhook-target.js';

const DELIVERY_PAGE = 100;

function presentWebhook(w: dal.WebhookRow) {
  return { id: w.id, url: w.url, events: w.events as EventType[], description: w.description, disabled: w.disabledAt !== null, disabledReason: w.disabledReason, createdAt: w.createdAt };
}

/** Registering webhooks and reading or retrying their deliveries, each for the account that owns them. */
export function webhooksService(deps: { db: Database; targets: Pick<WebhookTargets, 'check'> }) {
  const { db, targets } = deps;

  async function owned(who: Principal, id: string) {
    const webhook = await dal.findWebhook(db, id);
    // Another account's webhook is indistinguishable from a missing one.
    if (!webhook || webhook.accountId !== who.accountId) throw notFound(`webhook ${id} does not exist`);
    return webhook;
  }

  return {
    async create(who: Principal, input: { url: string; events: EventType[]; description?: string }) {
      // A refused URL is a WebhookTargetRefused, which the route answers as a 400 naming the field.
      await targets.check(input.url);
      const secret = WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
      const events = [...new Set(input.events)];
      const row = await dal.insertWebhook(db, { accountId: who.accountId, url: input.url, events, description: input.description ?? null, secret });
      return { ...presentWebhook(row), secret };
    },

    async list(who: Principal) {
      return (await dal.webhooksOf(db, who.accountId)).map(presentWebhook);
    },

    async remove(who: Principal, id: string) {
      if (!(await dal.deleteWebhook(db, who.accountId, id))) throw notFound(`webhook ${id} does not exist`);
    },

    async deliveries(who: Principal, id: string) {
      await owned(who, id);
      const deliveries = await dal.deliveriesOf(db, id, DELIVERY_PAGE);
      const attempts = await dal.attemptsOf(db, deliveries.map((d) => d.id));
      return deliveries.map((d) => ({ ...d, type: d.type as EventType, log: attempts.get(d.id) ?? [] }));
    },

    async retry(who: Principal, id: string, deliveryId: string) {
      await owned(who, id);
      if (!(await dal.requeueDelivery(db, id, deliveryId))) throw notFound(`webhook ${id} has no delivery ${deliveryId}`);
    },
  };
}

export type WebhooksService = ReturnType<typeof webhooksService>;
