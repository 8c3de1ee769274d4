import { StudentService } from '@selftrain/proto';
import { runService } from '@selftrain/service-runtime';
import { createStudent } from './student-service';

void runService({ name: 'student', serviceName: 'selftrain.v1.Student', definition: StudentService, purpose: 'train', create: createStudent });
