import { StartStudentRequest, type StudentServer } from '@selftrain/proto';
import { jobServiceHandlers, jobStateNames, trainingJobRegistry, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';
import { preflightTraining, requestDigest, studentJob, validateStudentRequest } from '@selftrain/trainer';

/** Student: trains on human + pseudo labels under noise and loss normalization, as a job. */
export function createStudent(deps: ServiceDeps): ServiceParts {
  const jobs = trainingJobRegistry(deps, 'student');
  const implementation: StudentServer = jobServiceHandlers<StartStudentRequest>(deps, jobs, async (request) => {
    const req = validateStudentRequest(request);
    await preflightTraining(deps.store, req);
    return jobs.start(req.jobId, requestDigest(StartStudentRequest.toJSON(request)), studentJob({ ...deps, trainThreads: deps.config.trainThreads }, req));
  });
  return { implementation, drain: () => jobs.shutdown(), jobStates: () => jobStateNames(jobs) };
}
