/**
 * A warm Lambda container, on Node 24: it loads the bundled handler once (the
 * cold start), then runs each batch the runner sends over IPC, one at a time,
 * as the Node.js runtime of AWS Lambda does. A handler that throws fails its
 * invocation; an uncaught error or a crash ends the container, and the runner
 * starts a new one.
 *
 * Started by local/runner.ts as `node lambda-container.ts <bundle> <export>`.
 * Node runs it through type stripping, so it uses erasable TypeScript only.
 */
import { pathToFileURL } from 'url';

/** runner → container */
export interface InvokeRequest {
  readonly type: 'invoke';
  readonly requestId: string;
  readonly event: unknown;
  /** Epoch milliseconds at which the function times out. */
  readonly deadline: number;
}

/** container → runner */
export type ContainerReply =
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'init-error'; readonly error: InvocationError }
  | { readonly type: 'result'; readonly requestId: string; readonly result?: unknown; readonly error?: InvocationError; readonly handlerMs: number };

export interface InvocationError { readonly name: string; readonly message: string; readonly stack?: string }

type Handler = (event: unknown, context: object) => Promise<unknown>;

function reply(message: ContainerReply): void {
  process.send!(message);
}

function describeError(err: unknown): InvocationError {
  return err instanceof Error
    ? { name: err.name, message: err.message, stack: err.stack }
    : { name: 'Error', message: String(err) };
}

/** The context object of the Node.js runtime, for one invocation. */
function invocationContext(request: InvokeRequest): object {
  const env = process.env;
  const name = env.AWS_LAMBDA_FUNCTION_NAME ?? 'consumer';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: env.KX_LOCAL_FUNCTION_ARN ?? '',
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    awsRequestId: request.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${name}`,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    getRemainingTimeInMillis: () => Math.max(0, request.deadline - Date.now()),
  };
}

async function loadHandler(bundle: string, exportName: string): Promise<Handler> {
  const module = await import(pathToFileURL(bundle).href);
  const handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== 'function') {
    const exported = Object.keys(module.default ?? module).join(', ') || 'nothing';
    throw new TypeError(`${bundle} does not export a function named "${exportName}"; it exports: ${exported}`);
  }
  return handler;
}

async function main(bundle: string, exportName: string): Promise<void> {
  const started = performance.now();
  let handler: Handler;
  try {
    handler = await loadHandler(bundle, exportName);
  } catch (err) {
    reply({ type: 'init-error', error: describeError(err) });
    process.disconnect();
    process.exitCode = 1;
    return;
  }
  process.on('message', (request: InvokeRequest) => {
    const begin = performance.now();
    Promise.resolve()
      .then(() => handler(request.event, invocationContext(request)))
      .then(
        (result) => reply({ type: 'result', requestId: request.requestId, result, handlerMs: performance.now() - begin }),
        (err) => reply({ type: 'result', requestId: request.requestId, error: describeError(err), handlerMs: performance.now() - begin }),
      );
  });
  // The runner ends the container by closing the channel, as Lambda ends an idle one.
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready', initMs: performance.now() - started });
}

if (process.send && process.argv[2]) {
  void main(process.argv[2], process.argv[3] ?? 'handler');
} else {
  process.stderr.write('usage: node lambda-container.ts <bundle> [export], started with an IPC channel\n');
  process.exitCode = 2;
}
