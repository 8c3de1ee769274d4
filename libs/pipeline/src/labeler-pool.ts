import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { status } from '@grpc/grpc-js';
import { InputError, NotFoundError, OverloadedError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { RpcError } from '@selftrain/rpc';

export interface Replica {
  /** host:port dialled (an IP when the name resolved to several). */
  address: string;
  /** The name the replica was found under: what its TLS certificate names. */
  host: string;
}

type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true });

/**
 * Expands "host:port" entries into one replica per address: a Kubernetes headless Service name
 * resolves to every ready pod, so `labeler:50052` becomes all the labelers. Duplicates are dropped.
 */
export async function resolveReplicas(entries: string[], lookup: Lookup = defaultLookup): Promise<Replica[]> {
  const seen = new Set<string>();
  const replicas: Replica[] = [];
  for (const entry of entries) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry.trim());
    if (!m) throw new InputError('services.labelers', `${JSON.stringify(entry)} is not host:port`);
    const host = m[1].replace(/^\[|\]$/g, '');
    const port = m[2];
    const ips = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host).catch((err: NodeJS.ErrnoException) => {
      throw new NotFoundError('labeler', `${host} (${err.code ?? err.message})`);
    });
    for (const ip of ips) {
      const address = ip.family === 6 ? `[${ip.address}]:${port}` : `${ip.address}:${port}`;
      if (seen.has(address)) continue;
      seen.add(address);
      replicas.push({ address, host });
    }
  }
  if (replicas.length === 0) throw new InputError('services.labelers', 'no labeler address resolved');
  return replicas;
}

/** Errors worth another replica: the replica is gone, busy, or slow. Anything else is the request's fault. */
export function isTransient(err: unknown): boolean {
  if (err instanceof OverloadedError) return true;
  if (err instanceof RpcError) return [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.ABORTED, status.INTERNAL, status.UNKNOWN].includes(err.code);
  return false;
}

export interface PoolOptions {
  /** Calls in flight per replica at most. */
  perReplica: number;
  /** Attempts per item before the whole run fails. */
  maxAttempts: number;
  logger: Logger;
  /** A replica that failed rests this long before it gets work again (doubling per failure, up to 30 s). */
  cooldownMs?: number;
  onDone?(index: number): void;
}

/**
 * Spreads items over replicas with a bounded number in flight on each. An item whose replica fails
 * transiently goes back to the queue and is retried on another replica (the same one only when no other
 * is left); a failing replica rests before it gets more work. Each item's result is kept exactly once.
 */
export async function runOnReplicas<R extends { address: string }, T, Out>(
  replicas: R[], items: T[], work: (replica: R, item: T, index: number) => Promise<Out>, opts: PoolOptions,
): Promise<Out[]> {
  const results: Out[] = new Array(items.length);
  const queue: { index: number; attempts: number; failedOn: Set<string> }[] = items.map((_, index) => ({ index, attempts: 0, failedOn: new Set() }));
  const restUntil = new Map<string, number>();
  const failures = new Map<string, number>();
  let remaining = items.length;
  let fatal: unknown;
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => { const w = wake; changed = new Promise<void>((r) => (wake = r)); w(); };

  const take = (replica: R) => {
    const alone = replicas.length === 1;
    const i = queue.findIndex((q) => alone || !q.failedOn.has(replica.address) || q.failedOn.size >= replicas.length);
    return i < 0 ? undefined : queue.splice(i, 1)[0];
  };

  const slot = async (replica: R): Promise<void> => {
    while (remaining > 0 && fatal === undefined) {
      const rest = (restUntil.get(replica.address) ?? 0) - Date.now();
      const job = rest > 0 ? undefined : take(replica);
      if (!job) {
        await Promise.race([changed, new Promise((r) => setTimeout(r, Math.max(20, Math.min(rest, 1000))))]);
        continue;
      }
      job.attempts += 1;
      try {
        results[job.index] = await work(replica, items[job.index], job.index);
        failures.set(replica.address, 0);
        remaining -= 1;
        opts.onDone?.(job.index);
      } catch (err) {
        if (!isTransient(err) || job.attempts >= opts.maxAttempts) {
          fatal ??= err;
        } else {
          const n = (failures.get(replica.address) ?? 0) + 1;
          failures.set(replica.address, n);
          restUntil.set(replica.address, Date.now() + Math.min(30_000, (opts.cooldownMs ?? 500) * 2 ** (n - 1)));
          job.failedOn.add(replica.address);
          queue.unshift(job);
          opts.logger.warn({ replica: replica.address, item: job.index, attempt: job.attempts, error: (err as Error).message }, 'replica failed; the item goes to another');
        }
      }
      notify();
    }
  };

  await Promise.all(replicas.flatMap((r) => Array.from({ length: Math.max(1, opts.perReplica) }, () => slot(r))));
  if (fatal !== undefined) throw fatal;
  return results;
}
