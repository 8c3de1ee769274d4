import pino from 'pino';

/** The only logging surface libs depend on. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

// Anything that looks like a credential is redacted wherever it appears in a log object.
const REDACT = [
  'secretKey', 'accessKey', 'token', 'password', 'authorization',
  '*.secretKey', '*.accessKey', '*.token', '*.password', '*.authorization',
  'config.storage.secretKey', 'config.storage.accessKey',
];

/**
 * `destination` is a file descriptor: 1 (stdout) for services, whose stdout is their log; 2 (stderr) for a
 * command whose stdout is its answer (`selftrain status --json`), so the two never mix.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', destination: 1 | 2 = 1): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return (destination === 2 ? pino(options, pino.destination({ fd: 2, sync: true })) : pino(options)) as unknown as Logger;
}

/** For tests and for code paths that must stay quiet. */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};
