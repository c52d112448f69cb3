/**
 * Without the addon: the native backend says why and what to run, the js backend still works, and the
 * install-time build (`--optional`) never fails the install while `npm run build:native` does fail.
 */
import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BackendFactory, BackendInit } from '../src/kge/backends/backend';
import { allocateTables, createOptimizerState, initializeTables } from '../src/kge/model';

const root = path.resolve(__dirname, '..');

function smallInit(): BackendInit {
  const tables = allocateTables({ model: 'transe', numEntities: 10, numRelations: 2, dim: 8 });
  initializeTables(tables, 1, 0.5);
  return {
    tables,
    optimizer: createOptimizerState(tables, 'adagrad', 'adagrad'),
    config: {
      loss: 'softplus', margin: 3, adversarialTemperature: 0, norm: 'l2', negatives: 4, sampling: 'independent', chunkSize: 4, corruption: 'uniform',
      entityOptimizer: 'adagrad', relationOptimizer: 'adagrad', lr: 0.1, relationLr: 0.1, constraint: 'none', learnAnchorWeights: false, seed: 1, threads: 1,
    },
    sampling: { headProb: new Float64Array(2).fill(0.5), entityType: new Int32Array(10), typeOffsets: Int32Array.from([0, 10]), typeMembers: Int32Array.from({ length: 10 }, (_, i) => i) },
  };
}

describe('native backend without its addon', () => {
  const saved = process.env.ADKG_NATIVE_ADDON;
  afterEach(() => {
    if (saved === undefined) delete process.env.ADKG_NATIVE_ADDON;
    else process.env.ADKG_NATIVE_ADDON = saved;
  });

  test('available() and create() say why and what to run; js still trains', async () => {
    process.env.ADKG_NATIVE_ADDON = path.join(os.tmpdir(), 'no-such-dir', 'adkg_native.node');
    let native!: BackendFactory;
    let registry!: typeof import('../src/kge/backends/registry');
    jest.isolateModules(() => {
      native = (require('../src/kge/backends/native') as typeof import('../src/kge/backends/native')).nativeBackendFactory;
      registry = require('../src/kge/backends/registry');
    });
    const a = native.available();
    expect(a.ok).toBe(false);
    const reason = (a as { reason: string }).reason;
    expect(reason).toMatch(/^native backend unavailable: .*no-such-dir.*is not built; run npm run build:native$/);
    expect(() => native.create(smallInit())).toThrow(reason);
    expect(() => registry.createBackend('native', smallInit())).toThrow(/native backend unavailable/);
    const js = registry.createBackend('js', smallInit());
    const loss = await js.trainBatch({ heads: Int32Array.from([0, 1]), relations: Int32Array.from([0, 1]), tails: Int32Array.from([2, 3]), epoch: 0, offset: 0, step: 1 });
    expect(loss).toBeGreaterThan(0);
  });

  test('a file that is not an addon is reported as not loading', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'adkg-bogus-addon-'));
    const bogus = path.join(dir, 'adkg_native.node');
    writeFileSync(bogus, 'not a shared object');
    process.env.ADKG_NATIVE_ADDON = bogus;
    let native!: BackendFactory;
    jest.isolateModules(() => {
      native = (require('../src/kge/backends/native') as typeof import('../src/kge/backends/native')).nativeBackendFactory;
    });
    const a = native.available();
    expect(a.ok).toBe(false);
    expect((a as { reason: string }).reason).toMatch(/^native backend unavailable: .*adkg_native\.node does not load \(.+\); run npm run build:native$/);
    rmSync(dir, { recursive: true, force: true });
  });

  test('build-native: --optional reports a failed build and exits 0; without it exits 1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'adkg-native-copy-'));
    try {
      cpSync(path.join(root, 'native', 'src'), path.join(dir, 'src'), { recursive: true });
      cpSync(path.join(root, 'native', 'binding.gyp'), path.join(dir, 'binding.gyp'));
      // No compiler, make or python on PATH: the build must fail.
      const env = { ...process.env, ADKG_NATIVE_DIR: dir, PATH: path.join(dir, 'empty-bin') };
      const optional = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.js'), '--optional'], { env, encoding: 'utf8' });
      expect(optional.status).toBe(0);
      expect(optional.stderr).toMatch(/native KGE backend not built \(.+\)/);
      expect(optional.stderr).toMatch(/js backend still works; run `npm run build:native`/);
      const strict = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.js')], { env, encoding: 'utf8' });
      expect(strict.status).toBe(1);
      expect(strict.stderr).toMatch(/native KGE backend build failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
