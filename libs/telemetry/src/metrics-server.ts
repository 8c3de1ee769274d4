import { createServer, type Server } from 'node:http';
import type { Logger } from '@selftrain/logger';
import type { ServiceMetrics } from './service-metrics';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** GET /metrics in the Prometheus text format, on its own port so scraping needs neither TLS nor a token. */
export function startMetricsServer(metrics: ServiceMetrics, host: string, port: number, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => {
        logger.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => {
      const bound = (server.address() as { port: number }).port;
      logger.info({ port: bound }, 'metrics listening');
      resolve({ port: bound, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}
