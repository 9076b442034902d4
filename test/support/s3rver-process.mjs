// An s3rver in a process of its own, so its memory and CPU are not counted as the test's.
// Prints its port on stdout; exits when its parent closes stdin (or dies).
import S3rver from 's3rver';

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
