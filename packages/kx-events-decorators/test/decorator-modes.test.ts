import * as path from 'path';
import * as ts from 'typescript';
import { compileInMode, DECORATOR_MODES } from './compile-in-mode';

const FIXTURE = path.join(__dirname, 'fixtures', 'decorated-handlers.ts');

describe.each(DECORATOR_MODES)('@EventTracking with %s decorators', (mode) => {
  const compilation = compileInMode(mode, [FIXTURE]);
  afterAll(() => compilation.dispose());

  test('the fixture compiles without a diagnostic', () => {
    expect(compilation.diagnostics).toEqual([]);
  });

  test(`the fixture is compiled with ${mode} decorators`, () => {
    const [used, other] = mode === 'legacy' ? ['__decorate(', '__esDecorate('] : ['__esDecorate(', '__decorate('];
    expect(compilation.emitted(FIXTURE)).toContain(used);
    expect(compilation.emitted(FIXTURE)).not.toContain(other);
  });

  test('decorated methods keep `this` and their results, publish on success only, and propagate errors', async () => {
    type Outcome = { placed: unknown; declined: unknown; counted: unknown; events: Array<Record<string, unknown>> };
    const outcome = await compilation.run(FIXTURE) as Outcome;
    expect(outcome.placed).toEqual({ orderId: 'order-sku-1' });
    expect(outcome.declined).toBe('card declined');
    expect(outcome.counted).toBe(7);
    expect(outcome.events).toEqual([
      expect.objectContaining({ clientId: 'acme', entityType: 'order', eventType: 'order_placed', entityId: 'order-sku-1', source: 'fixture' }),
      expect.objectContaining({ clientId: 'acme', entityType: 'order', eventType: 'order_counted', pointsAwarded: 5 }),
    ]);
  });
});

test('TypeScript compiles the two modes differently', () => {
  // A guard on the tests above: legacy output calls __decorate, standard output calls __esDecorate,
  // so the helper in compileInMode's output tells which mode it compiled in.
  const emitted = DECORATOR_MODES.map((mode) => ts.transpileModule('function d(...a: any[]) { return a[0]; }\nclass C { @d m() {} }', {
    compilerOptions: { experimentalDecorators: mode === 'legacy', target: ts.ScriptTarget.ES2022 },
  }).outputText);
  expect(emitted[0]).toContain('__decorate');
  expect(emitted[1]).toContain('__esDecorate');
});
