'use strict';
/** The JVM options of tools/neo4j/jvm.options with a heap of `heap` (-Xms = -Xmx), for servers started from Node. */
const fs = require('fs');
const path = require('path');

function jvmOptions(heap) {
  const lines = fs.readFileSync(path.join(__dirname, 'jvm.options'), 'utf8').split('\n');
  const opts = lines.map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  return [`-Xms${heap}`, `-Xmx${heap}`, ...opts];
}

module.exports = { jvmOptions };
