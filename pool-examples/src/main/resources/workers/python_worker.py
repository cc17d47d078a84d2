#!/usr/bin/env python3
"""Reference procpool worker in Python, written from PROTOCOL.md alone; used by the tests.

It speaks protocol version 1 over stdin/stdout (one JSON frame per line, UTF-8) and
logs to stderr. Standard library only; works on Python 3.8+.

Threads:
  * the reader thread reads frames from stdin, records cancellations, and queues tasks and
    shutdown; at stdin end of file the worker exits at once (quick tasks already received
    are still answered, a running sleep is abandoned, and the process is gone within
    EOF_GRACE_S in any case);
  * the heartbeat thread sends a heartbeat every PROCPOOL_HEARTBEAT_MS, also while a
    task runs;
  * the main thread runs the queued tasks one at a time (maxConcurrency 1).

Task types served: echo, add, upper, fail, garbage, sleep, pid.
"""

import json
import os
import queue
import re
import sys
import threading
import time
import traceback

PROTOCOL_VERSION = 1
DEFAULT_HEARTBEAT_MS = 1000
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
SLEEP_SLICE_S = 0.02
# After stdin reaches end of file, frames already received are still answered (they are
# quick; a sleep stops at once), but the process exits after this long at the latest.
EOF_GRACE_S = 0.5

WORKER_ID = os.environ.get("PROCPOOL_WORKER_ID", "?")

# A frame may nest 1000 levels deep (PROTOCOL.md, Limits); Python's json module recurses once per
# level, so the default limit of 1000 would fail on frames the host may send.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 4000))

# Frames go to the real stdout only; anything a handler print()s goes to stderr instead.
_OUT = sys.stdout.buffer
sys.stdout = sys.stderr
_WRITE_LOCK = threading.Lock()


def _env_int(name, default, minimum):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        log("ignoring %s=%r: not an integer, using %d" % (name, raw, default))
        return default
    if value < minimum:
        log("ignoring %s=%r: below %d, using %d" % (name, raw, minimum, default))
        return default
    return value


def log(message):
    """One log message per line on stderr."""
    text = str(message).replace("\r", " ").replace("\n", " | ")
    try:
        sys.stderr.write("[python_worker %s pid %d] %s\n" % (WORKER_ID, os.getpid(), text))
        sys.stderr.flush()
    except Exception:  # stderr gone: nothing sensible left to do with a log line
        pass


HEARTBEAT_MS = _env_int("PROCPOOL_HEARTBEAT_MS", DEFAULT_HEARTBEAT_MS, 1)
MAX_FRAME_BYTES = _env_int("PROCPOOL_MAX_FRAME_BYTES", DEFAULT_MAX_FRAME_BYTES, 1)


def exit_now(code):
    """Exit the process at once, but never in the middle of writing a frame."""
    # Taking the lock (and never releasing it) keeps a heartbeat from being cut in half;
    # the timeout keeps a writer blocked on a full pipe from delaying the exit.
    _WRITE_LOCK.acquire(timeout=0.2)
    try:
        _OUT.flush()
    except Exception:
        pass
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)  # not sys.exit: the reader thread blocked in stdin must not delay it


# ---------------------------------------------------------------------------------------
# Output


def _write_line(data):
    """Write one line (bytes without the newline) to stdout under the lock, flushed."""
    if b"\n" in data or len(data) > MAX_FRAME_BYTES:
        # Never happens for frames built by encode_frame; guard for raw lines.
        log("refusing to write a line of %d bytes (limit %d or embedded newline)"
            % (len(data), MAX_FRAME_BYTES))
        return False
    try:
        with _WRITE_LOCK:
            _OUT.write(data + b"\n")
            _OUT.flush()
    except (BrokenPipeError, OSError, ValueError) as e:
        # The host is gone (or closed our stdout): nobody is left to serve.
        log("stdout is gone (%s), exiting" % (e,))
        os._exit(1)
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def encode_frame(frame):
    """Encode a frame as compact UTF-8 JSON; raises ValueError for NaN/Infinity."""
    try:
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. echoed from "\ud800" in a payload) cannot be UTF-8. They can
        # only occur inside JSON strings, so writing them as \uXXXX escapes keeps valid JSON.
        return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text).encode("utf-8")


