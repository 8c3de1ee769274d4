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

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }) as unknown as Logger;
}

/** For tests and for code paths that must stay quiet. */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};
