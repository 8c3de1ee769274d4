// A bucket that is slow where the test says: an HTTP proxy in front of the S3 endpoint that holds every
// request whose path contains a marker until released, and passes the rest straight through. Calls that
// read such objects stay in flight as long as the test needs, with no timing guesswork.
import * as http from 'node:http';
import type { StorageConfig } from '@selftrain/storage';

export interface HeldBucketProxy {
  /** The storage config for services: the proxy's port, the endpoint's bucket and credentials. */
  config: StorageConfig;
  /** Requests being held now. */
  held(): number;
  /** Lets every held request through, and every later one too. */
  release(): void;
  /** Holds the marked requests again. */
  hold(): void;
  close(): Promise<void>;
}

export async function startHeldBucketProxy(target: StorageConfig, marker: string): Promise<HeldBucketProxy> {
  let holding = true;
  const waiting: (() => void)[] = [];
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const upstream = http.request({ host: target.endPoint, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server = http.createServer((req, res) => {
    if (holding && req.url?.includes(marker)) {
      // Paused, so the body (none for GET/HEAD) waits too.
      req.pause();
      waiting.push(() => forward(req, res));
    } else forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    config: { ...target, endPoint: '127.0.0.1', port },
    held: () => waiting.length,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
