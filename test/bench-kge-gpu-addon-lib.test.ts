import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// bench/kge-gpu/addon-lib.sh decides on the GPU machine whether the addons carried from the dev machine are used or
// built there: a wrong "yes" measures stale code, a wrong "no" spends minutes of device time on nvcc.
const repo = path.resolve(__dirname, '..');
const nativeAddon = path.join(repo, 'native', 'build', 'Release', 'adkg_native.node');
// A copy of what the library reads (it runs in the repository root), so that the probes leave the real tree alone.
let root: string;

function lib(script: string): { status: number | null; out: string } {
  const r = spawnSync('bash', ['-c', `. bench/kge-gpu/addon-lib.sh; ${script}`], { cwd: root, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('bench/kge-gpu addon-lib.sh: prebuilt addons', () => {
  let device: string;
  let digest: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-repo-'));
    for (const p of ['bench/kge-gpu/addon-lib.sh', 'cuda/src', 'native/src', 'cuda/build.js'])
      fs.cpSync(path.join(repo, p), path.join(root, p), { recursive: true });
    const d = lib('prebuilt_digest');
    expect(d.status).toBe(0);
    digest = d.out.trim();
  });
  beforeEach(() => {
    device = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-device-'));
    fs.mkdirSync(path.join(device, 'prebuilt'));
  });
  afterEach(() => fs.rmSync(device, { recursive: true, force: true }));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('the digest covers the sources the addons are built from, and only those', () => {
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    const inRepo = spawnSync('bash', ['-c', '. bench/kge-gpu/addon-lib.sh; prebuilt_digest'], { cwd: repo, encoding: 'utf8' });
    expect(inRepo.stdout.trim()).toBe(digest);
    // A file more, an edited one, an edit to the build script each change it; a file elsewhere does not.
    const extra = path.join(root, 'cuda', 'src', 'probe.h');
    fs.writeFileSync(extra, '// probe\n');
    expect(lib('prebuilt_digest').out.trim()).not.toBe(digest);
    fs.rmSync(extra);
    expect(lib('prebuilt_digest').out.trim()).toBe(digest);
    const engine = path.join(root, 'native', 'src', 'engine.cc');
    const text = fs.readFileSync(engine, 'utf8');
    fs.writeFileSync(engine, `${text} `);
    expect(lib('prebuilt_digest').out.trim()).not.toBe(digest);
    fs.writeFileSync(engine, text);
    fs.appendFileSync(path.join(root, 'cuda', 'build.js'), '\n');
    expect(lib('prebuilt_digest').out.trim()).not.toBe(digest);
    fs.mkdirSync(path.join(root, 'docs'));
    fs.writeFileSync(path.join(root, 'docs', 'x.md'), 'x');
    fs.copyFileSync(path.join(repo, 'cuda', 'build.js'), path.join(root, 'cuda', 'build.js'));
    expect(lib('prebuilt_digest').out.trim()).toBe(digest);
  });

  test('missing or of other sources: not used, and the line says why', () => {
    let r = lib(`prebuilt_current ${device} adkg_native.node`);
    expect(r.status).toBe(1);
    expect(r.out).toContain('no prebuilt adkg_native.node');
    fs.writeFileSync(path.join(device, 'prebuilt', 'adkg_native.node'), 'x');
    fs.writeFileSync(path.join(device, 'prebuilt', 'SOURCES'), '0123456789abcdef\n');
    r = lib(`prebuilt_current ${device} adkg_native.node`);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`of other sources (0123456789abcdef, these are ${digest})`);
    fs.writeFileSync(path.join(device, 'prebuilt', 'SOURCES'), `${digest}\n`);
    expect(lib(`prebuilt_current ${device} adkg_native.node`).status).toBe(0);
  });

  test('a current addon that does not load is not installed', () => {
    fs.writeFileSync(path.join(device, 'prebuilt', 'adkg_native.node'), 'not a shared object');
    fs.writeFileSync(path.join(device, 'prebuilt', 'SOURCES'), `${digest}\n`);
    const dest = path.join(device, 'installed.node');
    const r = lib(`use_prebuilt_native_addon node ${device} ${dest}`);
    expect(r.status).toBe(1);
    expect(r.out).toContain('does not load: building here');
    expect(fs.existsSync(dest)).toBe(false);
  });

  (fs.existsSync(nativeAddon) ? test : test.skip)('a current native addon that loads is installed', () => {
    fs.copyFileSync(nativeAddon, path.join(device, 'prebuilt', 'adkg_native.node'));
    fs.writeFileSync(path.join(device, 'prebuilt', 'SOURCES'), `${digest}\n`);
    const dest = path.join(device, 'installed.node');
    const r = lib(`use_prebuilt_native_addon node ${device} ${dest}`);
    expect(r.out).toContain(`using the prebuilt native addon (${digest})`);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(dest).equals(fs.readFileSync(nativeAddon))).toBe(true);
  });

  test('a cuda addon of other sources is not installed over the built one', () => {
    fs.writeFileSync(path.join(device, 'prebuilt', 'adkg_cuda.node'), 'x');
    fs.writeFileSync(path.join(device, 'prebuilt', 'SOURCES'), 'ffffffffffffffff\n');
    const release = path.join(root, 'cuda', 'build', 'Release', 'adkg_cuda.node');
    const before = fs.existsSync(release) ? fs.readFileSync(release) : null;
    const r = lib(`use_prebuilt_cuda_addon node ${device}`);
    expect(r.status).toBe(1);
    expect(r.out).toContain('prebuilt adkg_cuda.node is of other sources');
    expect(fs.existsSync(release) ? fs.readFileSync(release) : null).toEqual(before);
  });
});
