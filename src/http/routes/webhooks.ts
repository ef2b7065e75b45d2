import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eventType } from '../../domain/events.js';
import { badRequest } from '../../errors.js';
import { WebhookTargetRefused } from '../../services/webhook-target.js';
import type { WebhooksService } from '../../services/webhooks.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const webhook = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(eventType),
    description: z.string().nullable(),
    disabled: z.boolean().describe('true once the endpoint answered 410 Gone: nothing more is sent to it'),
    disabledReason: z.string().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'Webhook' });

const delivery = z
  .object({
    id: z.uuid().describe('also the webhook-id header of every attempt'),
    eventId: z.number().int(),
    type: eventType,
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    nextAttemptAt: z.date().nullable(),
    createdAt: z.date(),
    log: z.array(z.object({ number: z.number().int(), at: z.date(), statusCode: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int() })),
  })
  .meta({ id: 'WebhookDelivery' });

const webhookParams = z.object({ id: z.uuid() });

export const webhookRoutes: FastifyPluginAsyncZod<{ webhooks: WebhooksService }> = async (app, { webhooks }) => {
  app.post(
    '/v1/webhooks',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['events'],
        summary: "Register a webhook for the caller's account (a key with the all scope)",
        description:
          'Deliveries follow Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature (`v1,` + base64 HMAC-SHA256 of ' +
          '`id.timestamp.body` keyed by the bytes of the secret after `whsec_`). The `secret` is shown here only. The URL must be https and ' +
          'must not resolve to a loopback, private, link-local or unique-local address unless WEBHOOK_ALLOWED_HOSTS lists it. See docs/events.md.',
        body: z.strictObject({
          url: z.string().max(2048),
          events: z.array(eventType).min(1).max(16),
          description: z.string().max(500).optional(),
        }),
        response: { 201: webhook.extend({ secret: z.string().describe('whsec_ + base64 of 32 random bytes; shown once') }), ...problemResponses },
      },
    },
    async (request, reply) => {
      try {
        return reply.status(201).send(await webhooks.create(requirePrincipal(request), request.body));
      } catch (error) {
        if (error instanceof WebhookTargetRefused) throw badRequest(`the webhook URL is refused: ${error.message}`, [{ path: 'body.url', message: error.message }]);
        throw error;
      }
    },
  );

  app.get(
    '/v1/webhooks',
    { config: { access: ANY_KEY }, schema: { tags: ['events'], summary: "The caller's account's webhooks (no secrets)", response: { 200: z.object({ webhooks: z.array(webhook) }), ...problemResponses } } },
    async (request) => ({ webhooks: await webhooks.list(requirePrincipal(request)) }),
  );

  app.delete(
    '/v1/webhooks/:id',
    { config: { access: ANY_KEY }, schema: { tags: ['events'], summary: 'Remove a webhook and its delivery log', params: webhookParams, response: { 204: z.null(), ...problemResponses } } },
    async (request, reply) => {
      await webhooks.remove(requirePrincipal(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['events'],
        summary: "A webhook's last 100 deliveries, newest first, each with its attempts (owner only; others get 404)",
        params: webhookParams,
        response: { 200: z.object({ deliveries: z.array(delivery) }), ...problemResponses },
      },
    },
    async (request) => ({ deliveries: await webhooks.deliveries(requirePrincipal(request), request.params.id) }),
  );

  app.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/retry',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['events'],
        summary: 'Deliver again now, with the same webhook-id (owner only)',
        params: webhookParams.extend({ deliveryId: z.uuid() }),
        response: { 202: z.object({ id: z.uuid(), status: z.literal('pending') }), ...problemResponses },
      },
    },
    async (request, reply) => {
      await webhooks.retry(requirePrincipal(request), request.params.id, request.params.deliveryId);
      return reply.status(202).send({ id: request.params.deliveryId, status: 'pending' as const });
    },
  );
};
