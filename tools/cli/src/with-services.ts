import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { connectServices, openStore, selftrainHome, serviceAddressesFromEnv, startLocalStack, type DriverDeps, type ProgressDisplay, type ServiceAddresses } from '@selftrain/pipeline';
import { clientSecurityFromEnv } from '@selftrain/rpc';
import { waitForServices } from './wait-for-services';

/** SELFTRAIN_WAIT_SECONDS: how long a run waits for remote services to be SERVING (default 300). */
function waitSeconds(): number {
  const raw = process.env.SELFTRAIN_WAIT_SECONDS;
  const n = raw === undefined || raw === '' ? 300 : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InputError('SELFTRAIN_WAIT_SECONDS', `must be a number of seconds, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The services a command talks to: SELFTRAIN_* or the spec's services section when set (waiting until
 * they serve), else the four started here as processes, for as long as `work` runs.
 */
export async function withServices(
  fromSpec: ServiceAddresses, labelers: number, logger: Logger, display: ProgressDisplay,
  work: (deps: Omit<DriverDeps, 'requestId'>, bucket: string) => Promise<number>,
): Promise<number> {
  const remote = serviceAddressesFromEnv() ?? (fromSpec.teacher !== '' ? fromSpec : undefined);
  const security = clientSecurityFromEnv();
  const { store, config, close } = await openStore(logger);
  const stack = remote ? undefined : await startLocalStack({ home: selftrainHome(), labelers, logger, storage: config });
  const addresses = stack?.addresses ?? remote!;
  // SIGTERM or SIGINT to this process alone (`kill`, a job runner) takes the services it started down with
  // it, their running jobs checkpointed (they get SIGTERM), instead of leaving them running; a rerun resumes.
  let interrupted: number | undefined;
  const forget = stack && onTerminationSignal(async (signal, code) => {
    interrupted = code;
    display.note(`${signal}: stopping the local services (running jobs checkpoint first; run the same command again to resume)`);
    await stack.stop();
    await close();
  });
  try {
    if (remote) await waitForServices(remote, security, waitSeconds(), (m) => display.note(m));
    const clients = connectServices(addresses, security);
    try {
      display.note(`services: teacher ${addresses.teacher}, student ${addresses.student}, evaluator ${addresses.evaluator}, labelers ${addresses.labelers.join(' ')}`);
      // An s3:// init in another bucket of the same endpoint, with the same credentials.
      const openBucket = (bucket: string) => store.connectBucket(bucket);
      return await work({ store, clients, logger, display, openBucket }, config.bucket);
    } finally {
      clients.close();
    }
  } finally {
    forget?.();
    await stack?.stop();
    await close();
    // The work fails once its services stop: the signal's exit code, not the work's error, says what happened.
    if (interrupted !== undefined) process.exit(interrupted);
  }
}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs `cleanUp` on the first SIGINT or SIGTERM, then exits with the shell's code for the signal (130,
 * 143). Returns the function that removes the handlers (the work finished first).
 */
function onTerminationSignal(cleanUp: (signal: keyof typeof SIGNAL_EXIT_CODES, code: number) => Promise<void>): () => void {
  const handlers = Object.fromEntries(Object.entries(SIGNAL_EXIT_CODES).map(([signal, code]) => [signal, () => {
    forget();
    cleanUp(signal as keyof typeof SIGNAL_EXIT_CODES, code).finally(() => process.exit(code));
  }])) as Record<keyof typeof SIGNAL_EXIT_CODES, () => void>;
  const forget = () => { for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler); };
  for (const [signal, handler] of Object.entries(handlers)) process.once(signal, handler);
  return forget;
}