def send_frame(frame):
    """Send a frame that is known to be small (ready, heartbeat)."""
    return _write_line(encode_frame(frame))


def _error_frame(task_id, kind, error_class, message, stack=None, retryable=True):
    frame = {"v": PROTOCOL_VERSION, "type": "error", "id": task_id, "kind": kind,
             "errorClass": error_class, "message": message, "retryable": retryable}
    if stack:
        frame["stack"] = stack
    return frame


def _fit_member(frame, member):
    """Cut frame[member] (a string) to the longest prefix that lets the frame fit the limit;
    drop the member if even an empty prefix does not fit. Returns the encoded frame."""
    value = frame[member]
    marker = "... [truncated]"

    def encoded(keep):
        frame[member] = value[:keep] + marker
        return encode_frame(frame)

    lo, hi = 0, len(value) - 1  # the longest fitting prefix length lies in [lo, hi] if any
    if len(encoded(lo)) > MAX_FRAME_BYTES:
        del frame[member]
        return encode_frame(frame)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(encoded(mid)) <= MAX_FRAME_BYTES:
            lo = mid
        else:
            hi = mid - 1
    return encoded(lo)


def _send_error_within_limit(frame):
    """Send an error frame, shortening its stack, then its message, until it fits the limit."""
    data = encode_frame(frame)
    frame = dict(frame)
    for member in ("stack", "message"):
        if len(data) <= MAX_FRAME_BYTES:
            break
        if isinstance(frame.get(member), str):
            data = _fit_member(frame, member)
    if len(data) <= MAX_FRAME_BYTES:
        return _write_line(data)
    log("cannot answer task %r: even a bare error frame (%d bytes) exceeds "
        "PROCPOOL_MAX_FRAME_BYTES=%d" % (frame["id"], len(data), MAX_FRAME_BYTES))
    return False


def send_result(task_id, result):
    frame = {"v": PROTOCOL_VERSION, "type": "result", "id": task_id, "result": result}
    try:
        data = encode_frame(frame)
    except Exception as e:  # pylint: disable=broad-except
        # e.g. NaN/Infinity, which JSON cannot carry, a value json cannot encode, or one nested
        # too deep to encode (RecursionError).
        _send_error_within_limit(_error_frame(
            task_id, "HANDLER_ERROR", type(e).__name__,
            "result is not valid JSON: %s" % (e,), traceback.format_exc(), False))
        return
    if len(data) > MAX_FRAME_BYTES:
        log("result of task %r is %d bytes, over the frame limit %d; sending an error instead"
            % (task_id, len(data), MAX_FRAME_BYTES))
        _send_error_within_limit(_error_frame(
            task_id, "HANDLER_ERROR", "FrameTooLarge",
            "result frame of %d bytes exceeds PROCPOOL_MAX_FRAME_BYTES=%d"
            % (len(data), MAX_FRAME_BYTES), None, False))
        return
    _write_line(data)


def send_error(task_id, kind, error_class, message, stack=None, retryable=True):
    _send_error_within_limit(_error_frame(task_id, kind, error_class, message, stack, retryable))


# ---------------------------------------------------------------------------------------
# Heartbeats


def read_rss_bytes():
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    parts = line.split()
                    value = int(parts[1])
                    unit = parts[2].lower() if len(parts) > 2 else b"kb"
                    if unit == b"kb":
                        return value * 1024
                    if unit == b"mb":
                        return value * 1024 * 1024
                    return value
    except (OSError, ValueError, IndexError):
        pass
    return None


def heartbeat_loop(stop):
    interval = HEARTBEAT_MS / 1000.0
    next_at = time.monotonic() + interval
    while True:
        delay = next_at - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        if stop.is_set():
            return
        frame = {"v": PROTOCOL_VERSION, "type": "heartbeat"}
        rss = read_rss_bytes()
        if rss is not None:
            frame["rssBytes"] = rss
        send_frame(frame)
        next_at += interval
        now = time.monotonic()
        if next_at < now:  # fell behind (e.g. suspended): do not send a burst
            next_at = now + interval


# ---------------------------------------------------------------------------------------
# Task state shared by the reader and the main thread

_STATE_LOCK = threading.Lock()
_pending = {}        # task id -> number of queued, not yet started tasks with that id
_running = None      # id of the task running on the main thread, or None
_cancelled = set()   # ids of queued or running tasks the host cancelled

