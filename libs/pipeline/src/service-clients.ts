import { EvaluatorClient, LabelerClient, StudentClient, TeacherClient } from '@selftrain/proto';
import { createClient } from '@selftrain/rpc';

export interface ServiceClients {
  teacher: InstanceType<typeof TeacherClient>;
  student: InstanceType<typeof StudentClient>;
  evaluator: InstanceType<typeof EvaluatorClient>;
  labelers: InstanceType<typeof LabelerClient>[];
  close(): void;
}

export function connectServices(addresses: { teacher: string; student: string; evaluator: string; labelers: string[] }): ServiceClients {
  const teacher = createClient(TeacherClient, addresses.teacher);
  const student = createClient(StudentClient, addresses.student);
  const evaluator = createClient(EvaluatorClient, addresses.evaluator);
  const labelers = addresses.labelers.map((a) => createClient(LabelerClient, a));
  return {
    teacher, student, evaluator, labelers,
    close: () => [teacher, student, evaluator, ...labelers].forEach((c) => c.close()),
  };
}
