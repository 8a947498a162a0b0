/**
 * A self-signed certificate for 127.0.0.1, made with openssl at test time (no key in the
 * repository): for https servers the broker must trust (NODE_EXTRA_CA_CERTS) or refuse.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Writes `key.pem` and `cert.pem` into `dir`; resolves their paths. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
