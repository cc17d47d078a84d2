'use strict';
/*
 * The jest-worker column of the procpool benchmark: runs one peer workload of issue 15 on jest-worker
 * (child processes, its default) and prints one JSON line on stdout. BenchmarkHarness installs
 * jest-worker with npm into a temporary folder, copies this file and jest_worker_tasks.js beside it,
 * and runs
 *
 *   node jest_worker_driver.js '{"workload":"W1","warmup":30000,"n":50000,"payload":"…",…}'
 *
 * once per workload and round. The output is {"system", "version", "runtime", "figures": {…},
 * "statuses": {figure: why it has no value}, "processes": [[pid, start time in clock ticks], …]}, or
 * {"error": …} with exit status 1. Figures have the same names and units as the harness's:
 *   W1  p50, p99 (µs), hostCpu, workerCpu (µs per task)
 *   W2  rate (tasks/s), hostCpu, workerCpu (µs per task)
 *   W3  cost (ms, one task in this process, median), total, ideal (s), overIdeal
 *   W4  first (ms, median of the starts)
 *   W5  nospare.median, nospare.max (ms), nospare.hung (kills never answered), nospare.attempts (submissions
 *       of the task until one was answered)
 */
const fs = require('fs');
const path = require('path');
const { Worker } = require('jest-worker');
const tasks = require('./jest_worker_tasks.js');

const TASKS = path.join(__dirname, 'jest_worker_tasks.js');
const VERSION = require('jest-worker/package.json').version;
const processes = new Map(); // pid -> start ticks: every worker seen, for the harness's leftover check

function newPool(workers) {
  const pool = new Worker(TASKS, {
    numWorkers: workers,
    exposedMethods: ['echo', 'sha64k', 'pid'],
    enableWorkerThreads: false,
  });
  workerPids(pool); // records them
  return pool;
}

/** The pids of a pool's child processes (jest-worker 29 and later expose them per worker). */
function workerPids(pool) {
  const workers = pool._workerPool && pool._workerPool.getWorkers ? pool._workerPool.getWorkers() : [];
  const pids = workers.map((w) => (w.getWorkerSystemId ? w.getWorkerSystemId() : undefined))
    .filter((pid) => Number.isInteger(pid));
  for (const pid of pids) {
    if (!processes.has(pid)) {
      processes.set(pid, startTicks(pid));
    }
  }
  return pids;
}

async function end(pool) {
  workerPids(pool);
  await withTimeout(pool.end(), 10000);
}

// ---------------------------------------------------------------- /proc

function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  } catch (e) {
    return null;
  }
}

function startTicks(pid) {
  const f = statFields(pid);
  return f ? Number(f[19]) : -1;
}

/** False once the process is gone, a zombie, or its pid is another process's. */
function alive(pid, start) {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X' && Number(f[19]) === start;
}

function cpuTicks(pids) {
  let sum = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f === null) {
      return NaN;
    }
    sum += Number(f[11]) + Number(f[12]);
  }
  return sum;
}

/** Every live descendant of this process, found through the parent pids in /proc. */
function descendants() {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(name)) {
      const f = statFields(name);
      if (f !== null) {
        const ppid = Number(f[1]);
        if (!children.has(ppid)) {
          children.set(ppid, []);
        }
        children.get(ppid).push(Number(name));
      }
    }
  }
  const found = [];
  const todo = [process.pid];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop()) || []) {
      found.push(child);
      todo.push(child);
    }
  }
  return found;
}

// ---------------------------------------------------------------- helpers

const now = () => process.hrtime.bigint();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const TIMEOUT = Symbol('timeout');

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => { timer = setTimeout(() => resolve(TIMEOUT), ms); })])
    .finally(() => clearTimeout(timer));
}

