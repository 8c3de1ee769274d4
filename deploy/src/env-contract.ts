import * as serviceRuntime from '@selftrain/service-runtime';

/** One environment variable a process reads at start. */
export interface EnvVar { name: string; required: boolean; description: string }

/** What every service reads: the runtime's own list, so manifests and code cannot drift apart. */
export const SERVICE_ENV_VARS: readonly EnvVar[] = serviceRuntime.SERVICE_ENV_VARS;

/**
 * What the driver (`selftrain run` in the pipeline Job) reads. "required" means required for a run
 * against remote services: without the S3 and SELFTRAIN_* variables the CLI would start an embedded
 * S3 server and local service processes inside the Job.
 */
export const DRIVER_ENV_VARS: readonly EnvVar[] = [
  { name: 'S3_ENDPOINT', required: true, description: 'S3 endpoint URL (unset: embedded S3 server)' },
  { name: 'S3_ACCESS_KEY', required: true, description: 'S3 access key' },
  { name: 'S3_SECRET_KEY', required: true, description: 'S3 secret key' },
  { name: 'S3_BUCKET', required: false, description: 'bucket (default selftrain)' },
  { name: 'S3_REGION', required: false, description: 'region (default us-east-1)' },
  { name: 'S3_PREFIX', required: false, description: "key prefix (default '')" },
  { name: 'S3_RETRY_SECONDS', required: false, description: 'how long transient S3 failures are retried (default 30)' },
  { name: 'SELFTRAIN_TEACHER', required: true, description: 'teacher host:port' },
  { name: 'SELFTRAIN_STUDENT', required: true, description: 'student host:port' },
  { name: 'SELFTRAIN_EVALUATOR', required: true, description: 'evaluator host:port' },
  { name: 'SELFTRAIN_LABELERS', required: true, description: 'labeler host:port list; a name may resolve to many replicas' },
  { name: 'GRPC_TLS', required: false, description: 'true: TLS with the system roots when no CA file is given' },
  { name: 'GRPC_TLS_CA_FILE', required: false, description: "CA for the services' certificates; turns TLS on" },
  { name: 'GRPC_TLS_CERT_FILE', required: false, description: 'client certificate (mutual TLS)' },
  { name: 'GRPC_TLS_KEY_FILE', required: false, description: 'client private key' },
  { name: 'GRPC_TLS_SERVER_NAME', required: false, description: 'name checked in the server certificate' },
  { name: 'GRPC_AUTH_TOKEN_FILE', required: false, description: 'bearer token file' },
  { name: 'GRPC_AUTH_TOKEN', required: false, description: 'bearer token' },
  { name: 'SELFTRAIN_WAIT_SECONDS', required: false, description: 'wait this long for every service to be SERVING before the run (default 300)' },
  { name: 'LOG_LEVEL', required: false, description: 'debug | info | warn | error (default warn)' },
  { name: 'SELFTRAIN_HOME', required: false, description: 'local state directory (default ./.selftrain)' },
];

/** Read by the processes but meaningless in a pod: must not appear in manifests. */
export const LOCAL_ONLY_ENV_VARS: readonly string[] = ['PORT_FILE'];
