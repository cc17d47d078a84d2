'use strict';
/*
 * The tasks of the procpool benchmark for jest-worker: the module every jest-worker child loads.
 * The same tasks as the Java and Python workers of the benchmark:
 *   echo(x)    returns x
 *   sha64k(n)  SHA-256 over a 64 KiB buffer n times (byte i = (31 i + 7) mod 256); the last digest as hex
 *   pid()      the worker's process id
 */
const crypto = require('crypto');

const BUFFER = Buffer.alloc(64 * 1024);
for (let i = 0; i < BUFFER.length; i++) {
  BUFFER[i] = (31 * i + 7) & 0xff;
}

function echo(x) {
  return x;
}

function sha64k(n) {
  let digest = null;
  for (let i = 0; i < n; i++) {
    digest = crypto.createHash('sha256').update(BUFFER).digest();
  }
  return digest.toString('hex');
}

function pid() {
  return process.pid;
}

module.exports = { echo, sha64k, pid };
