import { StartTeacherRequest, type TeacherServer } from '@selftrain/proto';
import { jobServiceHandlers, jobStateNames, trainingJobRegistry, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';
import { preflightTraining, requestDigest, startTrainingJob, teacherJob, trainingMemoryFor, validateTeacherRequest } from '@selftrain/trainer';

/** Teacher: trains on human labels only, as a job that outlives its client. */
export function createTeacher(deps: ServiceDeps): ServiceParts {
  const jobs = trainingJobRegistry(deps, 'teacher');
  const memory = trainingMemoryFor(deps.backend.name, deps.config.trainMemoryBudget);
  const trainerDeps = { ...deps, trainThreads: deps.config.trainThreads };
  const implementation: TeacherServer = jobServiceHandlers<StartTeacherRequest>(deps, jobs, async (request) => {
    const req = validateTeacherRequest(request);
    const manifest = await preflightTraining(deps.store, req);
    return startTrainingJob(jobs, memory, req, manifest, trainerDeps, requestDigest(StartTeacherRequest.toJSON(request)), teacherJob(trainerDeps, req));
  });
  return { implementation, drain: () => jobs.shutdown(), abandon: () => jobs.abandon(), jobStates: () => jobStateNames(jobs) };
}
