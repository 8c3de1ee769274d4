import { InputError } from '@selftrain/errors';
import { EvaluatorClient, LabelerClient, StudentClient, TeacherClient } from '@selftrain/proto';
import { createClient, securityForHost, type ClientSecurity } from '@selftrain/rpc';
import type { Replica } from './labeler-pool';

export interface ServiceAddresses { teacher: string; student: string; evaluator: string; labelers: string[] }

export interface ServiceClients {
  teacher: InstanceType<typeof TeacherClient>;
  student: InstanceType<typeof StudentClient>;
  evaluator: InstanceType<typeof EvaluatorClient>;
  /** One client per configured entry (a name behind several replicas is one client here). */
  labelers: InstanceType<typeof LabelerClient>[];
  /** The labeler entries as configured; the driver resolves them to every replica at each labeling stage. */
  labelerEntries: string[];
  /** A client for one resolved labeler replica, with the TLS name of the host it was found under. */
  labelerFor(replica: Replica): InstanceType<typeof LabelerClient>;
  close(): void;
}

export function connectServices(addresses: ServiceAddresses, security: ClientSecurity = {}): ServiceClients {
  const teacher = createClient(TeacherClient, addresses.teacher, security);
  const student = createClient(StudentClient, addresses.student, security);
  const evaluator = createClient(EvaluatorClient, addresses.evaluator, security);
  const labelers = addresses.labelers.map((a) => createClient(LabelerClient, a, security));
  return {
    teacher, student, evaluator, labelers,
    labelerEntries: addresses.labelers,
    labelerFor: (replica) => createClient(LabelerClient, replica.address, securityForHost(security, replica.host)),
    close: () => [teacher, student, evaluator, ...labelers].forEach((c) => c.close()),
  };
}

const ADDRESS_VARS = { teacher: 'SELFTRAIN_TEACHER', student: 'SELFTRAIN_STUDENT', evaluator: 'SELFTRAIN_EVALUATOR', labelers: 'SELFTRAIN_LABELERS' } as const;

/**
 * Where the services run, from the environment (a Kubernetes Job sets these): all four or none.
 * SELFTRAIN_LABELERS is a comma-separated host:port list; a name may stand for many replicas.
 */
export function serviceAddressesFromEnv(env: Record<string, string | undefined> = process.env): ServiceAddresses | undefined {
  const set = Object.values(ADDRESS_VARS).filter((v) => env[v]);
  if (set.length === 0) return undefined;
  const unset = Object.values(ADDRESS_VARS).filter((v) => !env[v]);
  if (unset.length) throw new InputError(unset[0], `is required when ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set (all four service addresses or none)`);
  return {
    teacher: env.SELFTRAIN_TEACHER!, student: env.SELFTRAIN_STUDENT!, evaluator: env.SELFTRAIN_EVALUATOR!,
    labelers: env.SELFTRAIN_LABELERS!.split(',').map((a) => a.trim()).filter(Boolean),
  };
}
