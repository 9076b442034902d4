/**
 * A throw-away certificate authority and a server certificate for `localhost` and `127.0.0.1`,
 * made with the real `openssl` CLI, so that tests exercise TLS exactly as a private-CA deployment
 * does (clients trust the CA through their usual variables: SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,
 * GIT_SSL_CAINFO, REQUESTS_CA_BUNDLE).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { startServer, type TestServer } from './server.ts';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate (what clients must trust). */
  caFile: string;
  ca: string;
  certFile: string;
  keyFile: string;
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd });
}

export async function createTestCa(hosts: string[] = ['localhost', '127.0.0.1']): Promise<TestCa> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    dir,
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Wharf Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl(dir, 'req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${hosts[0]}`);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await writeFile(
    path.join(dir, 'server.ext'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  const caFile = path.join(dir, 'ca.pem');
  return { dir, caFile, ca: await readFile(caFile, 'utf8'), certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server.key') };
}

export interface TlsTestServer {
  ca: TestCa;
  /** Serving HTTPS on `https://localhost:PORT`. */
  server: TestServer;
  /** Stops the server and gives this process back the trust it had before. */
  close(): Promise<void>;
}

/**
 * A Wharf serving HTTPS with a certificate from a fresh test CA, trusted for the rest of the test
 * file by this process's fetch and by the git it spawns (GIT_SSL_CAINFO), as a private-CA set-up
 * configures its clients.
 */
export async function startTlsServer(env: Record<string, string> = {}): Promise<TlsTestServer> {
  const ca = await createTestCa();
  const server = await startServer({ env: { WHARF_TLS_CERT: ca.certFile, WHARF_TLS_KEY: ca.keyFile, ...env }, hostName: 'localhost' });
  const previous = getGlobalDispatcher();
  setGlobalDispatcher(new Agent({ connect: { ca: ca.ca } }));
  process.env.GIT_SSL_CAINFO = ca.caFile;
  return {
    ca,
    server,
    async close() {
      setGlobalDispatcher(previous);
      await server.close();
    },
  };
}
