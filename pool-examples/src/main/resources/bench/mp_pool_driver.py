"""The Python column of the procpool benchmark: one peer workload of issue 15 on multiprocessing.Pool.

BenchmarkHarness copies this file into a temporary folder and runs

    python3 mp_pool_driver.py '{"workload": "W1", "warmup": 30000, "n": 50000, "payload": "...", ...}'

once per workload and round, with the platform's default start method. It prints one JSON line on stdout:
{"system", "version", "runtime", "figures": {...}, "statuses": {figure: why it has no value},
"processes": [[pid, start time in clock ticks], ...]}, or {"error": ...} with exit status 1. Figures have the
same names and units as the harness's:

    W1  p50, p99 (us), hostCpu, workerCpu (us per task)
    W2  rate (tasks/s), hostCpu, workerCpu (us per task)
    W3  cost (ms, one task in this process, median), total, ideal (s), overIdeal
    W4  first (ms, median of the starts)
    W5  nospare.median, nospare.max (ms), nospare.hung (kills never answered)

Standard library only. A pool whose idle worker is killed can hang for good (the worker dies holding the lock
of the task queue); such a pool is abandoned and its processes are killed, and the driver ends with os._exit,
since multiprocessing's exit handlers would wait on that lock too.
"""
import hashlib
import json
import math
import multiprocessing
import multiprocessing.pool
import os
import platform
import signal
import statistics
import sys
import time

BUFFER = bytes((31 * i + 7) & 0xFF for i in range(64 * 1024))


def echo(x):
    return x


def sha64k(n):
    digest = None
    for _ in range(n):
        digest = hashlib.sha256(BUFFER).digest()
    return digest.hex()


def pid(_=None):
    return os.getpid()


# ------------------------------------------------------------------ /proc

PROCESSES = {}  # pid -> start ticks: every worker seen, for the harness's leftover check


def stat_fields(p):
    try:
        with open(f"/proc/{p}/stat", "rb") as f:
            stat = f.read().decode("latin-1")
        return stat[stat.rindex(")") + 2:].split()
    except (OSError, ValueError):
        return None


def start_ticks(p):
    f = stat_fields(p)
    return int(f[19]) if f else -1


def alive(p, start):
    """False once the process is gone, a zombie, or its pid is another process's."""
    f = stat_fields(p)
    return f is not None and f[0] not in ("Z", "X") and int(f[19]) == start


def cpu_ticks(pids):
    total = 0
    for p in pids:
        f = stat_fields(p)
        if f is None:
            return float("nan")
        total += int(f[11]) + int(f[12])
    return total


def descendants():
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            f = stat_fields(name)
            if f is not None:
                children.setdefault(int(f[1]), []).append(int(name))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def worker_pids(pool):
    pids = [w.pid for w in pool._pool if w.pid is not None]  # the pool's processes; no public accessor
    for p in pids:
        PROCESSES.setdefault(p, start_ticks(p))
    return pids


def new_pool(workers):
    pool = multiprocessing.Pool(workers)
    worker_pids(pool)
    return pool


def end(pool):
    worker_pids(pool)
    pool.terminate()
    pool.join()


def abandon(pool):
    """Kills a pool that may hang: stop its maintenance (so it starts no more workers), then its processes."""
    pool._worker_handler._state = multiprocessing.pool.TERMINATE
    time.sleep(0.3)  # the maintenance thread looks at its state every 0.1 s
    for p in worker_pids(pool):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


# ------------------------------------------------------------------ the workloads

def percentile(values, p):
    """Nearest-rank percentile of sorted values, as the harness computes it."""
    rank = math.ceil(p * len(values))
    return values[min(len(values) - 1, max(0, rank - 1))]


def check(condition, problem):
    if not condition:
        raise RuntimeError(problem)


def w1(p, statuses):
    pool = new_pool(1)
    try:
        for _ in range(p["warmup"]):
            pool.apply(echo, (p["payload"],))
        pids = worker_pids(pool)
        host0, worker0 = time.process_time_ns(), cpu_ticks(pids)
        latencies = []
        last = None
        for _ in range(p["n"]):
            t0 = time.perf_counter_ns()
            last = pool.apply(echo, (p["payload"],))
            latencies.append(time.perf_counter_ns() - t0)
        host = time.process_time_ns() - host0
        worker = (cpu_ticks(pids) - worker0) * 1e6 / p["clockTicks"]
        check(last == p["payload"], "the echo came back changed")
        latencies.sort()
        return {"p50": percentile(latencies, 0.5) / 1e3, "p99": percentile(latencies, 0.99) / 1e3,
                "hostCpu": host / 1e3 / p["n"], "workerCpu": worker / p["n"]}
    finally:
        end(pool)