_SHUTDOWN = object()
_EOF = object()
_stdin_eof = threading.Event()


class Cancelled(Exception):
    """Raised inside a handler when the host cancelled the running task."""


class TaskContext(object):
    def __init__(self, task_id, attempt, timeout_ms):
        self.task_id = task_id
        self.attempt = attempt
        self.timeout_ms = timeout_ms

    def cancelled(self):
        with _STATE_LOCK:
            return self.task_id in _cancelled

    def check_cancelled(self):
        """For long handlers: raise Cancelled if cancelled, exit if stdin was closed."""
        if _stdin_eof.is_set():
            log("stdin reached end of file while task %s ran, exiting" % (self.task_id,))
            exit_now(0)
        if self.cancelled():
            raise Cancelled("task %s was cancelled" % (self.task_id,))


def reader_loop(tasks):
    stdin = sys.stdin.buffer
    while True:
        try:
            raw = stdin.readline()
        except Exception as e:
            log("reading stdin failed (%s), exiting" % (e,))
            raw = b""
        if not raw:
            # End of file: the host is gone (or closed our stdin). Exit at once: the main
            # thread answers what is already queued (quick), a running sleep stops at once,
            # and this thread ends the process after a short grace in any case.
            log("stdin reached end of file, exiting")
            _stdin_eof.set()
            tasks.put(_EOF)
            time.sleep(EOF_GRACE_S)
            log("still running %.1f s after end of file, exiting now" % (EOF_GRACE_S,))
            exit_now(0)
        try:
            handle_line(raw, tasks)
        except Exception:  # pylint: disable=broad-except
            # A line this worker cannot handle must not end the reader: without it the worker
            # would never see its next task, a cancel, or the end of its input.
            log("internal error handling an input line: %s" % (traceback.format_exc(),))


def handle_line(raw, tasks):
    """Decode one input line and act on it: queue a task or shutdown, record a cancel."""
    line = raw.rstrip(b"\n")
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.strip():
        return
    try:
        frame = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        log("ignoring an input line that is not a JSON frame: %s" % (e,))
        return
    if not isinstance(frame, dict):
        log("ignoring an input line that is not a JSON object")
        return
    version = frame.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:  # True == 1 in Python: not a version
        log("ignoring a frame whose \"v\" is %r, not %d" % (version, PROTOCOL_VERSION))
        return
    ftype = frame.get("type")
    if ftype == "task":
        task_id = frame.get("id")
        if not isinstance(task_id, str):
            log("ignoring a task frame without a string id: %r" % (task_id,))
            return
        with _STATE_LOCK:
            _pending[task_id] = _pending.get(task_id, 0) + 1
        tasks.put(frame)
    elif ftype == "cancel":
        task_id = frame.get("id")
        with _STATE_LOCK:
            # Only a queued or running task can be cancelled; a cancel for a task already
            # answered is ignored, so it cannot hit a later attempt with the same id.
            if isinstance(task_id, str) and (task_id == _running or task_id in _pending):
                _cancelled.add(task_id)
                log("task %s cancelled" % (task_id,))
            else:
                log("ignoring cancel for task %r, which is not in flight" % (task_id,))
    elif ftype == "shutdown":
        tasks.put(_SHUTDOWN)
    else:
        log("ignoring frame of unknown type %r" % (ftype,))


# ---------------------------------------------------------------------------------------
# Handlers


def _payload_object(payload):
    if not isinstance(payload, dict):
        raise TypeError("payload must be a JSON object, got %s" % (type(payload).__name__,))
    return payload


def _number(payload, name):
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%r must be a number, got %r" % (name, value))
    return value


def handle_echo(payload, ctx):
    return payload


def handle_add(payload, ctx):
    payload = _payload_object(payload)
    return {"sum": _number(payload, "a") + _number(payload, "b")}


def handle_upper(payload, ctx):
    payload = _payload_object(payload)
    text = payload.get("text")
    if not isinstance(text, str):
        raise TypeError("'text' must be a string, got %r" % (text,))
    return {"text": text.upper(), "pid": os.getpid()}


def handle_fail(payload, ctx):
    message = "failed on purpose"
    if isinstance(payload, dict) and "message" in payload:
        message = str(payload["message"])
    raise ValueError(message)


