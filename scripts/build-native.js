#!/usr/bin/env node
/**
 * Builds the native KGE backend (native/binding.gyp, an N-API addon) with node-gyp.
 *
 *   node scripts/build-native.js             build; exit 1 with the reason when it fails (`npm run build:native`)
 *   node scripts/build-native.js --optional  the same, but a failure only prints why and exits 0
 *                                            (package.json's postinstall: the js backend works without it)
 *
 * Node's own headers are used when they sit beside the node binary (<prefix>/include/node); otherwise the
 * build goes against the npm package node-api-headers, since the addon uses only Node-API and node-gyp
 * would else try to download headers from the internet.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const optional = process.argv.includes('--optional');
const root = path.resolve(__dirname, '..');
// ADKG_NATIVE_DIR builds a copy of native/ elsewhere (tests use it to exercise failures without touching the real build).
const nativeDir = process.env.ADKG_NATIVE_DIR ? path.resolve(process.env.ADKG_NATIVE_DIR) : path.join(root, 'native');
const addonPath = path.join(nativeDir, 'build', 'Release', 'adkg_native.node');

function fail(why) {
  if (optional) {
    console.warn(`adkg: native KGE backend not built (${why}).`);
    console.warn('adkg: the js backend still works; run `npm run build:native` to retry and see the full error.');
    process.exit(0);
  }
  console.error(`adkg: native KGE backend build failed: ${why}`);
  process.exit(1);
}

/** A --nodedir for node-gyp that needs no download, or null when none can be made. */
function findNodeDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  // ADKG_NATIVE_HEADERS=node-api-headers skips Node's own headers (to test the path the GPU machine takes).
  if (process.env.ADKG_NATIVE_HEADERS !== 'node-api-headers' && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    return prefix;
  }
  let headersDir;
  try {
    headersDir = path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] }));
  } catch {
    return null;
  }
  // Lay out what node-gyp expects of a nodedir: include/node/{node_api.h,...,common.gypi,config.gypi}.
  const stub = path.join(root, 'node_modules', '.cache', 'adkg-nodedir'); // ignored by git, survives node-gyp rebuild
  const inc = path.join(stub, 'include', 'node');
  fs.mkdirSync(inc, { recursive: true });
  for (const f of fs.readdirSync(path.join(headersDir, 'include'))) {
    fs.copyFileSync(path.join(headersDir, 'include', f), path.join(inc, f));
  }
  // A minimal common.gypi: gyp needs the Release configuration to exist for targets' flags to apply.
  fs.writeFileSync(
    path.join(inc, 'common.gypi'),
    "{ 'variables': { 'node_module_version%': '' },\n" +
      "  'target_defaults': { 'default_configuration': 'Release', 'cflags': ['-fPIC', '-pthread'],\n" +
      "    'configurations': { 'Release': { 'cflags': ['-O3'] }, 'Debug': { 'cflags': ['-g', '-O0'] } } } }\n",
  );
  fs.writeFileSync(path.join(inc, 'config.gypi'), "{ 'variables': {} }\n");
  return stub;
}

function main() {
  if (!fs.existsSync(path.join(nativeDir, 'binding.gyp'))) fail('native/binding.gyp is missing');
  let nodeGyp;
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    return fail('node-gyp is not installed (it is a devDependency: run npm install without --omit=dev)');
  }
  const nodeDir = findNodeDir();
  if (!nodeDir) return fail('no Node headers: neither <prefix>/include/node nor the node-api-headers package was found');
  const jobs = String(Math.max(1, Math.min(4, require('os').availableParallelism?.() ?? 2)));
  const args = [nodeGyp, 'rebuild', '--directory', nativeDir, `--nodedir=${nodeDir}`, '--jobs', jobs];
  console.error(`adkg: building the native KGE backend (node-gyp, headers from ${nodeDir})`);
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: optional ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (res.error) return fail(`could not run node-gyp: ${res.error.message}`);
  if (res.status !== 0) {
    const tail = optional ? `\n${String(res.stderr || '').split('\n').slice(-15).join('\n')}` : '';
    return fail(`node-gyp exited with status ${res.status} (a C++17 compiler, make and python3 are needed)${tail}`);
  }
  // Load it once so a broken binary is reported here, not at first use.
  try {
    const addon = require(addonPath);
    console.error(`adkg: native KGE backend built: ${addonPath} (${addon.info().isa})`);
  } catch (e) {
    return fail(`the built addon does not load: ${e.message}`);
  }
}

main();
