// The embedded S3 server in a process of its own, so a test can stop it with SIGSTOP (an endpoint that
// hangs: connections open, nothing answered) and let it go on with SIGCONT. Arguments: the data
// directory and a file the server's StorageConfig is written to (JSON) once it listens.
import { writeFileSync } from 'node:fs';
import { startEmbeddedS3 } from '@selftrain/storage';

const [directory, configFile] = process.argv.slice(2);
void startEmbeddedS3({ directory, port: 0 }).then((s3) => {
  writeFileSync(configFile, JSON.stringify(s3.config));
  process.on('SIGTERM', () => void s3.close().then(() => process.exit(0)));
});