/** Nearest-rank percentile of sorted values, as the harness computes it. */
function percentile(sorted, p) {
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function check(condition, problem) {
  if (!condition) {
    throw new Error(problem);
  }
}

function hostCpuMicros() {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

// ---------------------------------------------------------------- the workloads

async function w1(p) {
  const pool = newPool(1);
  try {
    for (let i = 0; i < p.warmup; i++) {
      await pool.echo(p.payload);
    }
    const pids = workerPids(pool);
    const host0 = hostCpuMicros();
    const worker0 = cpuTicks(pids);
    const latencies = new Float64Array(p.n);
    let last;
    for (let i = 0; i < p.n; i++) {
      const t0 = now();
      last = await pool.echo(p.payload);
      latencies[i] = Number(now() - t0);
    }
    const host = hostCpuMicros() - host0;
    const worker = (cpuTicks(pids) - worker0) * 1e6 / p.clockTicks;
    check(last === p.payload, 'the echo came back changed');
    latencies.sort();
    return {
      p50: percentile(latencies, 0.5) / 1e3, p99: percentile(latencies, 0.99) / 1e3,
      hostCpu: host / p.n, workerCpu: worker / p.n,
    };
  } finally {
    await end(pool);
  }
}

async function batch(pool, method, arg, n) {
  const pending = new Array(n);
  for (let i = 0; i < n; i++) {
    pending[i] = pool[method](arg);
  }
  return Promise.all(pending);
}

async function w2(p) {
  const pool = newPool(2);
  try {
    await batch(pool, 'echo', p.payload, p.warmup);
    const pids = workerPids(pool);
    const host0 = hostCpuMicros();
    const worker0 = cpuTicks(pids);
    const t0 = now();
    const results = await batch(pool, 'echo', p.payload, p.n);
    const elapsed = Number(now() - t0);
    const host = hostCpuMicros() - host0;
    const worker = (cpuTicks(pids) - worker0) * 1e6 / p.clockTicks;
    check(results[p.n - 1] === p.payload, 'the echo came back changed');
    return { rate: p.n / (elapsed / 1e9), hostCpu: host / p.n, workerCpu: worker / p.n };
  } finally {
    await end(pool);
  }
}

async function w3(p) {
  // the cost of one task in this process, once the hash is warm
  const until = now() + BigInt(p.costWarmupMillis) * 1000000n;
  while (now() < until) {
    tasks.sha64k(p.shaRounds);
  }
  const costs = [];
  for (let i = 0; i < p.costSamples; i++) {
    const t0 = now();
    tasks.sha64k(p.shaRounds);
    costs.push(Number(now() - t0));
  }
  const cost = median(costs);
  const expected = tasks.sha64k(p.shaRounds);
  check(expected === p.expectedDigest, `this process computed another digest: ${expected}`);
  const pool = newPool(2);
  try {
    await batch(pool, 'sha64k', p.shaRounds, p.warmup);
    const t0 = now();
    const results = await batch(pool, 'sha64k', p.shaRounds, p.n);
    const total = Number(now() - t0);
    check(results.every((d) => d === expected), 'a worker computed another digest');
    const ideal = p.n * cost / 2;
    return { cost: cost / 1e6, total: total / 1e9, ideal: ideal / 1e9, overIdeal: total / ideal };
  } finally {
    await end(pool);
  }
}

async function w4(p) {
  const times = [];
  for (let i = 0; i < p.starts; i++) {
    const t0 = now();
    const pool = newPool(2);
    const answer = await pool.echo(p.payload);
    times.push(Number(now() - t0) / 1e6);
    check(answer === p.payload, 'the echo came back changed');
    await end(pool);
  }
  return { first: median(times) };
}

async function w5(p, statuses) {
  const times = [];
  const attempts = [];
  let hung = 0;
  for (let i = 0; i < p.kills; i++) {
    const pool = newPool(1);
    try {
      await batch(pool, 'echo', p.payload, 200);
      await sleep(100); // idle
      const victim = await pool.pid();
      const start = startTicks(victim);
      const t0 = now();
      process.kill(victim, 'SIGKILL');
      while (alive(victim, start)) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      // A task that reaches the dead child before jest-worker has seen it die is rejected ("terminated by
      // another process"): submit it again at once, as a caller would, until an answer or the hang bound.
      const deadline = t0 + BigInt(p.hangMillis) * 1000000n;
      let answer = TIMEOUT;
      let submissions = 0;
      while (answer === TIMEOUT && now() < deadline) {
        submissions++;
        try {
          answer = await withTimeout(pool.pid(), Number(deadline - now()) / 1e6);
        } catch (error) {
          answer = TIMEOUT;
        }
      }
      if (answer === TIMEOUT) {
        hung++;
      } else {
        check(answer !== victim, 'the task was answered by the killed worker');
        times.push(Number(now() - t0) / 1e6);
        attempts.push(submissions);
        processes.set(answer, startTicks(answer));
      }
    } finally {
      await end(pool);
    }
  }
  const figures = { 'nospare.hung': hung };
  if (times.length > 0) {
    figures['nospare.median'] = median(times);
    figures['nospare.max'] = Math.max(...times);
    figures['nospare.attempts'] = median(attempts);
  } else {
    statuses['nospare.median'] = statuses['nospare.max'] =
      `hung: no answer within ${p.hangMillis} ms after any of ${p.kills} kills`;
  }
  statuses['spare.median'] = statuses['spare.max'] = statuses['spare.hung'] = 'cannot: jest-worker has no hot spares';
  return figures;
}

// ---------------------------------------------------------------- main

async function main() {
  const p = JSON.parse(process.argv[2]);
  const statuses = {};
  const run = { W1: w1, W2: w2, W3: w3, W4: w4, W5: w5 }[p.workload];
  check(run !== undefined, `unknown workload ${p.workload}`);
  const figures = await run(p, statuses);
  for (const pid of descendants()) {
    processes.set(pid, startTicks(pid));
  }
  return {
    system: 'jest-worker', version: VERSION, runtime: `node ${process.version}`, figures, statuses,
    processes: [...processes.entries()],
  };
}

main().then(
  (result) => {
    fs.writeSync(1, JSON.stringify(result) + '\n');
    process.exit(0); // a pool whose worker was killed may hold the event loop open
  },
  (error) => {
    fs.writeSync(1, JSON.stringify({ error: String(error && error.stack || error),
      processes: [...processes.entries()] }) + '\n');
    process.exit(1);
  });
