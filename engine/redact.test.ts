import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskSecrets } from './redact.ts';

describe('maskSecrets', () => {
  it.each([
    ['mongodb://user:pass@host:27017/db', 'mongodb://user:****@host:27017/db'],
    ['mongodb://u:p@a:1,b:2/db?replicaSet=rs', 'mongodb://u:****@a:1,b:2/db?replicaSet=rs'],
    ['mongodb+srv://u:p%40x@cluster.example.net/', 'mongodb+srv://u:****@cluster.example.net/'],
    ['http://AKIAEXAMPLE:wJalrXUtn@127.0.0.1:7480', 'http://AKIAEXAMPLE:****@127.0.0.1:7480'],
    // unescaped / ? @ in the password: everything up to the last @ of the token
    ['mongodb://u:pa/ss?x@y@host/db', 'mongodb://u:****@host/db'],
    // a URL typed wrong still loses its password
    ['http//user:pw@host', 'http//user:****@host'],
    ['htp:/user:pw@host', 'htp:****@host'],
    [
      'mongodb://h/?authMechanism=PLAIN&tlsCertificateKeyFilePassword=hunter2&authSource=%24external',
      'mongodb://h/?authMechanism=PLAIN&tlsCertificateKeyFilePassword=****&authSource=%24external',
    ],
    [
      'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2025&X-Amz-Signature=abcdef&X-Amz-Security-Token=tok',
      'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=****&X-Amz-Signature=****&X-Amz-Security-Token=****',
    ],
    [
      'https://acct.blob.core.windows.net/c?sv=2020&sig=abc%3D',
      'https://acct.blob.core.windows.net/c?sv=2020&sig=****',
    ],
    [
      'mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok123,SERVICE_NAME:x',
      'mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:****,SERVICE_NAME:x',
    ],
    ['failed with password=hunter2 and token=abc', 'failed with password=**** and token=****'],
    [
      'AWS_SECRET_ACCESS_KEY=wJalr AWS_ACCESS_KEY_ID=AKIA1',
      'AWS_SECRET_ACCESS_KEY=**** AWS_ACCESS_KEY_ID=****',
    ],
    ['{"user":"u","password":"p\\"w"}', '{"user":"u","password":"****"}'],
  ])('%s', (input, masked) => {
    expect(maskSecrets(input)).toBe(masked);
    expect(maskSecrets(masked)).toBe(masked); // idempotent
  });

  it.each([
    'mongodb://localhost:27017/',
    'mongodb://user@host/db?authMechanism=MONGODB-X509&tlsCertificateKeyFile=/etc/cert.pem',
    'DynamoDB unreachable at http://127.0.0.1:8000 (region eu-west-3) during stat dynamodb://t/pk/2025-11-03: connect ECONNREFUSED 127.0.0.1:8000',
    's3://bucket/raw/api/bikes/dt=2025-11-03/hour=00/bikes.json',
    "EACCES: permission denied, open '/tmp/out/x.json.tmp-12-abcd'",
    'Caused by: Error: boom\n    at f (file:///work/main/engine/run.ts:12:3)',
    'contact: a@b.example',
  ])('leaves text without credentials alone: %s', (text) => {
    expect(maskSecrets(text)).toBe(text);
  });

  it('a planted password never survives in a URL, whatever it is made of', () => {
    const pw = fc.stringMatching(/^[A-Za-z0-9!$%&()*+,;=._~-]{6,20}$/);
    fc.assert(
      fc.property(pw, fc.constantFrom('mongodb', 'mongodb+srv', 'http', 'https'), (p, scheme) => {
        const url = `${scheme}://user:${p}@host:1/db?tlsCertificateKeyFilePassword=${encodeURIComponent(p)}&x=1`;
        const out = maskSecrets(`MongoDB unreachable at host:1 (${url}) during stat`);
        expect(out).not.toContain(`:${p}@`);
        expect(out).not.toContain(`=${encodeURIComponent(p)}`);
        expect(out).toContain('host:1');
      }),
      { numRuns: 300 },
    );
  });
});
