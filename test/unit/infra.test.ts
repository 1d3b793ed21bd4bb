// The deployment files in infra/: the SAM template parses (CloudFormation's short-form tags
// included), its handler is what `npm run build` emits from src/lambda/handler.ts, it configures
// the function only through variables the handler reads, and its IAM policy reaches nothing
// outside the bucket prefix; the docker-compose file parses, names its services, and publishes
// on loopback only.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { ENV } from '../../src/config.ts';
import { OBJECT_CONTEXT_KEY } from '../../src/crypt/kms-cipher.ts';
import { LAMBDA_ENV } from '../../src/lambda/handler.ts';

const ROOT = new URL('../../', import.meta.url);
const INFRA = new URL('infra/', ROOT);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** CloudFormation's short forms (!Ref, !Sub, !If, ...) as their long forms ({"Fn::Sub": ...}). */
const INTRINSICS = ['Ref', 'Condition', 'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select',
  'Split', 'Sub', 'Transform', 'And', 'Equals', 'If', 'Not', 'Or'];

function longForm(name: string, value: Json): JsonObject {
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') return { 'Fn::GetAtt': value.split('.') };
  return { [`Fn::${name}`]: value };
}

const CLOUDFORMATION_TAGS: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => longForm(name, value) } satisfies ScalarTag,
  ...(['seq', 'map'] as const).map((collection) => ({
    tag: `!${name}`,
    collection,
    resolve: (value: YAMLMap.Parsed | YAMLSeq.Parsed) => longForm(name, value.toJSON() as Json),
  }) as CollectionTag),
]);

function readYaml(name: string, customTags: (ScalarTag | CollectionTag)[] = []): JsonObject {
  // merge: Compose files share settings through YAML merge keys (<<: *anchor).
  const value = parse(readFileSync(new URL(name, INFRA), 'utf8'), { customTags, merge: true }) as Json;
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${name} is a mapping`);
  return value;
}

function object(value: Json | undefined, what: string): JsonObject {
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${what} is a mapping`);
  return value;
}

function array(value: Json | undefined, what: string): Json[] {
  assert.ok(Array.isArray(value), `${what} is a list`);
  return value;
}

/** Policy documents of the function, with conditional ones (!If [cond, doc, NoValue]) unwrapped. */
type PolicyDocument = { document: JsonObject; condition: string | null };

function policyDocuments(policies: Json[]): PolicyDocument[] {
  return policies.flatMap((policy): PolicyDocument[] => {
    if (typeof policy === 'string') return []; // a managed policy by name
    const conditional = object(policy, 'policy')['Fn::If'];
    if (conditional) {
      const [condition, then] = array(conditional, 'Fn::If');
      if (typeof then === 'string') return [];
      return [{ document: object(then, 'conditional policy'), condition: String(condition) }];
    }
    return [{ document: object(policy, 'policy'), condition: null }];
  });
}

/** A !Sub string's template text. */
function subText(value: Json | undefined): string {
  const text = object(value, 'resource')['Fn::Sub'];
  assert.equal(typeof text, 'string', 'resource is a !Sub string');
  return text as string;
}