def batch(pool, fn, arg, n):
    pending = [pool.apply_async(fn, (arg,)) for _ in range(n)]
    return [r.get() for r in pending]


def w2(p, statuses):
    pool = new_pool(2)
    try:
        batch(pool, echo, p["payload"], p["warmup"])
        pids = worker_pids(pool)
        host0, worker0 = time.process_time_ns(), cpu_ticks(pids)
        t0 = time.perf_counter_ns()
        results = batch(pool, echo, p["payload"], p["n"])
        elapsed = time.perf_counter_ns() - t0
        host = time.process_time_ns() - host0
        worker = (cpu_ticks(pids) - worker0) * 1e6 / p["clockTicks"]
        check(results[-1] == p["payload"], "the echo came back changed")
        return {"rate": p["n"] / (elapsed / 1e9), "hostCpu": host / 1e3 / p["n"], "workerCpu": worker / p["n"]}
    finally:
        end(pool)


def w3(p, statuses):
    rounds = p["shaRounds"]
    until = time.perf_counter_ns() + p["costWarmupMillis"] * 1000000
    while time.perf_counter_ns() < until:
        sha64k(rounds)
    costs = []
    for _ in range(p["costSamples"]):
        t0 = time.perf_counter_ns()
        sha64k(rounds)
        costs.append(time.perf_counter_ns() - t0)
    cost = statistics.median(costs)
    expected = sha64k(rounds)
    check(expected == p["expectedDigest"], "this process computed another digest: " + expected)
    pool = new_pool(2)
    try:
        batch(pool, sha64k, rounds, p["warmup"])
        t0 = time.perf_counter_ns()
        results = batch(pool, sha64k, rounds, p["n"])
        total = time.perf_counter_ns() - t0
        check(all(d == expected for d in results), "a worker computed another digest")
        ideal = p["n"] * cost / 2
        return {"cost": cost / 1e6, "total": total / 1e9, "ideal": ideal / 1e9, "overIdeal": total / ideal}
    finally:
        end(pool)


def w4(p, statuses):
    times = []
    for _ in range(p["starts"]):
        t0 = time.perf_counter_ns()
        pool = new_pool(2)
        answer = pool.apply(echo, (p["payload"],))
        times.append((time.perf_counter_ns() - t0) / 1e6)
        check(answer == p["payload"], "the echo came back changed")
        end(pool)
    return {"first": statistics.median(times)}


def w5(p, statuses):
    times, hung = [], 0
    for _ in range(p["kills"]):
        pool = new_pool(1)
        batch(pool, echo, p["payload"], 200)
        time.sleep(0.1)  # idle
        victim = pool.apply(pid)
        start = start_ticks(victim)
        t0 = time.perf_counter_ns()
        os.kill(victim, signal.SIGKILL)
        while alive(victim, start):
            time.sleep(0.0001)
        try:
            answer = pool.apply_async(pid).get(timeout=p["hangMillis"] / 1000)
        except multiprocessing.TimeoutError:
            hung += 1
            abandon(pool)
            continue
        check(answer != victim, "the task was answered by the killed worker")
        times.append((time.perf_counter_ns() - t0) / 1e6)
        PROCESSES.setdefault(answer, start_ticks(answer))
        end(pool)
    figures = {"nospare.hung": hung}
    if times:
        figures["nospare.median"] = statistics.median(times)
        figures["nospare.max"] = max(times)
        figures["nospare.attempts"] = 1
    else:
        statuses["nospare.median"] = statuses["nospare.max"] = (
            f"hung: no answer within {p['hangMillis']} ms after any of {p['kills']} kills")
    for figure in ("spare.median", "spare.max", "spare.hung"):
        statuses[figure] = "cannot: multiprocessing.Pool has no hot spares"
    return figures


def main():
    p = json.loads(sys.argv[1])
    statuses = {}
    run = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}.get(p["workload"])
    check(run is not None, "unknown workload " + str(p["workload"]))
    figures = run(p, statuses)
    for d in descendants():
        PROCESSES.setdefault(d, start_ticks(d))
    return {"system": "python", "version": "multiprocessing (" + multiprocessing.get_start_method() + ")",
            "runtime": "Python " + platform.python_version(), "figures": figures, "statuses": statuses,
            "processes": [[k, v] for k, v in PROCESSES.items()]}


if __name__ == "__main__":
    try:
        out, status = main(), 0
    except Exception as e:  # reported to the harness as the column's error
        out, status = {"error": repr(e), "processes": [[k, v] for k, v in PROCESSES.items()]}, 1
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(status)  # skip multiprocessing's exit handlers: an abandoned pool would make them wait for ever
