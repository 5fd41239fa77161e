import { Metrics } from './metrics.js';

export interface ServerMetrics {
  registry: Metrics;
  syncFinished(result: 'Succeeded' | 'Failed', seconds: number): void;
  webhookDelivery(labels: { provider: string; result: string }): void;
  queueDepth: () => number;
}

/** The figures Gouvernail exports at /metrics. */
export function createServerMetrics(queueDepth: () => number = () => 0): ServerMetrics {
  const registry = new Metrics();
  const syncs = registry.counter('gouvernail_syncs_total', 'Syncs of Applications by result.');
  const duration = registry.histogram('gouvernail_sync_duration_seconds', 'How long a sync took, fetch to healthy.', [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300]);
  const webhooks = registry.counter('gouvernail_webhook_deliveries_total', 'Webhook deliveries by provider and HTTP status.');
  return {
    registry,
    syncFinished: (result, seconds) => {
      syncs({ result });
      duration(seconds, { result });
    },
    webhookDelivery: (labels) => webhooks(labels),
    queueDepth,
  };
}