describe('infra/template.yaml (AWS SAM)', () => {
  const template = readYaml('template.yaml', CLOUDFORMATION_TAGS);
  const resources = object(template.Resources, 'Resources');
  const [name, fn] = Object.entries(resources).find(([, resource]) => object(resource, 'resource').Type === 'AWS::Serverless::Function') ?? [];
  const properties = object(object(fn, `function ${name}`).Properties, 'Properties');

  test('is a SAM template for a Node 22 function on a schedule, with memory and timeout', () => {
    assert.equal(template.Transform, 'AWS::Serverless-2016-10-31');
    assert.equal(properties.Runtime, 'nodejs22.x');
    assert.ok(properties.MemorySize !== undefined && properties.Timeout !== undefined);
    const events = Object.values(object(properties.Events, 'Events')).map((event) => object(event, 'event'));
    const schedule = events.find((event) => event.Type === 'Schedule' || event.Type === 'ScheduleV2');
    assert.ok(schedule, 'a scheduled event');
    assert.ok(object(schedule.Properties, 'schedule').Schedule);
    assert.equal(properties.ReservedConcurrentExecutions, 1, 'one run at a time');
  });

  test('the handler is the build output of src/lambda/handler.ts, and it exports `handler`', async () => {
    const handler = String(properties.Handler);
    const match = /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(handler);
    assert.ok(match, `Handler ${handler} is file.export`);
    const [, file, exported] = match as unknown as [string, string, string];
    assert.equal(file, 'dist/lambda/handler');
    // CodeUri is relative to the template: the package root, packed with its "files".
    const codeRoot = new URL(String(properties.CodeUri).replace(/\/?$/, '/'), INFRA);
    assert.equal(fileURLToPath(codeRoot), fileURLToPath(ROOT));
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { files: string[]; type: string; scripts: Record<string, string> };
    assert.ok(pkg.files.includes('dist'), 'the package ships dist/');
    assert.equal(pkg.type, 'module', 'dist/*.js load as ES modules');
    const build = JSON.parse(readFileSync(new URL('tsconfig.build.json', ROOT), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.equal(`${build.compilerOptions.outDir}/lambda/handler`, file, 'npm run build emits src/lambda/handler.ts there');
    assert.match(pkg.scripts.build ?? '', /tsconfig\.build\.json/);
    const built = new URL(`${file}.js`, codeRoot);
    const source = new URL(`${build.compilerOptions.rootDir}/lambda/handler.ts`, ROOT);
    const module = (await import(existsSync(built) ? built.href : pathToFileURL(fileURLToPath(source)).href)) as Record<string, unknown>;
    assert.equal(typeof module[exported], 'function');
  });

  test('configures the function only through variables the handler reads', () => {
    const variables = object(object(properties.Environment, 'Environment').Variables, 'Variables');
    const known = new Set<string>([...Object.values(ENV), ...Object.values(LAMBDA_ENV), 'NODE_OPTIONS']);
    for (const variable of Object.keys(variables)) assert.ok(known.has(variable), `${variable} is read by the handler`);
    assert.ok(variables[ENV.uri] && variables[ENV.store]);
    assert.match(subText(variables[ENV.store]), /^s3:\/\/\$\{BucketName\}\/\$\{Prefix\}$/);
    const uri = object(template.Parameters, 'Parameters').MongoDbUri;
    assert.equal(object(uri, 'MongoDbUri').NoEcho, true, 'the URI (a password) is not echoed');
  });

  test('its IAM policy reaches only the bucket prefix (and the KMS key, when one is given)', () => {
    const parameters = object(template.Parameters, 'Parameters');
    const prefix = object(parameters.Prefix, 'Prefix');
    const pattern = new RegExp(String(prefix.AllowedPattern));
    assert.ok(!pattern.test(''), 'the prefix cannot be empty');
    assert.ok(pattern.test('mongo-pitr/prod/') && !pattern.test('mongo-pitr'), 'the prefix ends with a slash');
    const bucketArn = 'arn:${AWS::Partition}:s3:::${BucketName}';
    let s3Statements = 0;
    for (const { document, condition } of policyDocuments(array(properties.Policies, 'Policies'))) {
      for (const statement of array(document.Statement, 'Statement').map((item) => object(item, 'statement'))) {
        assert.equal(statement.Effect, 'Allow');
        const actions = [statement.Action].flat().map(String);
        assert.ok(actions.every((action) => !action.includes('*')), `no wildcard actions (${actions.join(', ')})`);
        const resources = [statement.Resource].flat() as Json[];
        if (actions.every((action) => action.startsWith('kms:'))) {
          if (condition === 'HasEncryptKmsKey') {
            // Client-side envelope encryption: the key named for it, and data keys bound to objects.
            assert.deepEqual(resources, [{ Ref: 'EncryptKmsKeyArn' }]);
            // Data keys only: the function that writes backups must not be able to read them.
            assert.deepEqual(actions, ['kms:GenerateDataKey']);
            const keys = object(object(statement.Condition, 'Condition')['ForAllValues:StringEquals'], 'ForAllValues:StringEquals')['kms:EncryptionContextKeys'];
            assert.deepEqual(keys, [OBJECT_CONTEXT_KEY, 'aws-crypto-public-key']);
            continue;
          }
          assert.equal(condition, 'HasKmsKey', 'KMS only when a key is given');
          assert.deepEqual(resources, [{ Ref: 'KmsKeyArn' }]);
          continue;
        }
        assert.ok(actions.every((action) => action.startsWith('s3:')), `only S3 and KMS (${actions.join(', ')})`);
        s3Statements++;
        for (const resource of resources) {
          const arn = subText(resource);
          if (arn === bucketArn) {
            // Bucket-level actions: listing, and only of keys under the prefix.
            assert.deepEqual(actions, ['s3:ListBucket']);
            const like = object(object(statement.Condition, 'Condition').StringLike, 'StringLike');
            const prefixes = [like['s3:prefix']].flat().map((value) => subText(value));
            assert.deepEqual(prefixes, ['${Prefix}*']);
          } else {
            assert.equal(arn, `${bucketArn}/\${Prefix}*`, 'objects under the prefix only');
          }
        }
      }
    }
    assert.ok(s3Statements >= 2, 'object and listing statements');
  });

  test('the bucket policy denies every request not made over TLS (on by default)', () => {
    const [policyName, policy] = Object.entries(resources).find(([, resource]) => object(resource, 'resource').Type === 'AWS::S3::BucketPolicy') ?? [];
    const resource = object(policy, `bucket policy ${policyName}`);
    const condition = object(object(template.Conditions, 'Conditions')[String(resource.Condition)], 'its condition');
    assert.deepEqual(condition, { 'Fn::Equals': [{ Ref: 'DenyInsecureTransport' }, 'true'] });
    assert.equal(object(object(template.Parameters, 'Parameters').DenyInsecureTransport, 'DenyInsecureTransport').Default, 'true');
    const properties = object(resource.Properties, 'Properties');
    assert.deepEqual(properties.Bucket, { Ref: 'BucketName' });
    const statements = array(object(properties.PolicyDocument, 'PolicyDocument').Statement, 'Statement').map((item) => object(item, 'statement'));
    const deny = statements.find((statement) => statement.Effect === 'Deny' && object(object(statement.Condition, 'Condition').Bool, 'Bool')['aws:SecureTransport'] === 'false');
    assert.ok(deny, 'a Deny on aws:SecureTransport false');
    assert.equal(deny.Principal, '*');
    assert.deepEqual([deny.Action].flat(), ['s3:*']);
    const bucketArn = 'arn:${AWS::Partition}:s3:::${BucketName}';
    assert.deepEqual([deny.Resource].flat().map((arn) => subText(arn)).sort(), [bucketArn, `${bucketArn}/*`]);
  });

  test('a sharded cluster: the Topology parameter (JSON, hidden) reaches the function as MONGO_PITR_TOPOLOGY, absent when empty', () => {
    const parameters = object(template.Parameters, 'Parameters');
    const topology = object(parameters.Topology, 'Topology');
    assert.equal(topology.Type, 'String');
    assert.equal(topology.Default, '', 'empty: a replica set');
    // The topology names every member's URI, passwords included.
    assert.equal(topology.NoEcho, true);
    // With a topology the URI is not needed (settingsFromEnv): it may be left empty.
    assert.equal(object(parameters.MongoDbUri, 'MongoDbUri').Default, '');
    const conditions = object(template.Conditions, 'Conditions');
    const variables = object(object(properties.Environment, 'Environment').Variables, 'Variables');
    const value = object(variables[LAMBDA_ENV.topology], `${LAMBDA_ENV.topology}`);
    // !If [HasTopology, !Ref Topology, !Ref AWS::NoValue]: no variable at all for a replica set,
    // so the handler never sees an empty topology setting.
    const [condition, then, otherwise] = array(value['Fn::If'], 'Fn::If');
    assert.deepEqual(then, { Ref: 'Topology' });
    assert.deepEqual(otherwise, { Ref: 'AWS::NoValue' });
    assert.deepEqual(conditions[String(condition)], { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Topology' }, ''] }] });
    // The balancer switch of a cluster pass is set from the template too, off unless asked.
    const allow = object(parameters.AllowBalancer, 'AllowBalancer');
    assert.equal(allow.Default, 'false');
    assert.deepEqual(allow.AllowedValues, ['true', 'false']);
    assert.deepEqual(variables[LAMBDA_ENV.allowBalancer], { Ref: 'AllowBalancer' });
  });

  test('client-side encryption is configured with public keys only, or a KMS key', () => {
    const variables = object(object(properties.Environment, 'Environment').Variables, 'Variables');
    assert.deepEqual(variables[ENV.encrypt], { 'Fn::If': ['HasEncryptKmsKey', { 'Fn::Sub': 'kms:${EncryptKmsKeyArn}' }, { Ref: 'EncryptTo' }] });
    assert.ok(!Object.keys(variables).includes(ENV.identity), 'the function is given no identity: it cannot decrypt');
  });
});

describe('infra/docker-compose.yml', () => {
  const compose = readYaml('docker-compose.yml');
  const services = object(compose.services, 'services');

  test('parses and names MinIO, its bucket init, three replica-set members and their init', () => {
    for (const service of ['minio', 'minio-init', 'mongo1', 'mongo2', 'mongo3', 'mongo-init']) {
      assert.ok(services[service], `service ${service}`);
    }
    const bucketInit = JSON.stringify(object(services['minio-init'], 'minio-init').command);
    assert.match(bucketInit, /mc mb/);
    const rsInit = JSON.stringify(object(services['mongo-init'], 'mongo-init').command);
    assert.match(rsInit, /rs\.initiate/);
    for (const member of ['mongo1', 'mongo2', 'mongo3']) {
      assert.match(rsInit, new RegExp(`${member}:270\\d\\d`));
      const settings = object(services[member], member);
      assert.match(JSON.stringify(settings.command), /--replSet/);
      assert.match(String(settings.image), /^mongo:/, 'merged from the shared member settings');
    }
  });

  test('publishes every port on loopback only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of (object(service, name).ports as Json[] | undefined) ?? []) {
        assert.match(String(port), /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${String(port)} on loopback`);
      }
    }
  });
});
