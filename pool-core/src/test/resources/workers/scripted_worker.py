#!/usr/bin/env python3
"""A worker that says exactly what a test tells it to, for checking how the host treats each protocol rule.

The script is the JSON object in the environment variable SCRIPT:
  "beforeReady": lines written before ready
  "ready":       the ready frame as an object (default: pid, protocol 1, any task type)
  "heartbeat":   false to send no heartbeats (default true)
  "tasks":       {taskType: [step, ...]} what to do for each task of that type; a step is a line to write
                 ("{id}" is replaced by the task's id), {"sleepMs": n}, {"beatsOff": true} (heartbeats stop),
                 {"env": [names]} (answer with those variables, [] for all), or {"waitCancel": true} (wait until that
                 task is cancelled; no answer of its own)
Lines are written as they are: they need not be frames. Tasks run one at a time, in a thread, so
the reader keeps seeing cancel, shutdown and the end of input. Standard library only.
"""

import json
import os
import queue
import sys
import threading
import time

SCRIPT = json.loads(os.environ.get("SCRIPT", "{}"))
HEARTBEAT_S = int(os.environ.get("PROCPOOL_HEARTBEAT_MS", "1000")) / 1000.0
OUT = sys.stdout.buffer
LOCK = threading.Lock()
beats = threading.Event()
cancelled = set()


def write(text):
    with LOCK:
        OUT.write(text.encode("utf-8") + b"\n")
        OUT.flush()


def heartbeat():
    while True:
        time.sleep(HEARTBEAT_S)
        if beats.is_set():
            write('{"v":1,"type":"heartbeat"}')


def run(tasks):
    while True:
        frame = tasks.get()
        for step in SCRIPT.get("tasks", {}).get(frame.get("taskType"), []):
            if isinstance(step, str):
                write(step.replace("{id}", frame["id"]))
            elif "sleepMs" in step:
                time.sleep(step["sleepMs"] / 1000.0)
            elif step.get("beatsOff"):
                beats.clear()
            elif "env" in step:
                names = step["env"] or list(os.environ)  # [] means every variable
                values = {name: os.environ.get(name) for name in names}
                write(json.dumps({"v": 1, "type": "result", "id": frame["id"], "result": values}))
            elif step.get("waitCancel"):
                while frame["id"] not in cancelled:
                    time.sleep(0.01)


def main():
    for line in SCRIPT.get("beforeReady", []):
        write(line)
    ready = SCRIPT.get("ready", {"v": 1, "type": "ready", "pid": os.getpid(), "protocol": 1})
    ready.setdefault("pid", os.getpid())
    write(json.dumps(ready))
    if SCRIPT.get("heartbeat", True):
        beats.set()
    threading.Thread(target=heartbeat, daemon=True).start()
    tasks = queue.Queue()
    threading.Thread(target=run, args=(tasks,), daemon=True).start()
    for raw in sys.stdin.buffer:
        frame = json.loads(raw)
        if frame.get("type") == "task":
            tasks.put(frame)
        elif frame.get("type") == "cancel":
            cancelled.add(frame.get("id"))
        elif frame.get("type") == "shutdown":
            os._exit(0)
    os._exit(0)  # end of input


if __name__ == "__main__":
    main()
