#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript in dist/ (`npm run build`).
let main;
try {
  main = require('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]main/.test(String(err.message))) {
    console.error('adkg: not built yet; run `npm run build` (or `npm install`) in ' + require('path').resolve(__dirname, '..'));
    process.exit(2);
  }
  throw err;
}
main.run(process.argv).catch((e) => {
  console.error(`adkg: ${e && e.message ? e.message : e}`);
  process.exit(typeof e?.exitCode === 'number' ? e.exitCode : 1);
});
