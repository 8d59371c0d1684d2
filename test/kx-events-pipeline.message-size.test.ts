import { pipelineStack } from './kx-events-pipeline.harness';
import { MAX_EVENT_BYTES as CONTRACT_MAX_EVENT_BYTES } from '../packages/kx-events-decorators/src/contract';
import { MAX_EVENT_BYTES } from '../src/private/message-size';

test('the queue accepts exactly the largest event the contract allows', () => {
  expect(MAX_EVENT_BYTES).toBe(CONTRACT_MAX_EVENT_BYTES);
  pipelineStack().template.hasResourceProperties('AWS::SQS::Queue', {
    MaximumMessageSize: CONTRACT_MAX_EVENT_BYTES,
    VisibilityTimeout: 300,
  });
});
