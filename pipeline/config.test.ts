import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../engine/redact.ts';
import { ConfigError, describeMode, loadConfig, printableConfig, runConcurrency } from './config.ts';

const cwd = '/srv/cityflow';
const load = (env: Record<string, string>) => loadConfig(env, { envFile: false, cwd });

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('uses the documented defaults, resolved against cwd', () => {
    const c = load({});
    expect(c).toMatchObject({
      dataDir: '/srv/cityflow/data',
      outputDir: '/srv/cityflow/output',
      stateDir: '/srv/cityflow/.cityflow',
      database: 'local',
      rawFromS3: false,
      awsRegion: 'eu-west-3',
      mongodbUrl: 'mongodb://localhost:27017/',
      mongodbDatabase: 'cityflow',
      dynamodbMetricsTable: 'cityflow-metrics',
      dynamodbReportsTable: 'cityflow-reports',
      s3RawPrefix: 'raw',
      s3CacheDir: '/srv/cityflow/.cache/s3',
      s3ReportsPrefix: 'reports',
      s3ForcePathStyle: false,
      pipelineConcurrency: availableParallelism(),
      pipelineConcurrencyFrom: 'CPU count',
      logLevel: 'info',
    });
    expect(c.s3RawBucket).toBeUndefined();
  });

  it('treats empty values as unset and trims slashes from prefixes', () => {
    const c = load({ S3_ENDPOINT_URL: '', S3_RAW_PREFIX: '/cityflow-raw/raw/', LOG_LEVEL: 'DEBUG' });
    expect(c.s3EndpointUrl).toBeUndefined();
    expect(c.s3RawPrefix).toBe('cityflow-raw/raw');
    expect(c.logLevel).toBe('debug');
  });

  it('defaults path-style addressing to on when a custom endpoint is given', () => {
    expect(load({ S3_ENDPOINT_URL: 'http://127.0.0.1:7480' }).s3ForcePathStyle).toBe(true);
    expect(
      load({ S3_ENDPOINT_URL: 'http://127.0.0.1:7480', S3_FORCE_PATH_STYLE: 'false' }).s3ForcePathStyle,
    ).toBe(false);
  });
});

describe('run concurrency (one rule for materialize and env)', () => {
  it('is --concurrency, else PIPELINE_CONCURRENCY, else the CPU count', () => {
    const cpus = availableParallelism();
    expect(runConcurrency(load({}))).toEqual({ value: cpus, from: 'CPU count' });
    expect(runConcurrency(load({ PIPELINE_CONCURRENCY: '3' }))).toEqual({
      value: 3,
      from: 'PIPELINE_CONCURRENCY',
    });
    expect(runConcurrency(load({ PIPELINE_CONCURRENCY: '3' }), 7)).toEqual({
      value: 7,
      from: '--concurrency',
    });
  });

  it('is what `pipeline env` prints', () => {
    const printed = printableConfig(load({}));
    expect(printed.PIPELINE_CONCURRENCY).toBe('(unset)');
    expect(printed['concurrency (effective)']).toBe(`${availableParallelism()} (CPU count)`);
    expect(printableConfig(load({ PIPELINE_CONCURRENCY: '2' }))['concurrency (effective)']).toBe(
      '2 (PIPELINE_CONCURRENCY)',
    );
  });
});

describe('mode rules (SPEC §4.1)', () => {
  const s3 = { S3_RAW_BUCKET: 'raw-bucket', S3_REPORTS_BUCKET: 'reports-bucket' };
  const table: Array<[string, Record<string, string>, { rawFromS3: boolean; database: string }]> = [
    ['nothing set → local', {}, { rawFromS3: false, database: 'local' }],
    ['USE_S3=true → S3 raw, local DB', { ...s3, USE_S3: 'true' }, { rawFromS3: true, database: 'local' }],
    ['USE_S3=TRUE (any case)', { ...s3, USE_S3: 'TRUE' }, { rawFromS3: true, database: 'local' }],
    ['USE_S3=false', { USE_S3: 'false' }, { rawFromS3: false, database: 'local' }],
    [
      'AWS_EXECUTION_ENV → S3 + DynamoDB',
      { ...s3, AWS_EXECUTION_ENV: 'AWS_EC2' },
      { rawFromS3: true, database: 'dynamodb' },
    ],
    [
      'USE_DYNAMODB=true → DynamoDB only',
      { USE_DYNAMODB: 'true' },
      { rawFromS3: false, database: 'dynamodb' },
    ],
    ['DATABASE_TYPE=dynamodb', { DATABASE_TYPE: 'dynamodb' }, { rawFromS3: false, database: 'dynamodb' }],
    ['DATABASE_TYPE=mongodb', { DATABASE_TYPE: 'mongodb' }, { rawFromS3: false, database: 'mongodb' }],
    [
      'DATABASE_TYPE=MongoDB (any case)',
      { DATABASE_TYPE: 'MongoDB' },
      { rawFromS3: false, database: 'mongodb' },
    ],
    [
      'mongodb + USE_S3',
      { ...s3, DATABASE_TYPE: 'mongodb', USE_S3: '1' },
      { rawFromS3: true, database: 'mongodb' },
    ],
    [
      'dynamodb + USE_DYNAMODB agree',
      { DATABASE_TYPE: 'dynamodb', USE_DYNAMODB: 'yes' },
      { rawFromS3: false, database: 'dynamodb' },
    ],
    ['DATABASE_TYPE=local explicit', { DATABASE_TYPE: 'local' }, { rawFromS3: false, database: 'local' }],
  ];
  it.each(table)('%s', (_name, env, expected) => {
    expect(load(env)).toMatchObject(expected);
  });
});