def handle_garbage(payload, ctx):
    for line in ("this is not json", "{not json either", "[1,2,3]", '{"no":"type"}'):
        _write_line(line.encode("utf-8"))
    log("garbage task %s wrote non-frame lines to stdout on purpose" % (ctx.task_id,))
    return {"ok": True}


def handle_sleep(payload, ctx):
    payload = _payload_object(payload)
    ms = payload.get("ms", 0)
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):
        raise TypeError("'ms' must be a number, got %r" % (ms,))
    deadline = time.monotonic() + max(0, ms) / 1000.0
    while True:
        ctx.check_cancelled()
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(SLEEP_SLICE_S, left))
    return {"slept": ms}


def handle_pid(payload, ctx):
    return {"pid": os.getpid()}


HANDLERS = {
    "echo": handle_echo,
    "add": handle_add,
    "upper": handle_upper,
    "fail": handle_fail,
    "garbage": handle_garbage,
    "sleep": handle_sleep,
    "pid": handle_pid,
}


def run_task(frame):
    global _running
    task_id = frame["id"]
    task_type = frame.get("taskType")
    attempt = frame.get("attempt")
    timeout_ms = frame.get("timeoutMs")
    with _STATE_LOCK:
        count = _pending.get(task_id, 0) - 1
        if count > 0:
            _pending[task_id] = count
        else:
            _pending.pop(task_id, None)
        _running = task_id
    try:
        ctx = TaskContext(task_id, attempt, timeout_ms)
        handler = HANDLERS.get(task_type) if isinstance(task_type, str) else None
        if handler is None:
            send_error(task_id, "UNKNOWN_TASK_TYPE", "UnknownTaskType",
                       "this worker does not serve task type %r (it serves %s)"
                       % (task_type, ", ".join(sorted(HANDLERS))), None, False)
            return
        try:
            if ctx.cancelled():
                raise Cancelled("task %s was cancelled before it started" % (task_id,))
            result = handler(frame.get("payload"), ctx)
        except Cancelled as e:
            send_error(task_id, "HANDLER_ERROR", "Cancelled", str(e), None, True)
            return
        except MemoryError as e:
            send_error(task_id, "OUT_OF_MEMORY", "MemoryError", str(e) or "out of memory",
                       traceback.format_exc(), True)
            log("out of memory in task %s, exiting" % (task_id,))
            exit_now(1)
        except Exception as e:
            send_error(task_id, "HANDLER_ERROR", type(e).__name__, str(e),
                       traceback.format_exc(), True)
            return
        send_result(task_id, result)
    finally:
        with _STATE_LOCK:
            _running = None
            _cancelled.discard(task_id)


# ---------------------------------------------------------------------------------------
# Main


def main():
    versions = os.environ.get("PROCPOOL_PROTOCOL")
    if versions is not None and str(PROTOCOL_VERSION) not in versions.replace(",", " ").split():
        log("host speaks protocol %r; this worker speaks %d" % (versions, PROTOCOL_VERSION))

    send_frame({"v": PROTOCOL_VERSION, "type": "ready", "pid": os.getpid(),
                "protocol": PROTOCOL_VERSION, "taskTypes": sorted(HANDLERS),
                "capabilities": ["python"], "maxConcurrency": 1})

    stop = threading.Event()
    heartbeat = threading.Thread(target=heartbeat_loop, args=(stop,), name="heartbeat")
    heartbeat.daemon = True
    heartbeat.start()

    tasks = queue.Queue()
    reader = threading.Thread(target=reader_loop, args=(tasks,), name="reader")
    reader.daemon = True
    reader.start()

    log("ready (heartbeat %d ms, frame limit %d bytes)" % (HEARTBEAT_MS, MAX_FRAME_BYTES))
    while True:
        item = tasks.get()
        if item is _SHUTDOWN:
            log("shutdown received, exiting")
            stop.set()
            exit_now(0)
        if item is _EOF:
            stop.set()
            exit_now(0)
        try:
            run_task(item)
        except Exception:
            # A bug here must not kill the worker; the task may stay unanswered.
            log("internal error running a task: %s" % (traceback.format_exc(),))


if __name__ == "__main__":
    main()
