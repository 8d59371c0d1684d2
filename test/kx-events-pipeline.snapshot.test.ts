import { pipelineScenarios, pipelineStack } from './kx-events-pipeline.harness';
import { assetHashSerializer } from './setup/snapshot-serializer';

expect.addSnapshotSerializer(assetHashSerializer);

describe('KxEventsPipeline snapshots', () => {
  test.each([
    ['defaults', pipelineScenarios.defaults],
    ['its own VPC and key', pipelineScenarios.ownVpcAndKey],
    ['high throughput: batches of 1000, a window, 20 at once', pipelineScenarios.highThroughput],
    ['Aurora Serverless v2 with a reader, behind an RDS Proxy', pipelineScenarios.auroraWithProxy],
    ['a new VPC without NAT, with interface endpoints', pipelineScenarios.noNat],
    ['an existing instance behind an RDS Proxy', pipelineScenarios.existingInstanceWithProxy],
    ['an existing cluster in a VPC of isolated subnets only', pipelineScenarios.existingClusterIsolated],
  ])('%s', (_name, props) => {
    expect(pipelineStack(props).template.toJSON()).toMatchSnapshot();
  });

  test('asset hashes are stripped', () => {
    const json = JSON.stringify(pipelineStack().template.toJSON());
    expect(json).toMatch(/[0-9a-f]{64}/);
    expect(assetHashSerializer.test(json)).toBe(true);
    expect(assetHashSerializer.test('no hash here')).toBe(false);
    // The serializer hands the replaced string on to the printer: an identity printer shows what it hands on.
    const { serialize } = assetHashSerializer as Extract<jest.SnapshotSerializerPlugin, { serialize: unknown }>;
    const serialized = serialize(json, {} as never, '', 0, [], value => String(value));
    expect(serialized).not.toMatch(/[0-9a-f]{64}/);
    expect(serialized).toContain('[ASSET HASH]');
  });
});
