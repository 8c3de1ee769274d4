import { TeacherService } from '@selftrain/proto';
import { runService } from '@selftrain/service-runtime';
import { createTeacher } from './teacher-service';

void runService({ name: 'teacher', serviceName: 'selftrain.v1.Teacher', definition: TeacherService, purpose: 'train', create: createTeacher });
