#!/usr/bin/env node
// The ingest CSV reader's throughput: `node bench/csv-reader.js [READERS_JS ...]` writes a 1M-row CSV of onsite clicks
// (/tmp/adkg-bench-1m.csv) once, then reads it three times with each readers.js given (default: this build's
// dist/graph/ingest/readers.js; pass an older build's as well to compare in the same run). Results: docs/benchmarks.md.
'use strict';
const fs = require('fs');
const path = require('path');
const file = '/tmp/adkg-bench-1m.csv';
const mods = process.argv.slice(2);
if (mods.length === 0) mods.push(path.join(__dirname, '..', 'dist', 'graph', 'ingest', 'readers.js'));
if (!fs.existsSync(file)) {
  const lines = ['kind,eventId,ts,userId,pinId,advertiserId,action'];
  for (let i = 0; i < 1_000_000; i++) lines.push(`onsite,e${i},2026-01-02T00:00:00Z,u${i % 5000},p${i % 700},a${i % 40},click`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}
(async () => {
  for (const mod of mods) {
    const { readRecords } = require(path.resolve(mod));
    for (let rep = 0; rep < 3; rep++) {
      const t0 = process.hrtime.bigint();
      let records = 0;
      for await (const r of readRecords(file, { bytesRead: 0 })) if ('value' in r) records++;
      console.log(`${mod}: ${records} records in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s`);
    }
  }
})();
