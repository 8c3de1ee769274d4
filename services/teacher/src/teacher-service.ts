import { StartTeacherRequest, type TeacherServer } from '@selftrain/proto';
import { jobServiceHandlers, jobStateNames, trainingJobRegistry, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';
import { preflightTraining, requestDigest, teacherJob, validateTeacherRequest } from '@selftrain/trainer';

/** Teacher: trains on human labels only, as a job that outlives its client. */
export function createTeacher(deps: ServiceDeps): ServiceParts {
  const jobs = trainingJobRegistry(deps, 'teacher');
  const implementation: TeacherServer = jobServiceHandlers<StartTeacherRequest>(deps, jobs, async (request) => {
    const req = validateTeacherRequest(request);
    await preflightTraining(deps.store, req);
    return jobs.start(req.jobId, requestDigest(StartTeacherRequest.toJSON(request)), teacherJob({ ...deps, trainThreads: deps.config.trainThreads }, req));
  });
  return { implementation, drain: () => jobs.shutdown(), jobStates: () => jobStateNames(jobs) };
}
