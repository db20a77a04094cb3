// Prometheus metrics for the box. One registry per box instance (tests run several in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lobby_' });
  return {
    registry,
    requests: new Counter({
      name: 'lobby_requests_total',
      help: 'Device requests by kind and outcome (ok, or the error code)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'lobby_request_seconds',
      help: 'From a request reaching the broker to its reply, including the durable commit',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    events: new Counter({
      name: 'lobby_events_total',
      help: 'Committed events by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    waiting: new Gauge({ name: 'lobby_waiting_tickets', help: 'Tickets waiting now', registers: [registry] }),
    outbox: new Gauge({
      name: 'lobby_outbox_events',
      help: 'Events not yet uplinked to the cloud',
      registers: [registry],
    }),
    clients: new Gauge({ name: 'lobby_mqtt_clients', help: 'Connected MQTT clients', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