describe('invalid settings', () => {
  it('rejects DATABASE_TYPE=mongodb with USE_DYNAMODB=true', () => {
    expect(configError({ DATABASE_TYPE: 'mongodb', USE_DYNAMODB: 'true' }).problems).toEqual([
      'DATABASE_TYPE=mongodb conflicts with USE_DYNAMODB=true (which selects DynamoDB): unset one of them',
    ]);
  });

  it('rejects DATABASE_TYPE=mongodb under AWS_EXECUTION_ENV', () => {
    const err = configError({
      DATABASE_TYPE: 'mongodb',
      AWS_EXECUTION_ENV: 'AWS_EC2',
      S3_RAW_BUCKET: 'raw-bucket',
      S3_REPORTS_BUCKET: 'rep-bucket',
    });
    expect(err.problems).toEqual([
      'DATABASE_TYPE=mongodb conflicts with AWS_EXECUTION_ENV=AWS_EC2 (which selects DynamoDB): unset one of them',
    ]);
  });

  it('requires the buckets in S3 mode, naming the variable that turned S3 on', () => {
    const err = configError({ USE_S3: 'true' });
    expect(err.problems).toEqual([
      'S3_RAW_BUCKET: required because USE_S3=true (raw input is read from S3)',
      'S3_REPORTS_BUCKET: required because USE_S3=true (the report CSV is written to S3)',
    ]);
    expect(err.message).toContain('Invalid configuration (2 problems)');
    expect(err.message).toContain('Fix the environment variables');
  });

  it('lists every bad variable at once, with the value and the rule', () => {
    const err = configError({
      S3_ENDPOINT_URL: 'not a url',
      DATABASE_TYPE: 'postgres',
      USE_S3: 'maybe',
      PIPELINE_CONCURRENCY: 'lots',
      S3_RAW_BUCKET: 'Bad_Bucket',
      AWS_REGION: 'paris',
      LOG_LEVEL: 'loud',
    });
    const byVar = Object.fromEntries(err.problems.map((p) => [p.split(' ')[0], p]));
    expect(Object.keys(byVar).sort()).toEqual([
      'AWS_REGION',
      'DATABASE_TYPE',
      'LOG_LEVEL',
      'PIPELINE_CONCURRENCY',
      'S3_ENDPOINT_URL',
      'S3_RAW_BUCKET',
      'USE_S3',
    ]);
    expect(byVar.S3_ENDPOINT_URL).toBe(
      'S3_ENDPOINT_URL (got "not a url"): must be an http(s) URL, e.g. http://127.0.0.1:7480',
    );
    expect(byVar.DATABASE_TYPE).toBe('DATABASE_TYPE (got "postgres"): must be local, dynamodb or mongodb');
    expect(byVar.S3_RAW_BUCKET).toContain('must be a valid S3 bucket name');
  });

  it('reads the S3 cache budget as a decimal size, and refuses what is not one', () => {
    expect(load({}).s3CacheMaxBytes).toBe(10_000_000_000);
    expect(load({ S3_CACHE_MAX_SIZE: '500MB' }).s3CacheMaxBytes).toBe(500_000_000);
    expect(load({ S3_CACHE_MAX_SIZE: '1.5 gb' }).s3CacheMaxBytes).toBe(1_500_000_000);
    expect(load({ S3_CACHE_MAX_SIZE: '4096' }).s3CacheMaxBytes).toBe(4096);
    expect(configError({ S3_CACHE_MAX_SIZE: 'lots' }).problems).toEqual([
      'S3_CACHE_MAX_SIZE (got "lots"): must be a size such as 10GB, 500MB or a number of bytes',
    ]);
  });

  it('rejects a non-http endpoint and a half-set key pair', () => {
    expect(configError({ S3_ENDPOINT_URL: 'ftp://host/' }).problems[0]).toMatch(/^S3_ENDPOINT_URL/);
    expect(configError({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }).problems).toEqual([
      'AWS_SECRET_ACCESS_KEY: required when AWS_ACCESS_KEY_ID is set',
    ]);
  });

  it('never echoes a bad MONGODB_URL (it may hold a password)', () => {
    const err = configError({ MONGODB_URL: 'postgres://u:hunter2@db' });
    expect(err.message).not.toContain('hunter2');
    expect(err.problems[0]).toBe('MONGODB_URL: must start with mongodb:// or mongodb+srv://');
  });
});

