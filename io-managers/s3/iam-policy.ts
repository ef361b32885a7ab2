/**
 * The least-privilege IAM policy the pipeline needs in AWS mode: list + read the raw prefix, write
 * reports under the reports prefix, and the DynamoDB calls the metrics/reports store makes
 * (io-managers/dynamodb: Get/BatchGet/Put/Update/BatchWrite/Query, DescribeTable at start-up).
 * Table creation is a separate statement, needed only by the one-time setup.
 * Accepts the pipeline's Config directly (same field names).
 */

export interface IamPolicyInput {
  s3RawBucket?: string;
  s3RawPrefix: string;
  s3ReportsBucket?: string;
  s3ReportsPrefix: string;
  dynamodbMetricsTable: string;
  dynamodbReportsTable: string;
  awsRegion: string;
  /** `dynamodb` (default) adds the DynamoDB statements; other backends need none. */
  database?: string;
  /** `dynamodb`: the shared index and unit-lock tables, and the intermediates in S3. */
  sharedState?: string;
  dynamodbIndexTable?: string;
  dynamodbLocksTable?: string;
  s3IntermediatesBucket?: string;
  s3IntermediatesPrefix?: string;
}

export interface IamPolicyOptions {
  /** 12-digit account id for the table ARNs; `*` when unknown. */
  accountId?: string;
  /** Leave out the CreateTable statement (runtime role, tables already exist). */
  withoutSetup?: boolean;
}

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface IamPolicy {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

const trim = (p: string): string => p.replace(/^\/+|\/+$/g, '');

export function iamPolicy(config: IamPolicyInput, opts: IamPolicyOptions = {}): IamPolicy {
  if (!config.s3RawBucket) throw new Error('S3_RAW_BUCKET is required to write the IAM policy');
  if (!config.s3ReportsBucket) throw new Error('S3_REPORTS_BUCKET is required to write the IAM policy');
  const account = opts.accountId ?? '*';
  if (account !== '*' && !/^\d{12}$/.test(account))
    throw new Error(`AWS account id must be 12 digits: ${account}`);
  const raw = trim(config.s3RawPrefix);
  const reports = trim(config.s3ReportsPrefix);
  const objects = (bucket: string, prefix: string): string =>
    `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}*`;
  /** Listings of a bucket under a prefix only (the prefix itself for folder discovery, and below it). */
  const listUnder = (Sid: string, bucket: string, prefix: string): PolicyStatement => ({
    Sid,
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: [`arn:aws:s3:::${bucket}`],
    ...(prefix && { Condition: { StringLike: { 's3:prefix': [prefix, `${prefix}/*`] } } }),
  });

  const statements: PolicyStatement[] = [
    listUnder('ListRawPrefix', config.s3RawBucket, raw),
    {
      Sid: 'ReadRawObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: [objects(config.s3RawBucket, raw)],
    },
    {
      Sid: 'WriteReports',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: [objects(config.s3ReportsBucket, reports)],
    },
  ];
  const shared = config.sharedState === 'dynamodb';
  if (shared) {
    if (!config.s3IntermediatesBucket || !config.dynamodbIndexTable || !config.dynamodbLocksTable)
      throw new Error('SHARED_STATE=dynamodb needs the intermediates bucket and the index and locks tables');
    const arn = (t: string) => `arn:aws:dynamodb:${config.awsRegion}:${account}:table/${t}`;
    const stateTables = [arn(config.dynamodbIndexTable), arn(config.dynamodbLocksTable)];
    const inter = trim(config.s3IntermediatesPrefix ?? 'intermediates');
    statements.push(
      // Without ListBucket, S3 answers a HEAD of a missing object 403 instead of 404.
      listUnder('ListIntermediates', config.s3IntermediatesBucket, inter),
      {
        Sid: 'ReadWriteIntermediates',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: [objects(config.s3IntermediatesBucket, inter)],
      },
      {
        // Records read by Query, written by TransactWriteItems (Put) with the stamp item's UpdateItem.
        Sid: 'SharedIndex',
        Effect: 'Allow',
        Action: [
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Resource: [arn(config.dynamodbIndexTable)],
      },
      {
        // Entries put and deleted (release, takeover of an expired lease) in transactions, leases
        // refreshed by UpdateItem, and checked by the index writes (ConditionCheck: the fencing token).
        Sid: 'SharedUnitLocks',
        Effect: 'Allow',
        Action: [
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:ConditionCheckItem',
        ],
        Resource: [arn(config.dynamodbLocksTable)],
      },
    );
    if (!opts.withoutSetup)
      statements.push({
        Sid: 'SetupOnlyCreateStateTables',
        Effect: 'Allow',
        Action: ['dynamodb:CreateTable'],
        Resource: stateTables,
      });
  }
  if ((config.database ?? 'dynamodb') === 'dynamodb') {
    const tables = [config.dynamodbMetricsTable, config.dynamodbReportsTable].map(
      (t) => `arn:aws:dynamodb:${config.awsRegion}:${account}:table/${t}`,
    );
    statements.push({
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
    });
    if (!opts.withoutSetup) {
      statements.push({
        Sid: 'SetupOnlyCreateTables',
        Effect: 'Allow',
        Action: ['dynamodb:CreateTable'],
        Resource: tables,
      });
    }
  }
  return { Version: '2012-10-17', Statement: statements };
}
