/**
 * A Jest snapshot serializer that replaces asset hashes (64 hex digits) in strings, so that a snapshot
 * of a template does not change when the code of a bundled function does.
 */
const ASSET_HASH = /[0-9a-f]{64}/;
const EVERY_ASSET_HASH = new RegExp(ASSET_HASH.source, 'g');

export const assetHashSerializer: jest.SnapshotSerializerPlugin = {
  test: value => typeof value === 'string' && ASSET_HASH.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(EVERY_ASSET_HASH, '[ASSET HASH]'), config, indentation, depth, refs),
};