describe('.env file', () => {
  it('fills unset variables but never overrides the real environment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cityflow-config-'));
    const file = path.join(dir, '.env');
    writeFileSync(file, 'S3_RAW_PREFIX=from-file\nAWS_REGION=us-east-1\nLOG_LEVEL=warn\n');
    const c = loadConfig({ AWS_REGION: 'eu-west-1' }, { envFile: file, cwd: dir });
    expect(c.s3RawPrefix).toBe('from-file');
    expect(c.awsRegion).toBe('eu-west-1');
    expect(c.logLevel).toBe('warn');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('describeMode', () => {
  it('names the AWS trigger, the raw bucket and the DynamoDB table', () => {
    const c = load({
      AWS_EXECUTION_ENV: 'AWS_EC2',
      S3_RAW_BUCKET: 'bucket-cityflow-paris-s3-raw',
      S3_RAW_PREFIX: 'cityflow-raw/raw',
      S3_REPORTS_BUCKET: 'cityflow-reports-paris',
    });
    expect(describeMode(c)).toBe(
      'AWS mode: AWS_EXECUTION_ENV=AWS_EC2 → raw from s3://bucket-cityflow-paris-s3-raw/cityflow-raw/raw ' +
        '(cache /srv/cityflow/.cache/s3), metrics to DynamoDB cityflow-metrics (eu-west-3), ' +
        'index and unit locks in DynamoDB cityflow-index / cityflow-locks',
    );
  });

  it('shares the state in DynamoDB in AWS mode only, and refuses it without S3', () => {
    expect(load({}).sharedState).toBe('local');
    const aws = load({ AWS_EXECUTION_ENV: 'AWS_EC2', S3_RAW_BUCKET: 'raw-b', S3_REPORTS_BUCKET: 'rep-b' });
    expect(aws).toMatchObject({
      sharedState: 'dynamodb',
      dynamodbIndexTable: 'cityflow-index',
      dynamodbLocksTable: 'cityflow-locks',
      unitLockLeaseMs: 30_000,
      s3IntermediatesBucket: 'rep-b',
      s3IntermediatesPrefix: 'intermediates',
    });
    expect(() => load({ SHARED_STATE: 'dynamodb' })).toThrow(/SHARED_STATE=dynamodb: needs S3 mode/);
    expect(() => load({ SHARED_STATE: 'redis' })).toThrow(
      /SHARED_STATE \(got "redis"\): must be local or dynamodb/,
    );
    expect(() => load({ UNIT_LOCK_LEASE_SECONDS: '0' })).toThrow(
      /UNIT_LOCK_LEASE_SECONDS \(got "0"\): must be at least 1/,
    );
  });

  it('describes local mode', () => {
    expect(describeMode(load({}))).toBe(
      'Local mode → raw from /srv/cityflow/data, metrics to local JSON files in /srv/cityflow/output',
    );
  });

  it('describes a mixed mode with a custom endpoint and MongoDB, password masked', () => {
    const line = describeMode(
      load({
        USE_S3: 'true',
        DATABASE_TYPE: 'mongodb',
        MONGODB_URL: 'mongodb://app:s3cr3t-pw@db.example:27017/?authSource=admin',
        S3_RAW_BUCKET: 'raw',
        S3_REPORTS_BUCKET: 'rep',
        S3_ENDPOINT_URL: 'http://127.0.0.1:7480',
      }),
    );
    expect(line).toBe(
      'Mixed mode: USE_S3=true, DATABASE_TYPE=mongodb → raw from s3://raw/raw at http://127.0.0.1:7480 ' +
        '(cache /srv/cityflow/.cache/s3), metrics to MongoDB cityflow at ' +
        'mongodb://app:****@db.example:27017/?authSource=admin',
    );
  });
});

describe('secret masking', () => {
  const secrets = {
    AWS_ACCESS_KEY_ID: 'AKIAFAKEKEYID1234567',
    AWS_SECRET_ACCESS_KEY: 'fakeSecretKey/abcdefghijklmnop0123456789',
    AWS_SESSION_TOKEN: 'FakeSessionTokenXYZ0987654321',
    MONGODB_URL: 'mongodb+srv://cityflow:FakeMongoPassw0rd@cluster0.example.net/cityflow',
  };

  it('keeps no secret in the config, the printable config, the mode line or JSON', () => {
    const c = load({ ...secrets, DATABASE_TYPE: 'mongodb', AWS_PROFILE: 'prod' });
    const outputs = [
      JSON.stringify(printableConfig(c)),
      describeMode(c),
      JSON.stringify(c).replace(secrets.MONGODB_URL, ''), // the driver needs the URL itself
    ].join('\n');
    for (const secret of [secrets.AWS_SECRET_ACCESS_KEY, secrets.AWS_SESSION_TOKEN, 'FakeMongoPassw0rd']) {
      expect(outputs).not.toContain(secret);
    }
    // The access key id is shown truncated to its first 4 characters.
    expect(outputs).not.toContain(secrets.AWS_ACCESS_KEY_ID);
    const p = printableConfig(c);
    expect(p.AWS_ACCESS_KEY_ID).toBe('AKIA****');
    expect(p.AWS_SECRET_ACCESS_KEY).toBe('****');
    expect(p.AWS_SESSION_TOKEN).toBe('****');
    expect(p.MONGODB_URL).toBe('mongodb+srv://cityflow:****@cluster0.example.net/cityflow');
    expect(p.AWS_PROFILE).toBe('prod');
  });

  it('masks URL passwords but leaves password-less URLs alone', () => {
    expect(maskSecrets('mongodb://user:p%40ss@host:27017/db')).toBe('mongodb://user:****@host:27017/db');
    expect(maskSecrets('mongodb://user@host/db')).toBe('mongodb://user@host/db');
    expect(maskSecrets('mongodb://localhost:27017/')).toBe('mongodb://localhost:27017/');
  });

  it('masks credentials in URL options, in the S3 endpoint of the mode line and in config errors', () => {
    const c = load({
      USE_S3: 'true',
      S3_RAW_BUCKET: 'raw',
      S3_REPORTS_BUCKET: 'rep',
      S3_ENDPOINT_URL: 'http://rgw:S3-Endpoint-Pw@127.0.0.1:7480',
      DATABASE_TYPE: 'mongodb',
      MONGODB_URL: 'mongodb://app:Mongo-Pw@db:27017/?tls=true&tlsCertificateKeyFilePassword=Tls-Key-Pw',
    });
    const shown = [describeMode(c), ...Object.values(printableConfig(c))].join('\n');
    for (const pw of ['S3-Endpoint-Pw', 'Mongo-Pw', 'Tls-Key-Pw']) expect(shown).not.toContain(pw);
    expect(describeMode(c)).toContain('at http://rgw:****@127.0.0.1:7480');
    expect(printableConfig(c).MONGODB_URL).toBe(
      'mongodb://app:****@db:27017/?tls=true&tlsCertificateKeyFilePassword=****',
    );
    // Invalid URLs are echoed masked, even typed wrong.
    for (const [name, value] of [
      ['S3_ENDPOINT_URL', 'ftp://rgw:Bad-Url-Pw@host'],
      ['S3_ENDPOINT_URL', 'http//rgw:Bad-Url-Pw@host'],
      ['MONGODB_URL', 'mongo://app:Bad-Url-Pw@host/?tlsCertificateKeyFilePassword=Bad-Tls-Pw'],
    ] as const) {
      const err = configError({ [name]: value });
      expect(err.message).toContain(name);
      expect(err.message).not.toContain('Bad-Url-Pw');
      expect(err.message).not.toContain('Bad-Tls-Pw');
    }
    expect(configError({ S3_ENDPOINT_URL: 'ftp://rgw:Bad-Url-Pw@host' }).problems[0]).toBe(
      'S3_ENDPOINT_URL (got "ftp://rgw:****@host"): must be an http(s) URL, e.g. http://127.0.0.1:7480',
    );
  });
});
