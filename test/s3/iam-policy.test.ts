/** Shape of the least-privilege IAM policy (no server). */
import { describe, expect, it } from 'vitest';
import { iamPolicy } from '../../io-managers/s3/iam-policy.ts';
import { loadConfig } from '../../pipeline/config.ts';

const config = loadConfig(
  {
    AWS_EXECUTION_ENV: 'AWS_EC2',
    S3_RAW_BUCKET: 'bucket-cityflow-paris-s3-raw',
    S3_RAW_PREFIX: 'cityflow-raw/raw',
    S3_REPORTS_BUCKET: 'cityflow-reports-paris',
    SHARED_STATE: 'local',
  },
  { envFile: false },
);

describe('iamPolicy', () => {
  it('grants exactly the calls the pipeline makes, scoped to the prefixes and tables', () => {
    const policy = iamPolicy(config, { accountId: '123456789012' });
    expect(policy.Version).toBe('2012-10-17');
    const tables = [
      'arn:aws:dynamodb:eu-west-3:123456789012:table/cityflow-metrics',
      'arn:aws:dynamodb:eu-west-3:123456789012:table/cityflow-reports',
    ];
    expect(policy.Statement).toEqual([
      {
        Sid: 'ListRawPrefix',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: ['arn:aws:s3:::bucket-cityflow-paris-s3-raw'],
        Condition: { StringLike: { 's3:prefix': ['cityflow-raw/raw', 'cityflow-raw/raw/*'] } },
      },
      {
        Sid: 'ReadRawObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: ['arn:aws:s3:::bucket-cityflow-paris-s3-raw/cityflow-raw/raw/*'],
      },
      {
        Sid: 'WriteReports',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::cityflow-reports-paris/reports/*'],
      },
      {
        Sid: 'ReadWriteMetricsAndReports',
        Effect: 'Allow',
        Action: [
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:Query',
        ],
        Resource: tables,
      },
      { Sid: 'SetupOnlyCreateTables', Effect: 'Allow', Action: ['dynamodb:CreateTable'], Resource: tables },
    ]);
  });

  it('never grants wildcards on actions, deletes or scans', () => {
    const all = iamPolicy(config).Statement.flatMap((s) => s.Action);
    expect(all.some((a) => a.includes('*'))).toBe(false);
    expect(all.filter((a) => /Delete|Scan|PutBucket|DeleteTable/.test(a))).toEqual([]);
    // Without an account id the table ARNs use a wildcard account, nothing else.
    expect(iamPolicy(config).Statement[3]?.Resource[0]).toBe(
      'arn:aws:dynamodb:eu-west-3:*:table/cityflow-metrics',
    );
  });

  it('leaves out CreateTable for a runtime role, and DynamoDB entirely for other databases', () => {
    expect(iamPolicy(config, { withoutSetup: true }).Statement.map((s) => s.Sid)).toEqual([
      'ListRawPrefix',
      'ReadRawObjects',
      'WriteReports',
      'ReadWriteMetricsAndReports',
    ]);
    expect(iamPolicy({ ...config, database: 'mongodb' }).Statement.map((s) => s.Sid)).toEqual([
      'ListRawPrefix',
      'ReadRawObjects',
      'WriteReports',
    ]);
  });

  it('with the shared state (AWS mode default): the intermediates prefix, the index, and deletes on the lock table only', () => {
    const shared = loadConfig(
      {
        AWS_EXECUTION_ENV: 'AWS_EC2',
        S3_RAW_BUCKET: 'bucket-cityflow-paris-s3-raw',
        S3_REPORTS_BUCKET: 'cityflow-reports-paris',
        DYNAMODB_LOCKS_TABLE: 'cf-locks',
      },
      { envFile: false },
    );
    const policy = iamPolicy(shared, { accountId: '123456789012' });
    const by = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(by.ListIntermediates).toMatchObject({
      Action: ['s3:ListBucket'],
      Resource: ['arn:aws:s3:::cityflow-reports-paris'],
      Condition: { StringLike: { 's3:prefix': ['intermediates', 'intermediates/*'] } },
    });
    expect(by.ReadWriteIntermediates).toMatchObject({
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: ['arn:aws:s3:::cityflow-reports-paris/intermediates/*'],
    });
    expect(by.SharedIndex?.Resource).toEqual([
      'arn:aws:dynamodb:eu-west-3:123456789012:table/cityflow-index',
    ]);
    expect(by.SharedUnitLocks?.Resource).toEqual(['arn:aws:dynamodb:eu-west-3:123456789012:table/cf-locks']);
    expect(by.SharedUnitLocks?.Action).toContain('dynamodb:ConditionCheckItem');
    const deletes = policy.Statement.filter((s) => s.Action.some((a) => /Delete/.test(a))).map((s) => s.Sid);
    expect(deletes).toEqual(['SharedUnitLocks']);
    expect(by.SetupOnlyCreateStateTables?.Resource).toHaveLength(2);
    expect(iamPolicy(shared, { withoutSetup: true }).Statement.map((s) => s.Sid)).not.toContain(
      'SetupOnlyCreateStateTables',
    );
  });

  it('needs both buckets and a valid account id', () => {
    expect(() => iamPolicy({ ...config, s3RawBucket: undefined })).toThrow('S3_RAW_BUCKET');
    expect(() => iamPolicy(config, { accountId: '12' })).toThrow('12 digits');
  });
});
