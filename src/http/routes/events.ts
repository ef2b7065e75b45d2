import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { envelope } from '../../domain/events.js';
import type { EventsService } from '../../services/events.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

export const eventStreamRoutes: FastifyPluginAsyncZod<{ events: EventsService; pollMs: number; heartbeatMs: number }> = async (app, { events, pollMs, heartbeatMs }) => {
  const open = new Set<() => void>();
  // A stream never ends by itself: closing the app ends every one so the server can stop.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get(
    '/v1/events',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['events'],
        summary: "The events the caller's account may see, as a server-sent event stream (Accept: text/event-stream)",
        description:
          'Each event is a frame `id: <event id>`, `event: <type>`, `data: {type, timestamp, data}`. Send `Last-Event-ID` to resume after ' +
          'that event (events are kept 7 days); without it the stream starts with new events. A comment line is sent every 15 s. See docs/events.md.',
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,15}$/, 'must be the id of an event, a number').optional() }),
        response: { 200: z.string().describe('text/event-stream'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const who = requirePrincipal(request);
      const given = request.headers['last-event-id'];
      // Without Last-Event-ID the stream starts after the latest event.
      const stream = await events.stream(who, given !== undefined ? Number(given) : undefined);
      reply.hijack();
      const raw: ServerResponse = reply.raw;
      // connection: close, so the socket goes with the stream instead of idling in keep-alive.
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'close', 'x-request-id': request.id });
      raw.write(`retry: 1000\n: stream of account events after ${stream.start}\n\n`);

      let ended = false;
      let poller: NodeJS.Timeout | undefined;
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(poller);
        clearInterval(heartbeat);
        open.delete(end);
        raw.end();
        raw.socket?.destroy();
      };
      open.add(end);
      raw.on('close', end);

      const poll = async () => {
        try {
          // A slow reader gets nothing more until its buffer drains.
          if (!raw.writableNeedDrain) {
            for (const row of await stream.next()) {
              if (ended) break;
              raw.write(`id: ${row.id}\nevent: ${row.type}\ndata: ${JSON.stringify(envelope(row.type, row.createdAt, row.data))}\n\n`);
            }
          }
        } catch (error) {
          request.log.warn({ err: error }, 'event stream read failed; retrying');
        }
        if (!ended) poller = setTimeout(() => void poll(), pollMs); // poll catches its own failures
      };
      await poll();
    },
  );
};
