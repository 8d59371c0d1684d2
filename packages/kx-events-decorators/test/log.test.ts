/** The one log writer and error describer, shared by this package and the kx-events Lambda handlers. */
import { runInNewContext } from 'vm';
import { describeError, writeRecord } from '../src/log';

function written(write: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => { lines.push(String(chunk)); return true; });
  try {
    write();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('writeRecord', () => {
  test('one JSON line: timestamp, level, then the record, in that order', () => {
    const [line] = written(() => writeRecord('INFO', { message: 'batch', received: 3 }));
    expect(line.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(line))).toEqual(['timestamp', 'level', 'message', 'received']);
  });

  test('a value JSON cannot write throws, and nothing is written', () => {
    expect(written(() => expect(() => writeRecord('ERROR', { n: BigInt(1) })).toThrow(TypeError))).toEqual([]);
  });
});

describe('describeError', () => {
  test('name, code, message and data: what both the producer and the consumer log', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', data: { port: 5432 } });
    expect(JSON.parse(JSON.stringify(describeError(err)))).toEqual({ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432', data: { port: 5432 } });
  });

  test('without its message, for an error whose message can quote a row', () => {
    const err = Object.assign(new Error('value "secret" is too long'), { code: '22001' });
    expect(JSON.parse(JSON.stringify(describeError(err, false)))).toEqual({ name: 'Error', code: '22001' });
  });

  test('an error of another realm (a socket error seen from a VM context): still its name and code', () => {
    const err = runInNewContext("Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })") as unknown;
    expect(err instanceof Error).toBe(false);
    expect(JSON.parse(JSON.stringify(describeError(err)))).toEqual({ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' });
  });

  test('a thrown value that is not an Error', () => {
    expect(JSON.parse(JSON.stringify(describeError('boom')))).toEqual({ name: 'string', message: 'boom' });
  });
});
