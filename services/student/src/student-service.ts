import { StartStudentRequest, type StudentServer } from '@selftrain/proto';
import { jobServiceHandlers, jobStateNames, trainingJobRegistry, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';
import { preflightTraining, requestDigest, startTrainingJob, studentJob, trainingMemoryFor, validateStudentRequest } from '@selftrain/trainer';

/** Student: trains on human + pseudo labels under noise and loss normalization, as a job. */
export function createStudent(deps: ServiceDeps): ServiceParts {
  const jobs = trainingJobRegistry(deps, 'student');
  const memory = trainingMemoryFor(deps.backend.name, deps.config.trainMemoryBudget);
  const trainerDeps = { ...deps, trainThreads: deps.config.trainThreads };
  const implementation: StudentServer = jobServiceHandlers<StartStudentRequest>(deps, jobs, async (request) => {
    const req = validateStudentRequest(request);
    const manifest = await preflightTraining(deps.store, req);
    return startTrainingJob(jobs, memory, req, manifest, trainerDeps, requestDigest(StartStudentRequest.toJSON(request)), studentJob(trainerDeps, req));
  });
  return { implementation, drain: () => jobs.shutdown(), abandon: () => jobs.abandon(), jobStates: () => jobStateNames(jobs) };
}
