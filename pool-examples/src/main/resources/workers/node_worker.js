#!/usr/bin/env node
/*
 * Reference procpool worker in Node.js, written from PROTOCOL.md alone.
 *
 * It speaks protocol version 1 over stdin/stdout (one JSON frame per line, UTF-8) and logs to
 * stderr. No packages: only Node's built-in modules (written for Node 12 and later; tested on Node 20).
 *
 *   node node_worker.js
 *
 * Threads:
 *   * the main thread reads frames from stdin, runs the tasks (one at a time: maxConcurrency 1;
 *     a handler may be async) and writes their answers; at stdin end of file it exits at once;
 *   * a heartbeat thread (worker_threads) sends a heartbeat every PROCPOOL_HEARTBEAT_MS, also
 *     while a synchronous, CPU-bound handler keeps the main thread busy.
 * Both threads write frames with synchronous writes to file descriptor 1 under a lock shared
 * through a SharedArrayBuffer, so frames never interleave and each is flushed when written.
 *
 * Task types served:
 *   echo     payload back
 *   add      {a, b} -> {sum}
 *   upper    {text} -> {text: text.toUpperCase(), pid}
 *   fail     throws an Error (message: payload.message or "failed on purpose")
 *   garbage  writes lines that are not frames to stdout (on purpose), then returns {ok: true}
 *   sleep    {ms, progress?} waits ms milliseconds, stops early when cancelled; with
 *            "progress": true it also sends a log frame and progress frames at 1/4, 2/4 and 3/4
 *   pid      {pid}
 *
 * To write your own worker, replace HANDLERS: each handler is (payload, ctx) => value or Promise,
 * where ctx has id, taskType, attempt, timeoutMs, cancelled (boolean), onCancel(fn),
 * progress(fraction, message) and log(level, message). console.log and friends write to stderr.
 */
'use strict';

const fs = require('fs');
const v8 = require('v8');
const { Worker, isMainThread, workerData } = require('worker_threads');

const PROTOCOL_VERSION = 1;
const DEFAULT_HEARTBEAT_MS = 1000;
const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const MAX_CONCURRENCY = 1;
const STDOUT = 1;
const STDERR = 2;
const WORKER_ID = process.env.PROCPOOL_WORKER_ID || '?';
const TRUNCATED = '... [truncated]';

// ---------------------------------------------------------------------------------------------
// Logging (stderr, one message per line) and settings

function log(message) {
    const text = String(message).replace(/\r/g, ' ').replace(/\n/g, ' | ');
    const line = `[node_worker ${WORKER_ID} pid ${process.pid}${isMainThread ? '' : ' heartbeat'}] ${text}\n`;
    try {
        writeAll(STDERR, Buffer.from(line, 'utf8'));
    } catch (e) {
        // stderr is gone: nothing sensible left to do with a log line
    }
}

function envInt(name, fallback, minimum) {
    const raw = process.env[name];
    if (raw === undefined || raw.trim() === '') {
        return fallback;
    }
    const value = Number(raw.trim());
    if (!Number.isSafeInteger(value)) {
        if (isMainThread) log(`ignoring ${name}=${JSON.stringify(raw)}: not an integer, using ${fallback}`);
        return fallback;
    }
    if (value < minimum) {
        if (isMainThread) log(`ignoring ${name}=${JSON.stringify(raw)}: below ${minimum}, using ${fallback}`);
        return fallback;
    }
    return value;
}

const HEARTBEAT_MS = envInt('PROCPOOL_HEARTBEAT_MS', DEFAULT_HEARTBEAT_MS, 1);
const MAX_FRAME_BYTES = envInt('PROCPOOL_MAX_FRAME_BYTES', DEFAULT_MAX_FRAME_BYTES, 1);

// ---------------------------------------------------------------------------------------------
// Output: synchronous writes under a lock shared by the main and the heartbeat thread

const pause = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms) {
    Atomics.wait(pause, 0, 0, ms);
}

/** Writes the whole buffer to fd, retrying short writes and EAGAIN (a non-blocking pipe that is full). */
function writeAll(fd, buffer) {
    let offset = 0;
    while (offset < buffer.length) {
        try {
            offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
        } catch (e) {
            if (e.code === 'EAGAIN') {
                sleepSync(1);
                continue;
            }
            throw e;
        }
    }
}

// lock[0]: 0 free, 1 taken. lock[1]: heap used, lock[2]: heap limit (in KiB), published by the main thread.
const lock = new Int32Array(isMainThread ? new SharedArrayBuffer(12) : workerData.lock);

/** Takes the write lock; gives up after timeoutMs (when given) and returns whether it was taken. */
function acquire(timeoutMs) {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) {
        const left = deadline - Date.now();
        if (left <= 0) {
            return false;
        }
        Atomics.wait(lock, 0, 1, Math.min(left, 50));
    }
    return true;
}

function release() {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
}

let exiting = false;

/** Exits at once, but never in the middle of a frame the other thread writes. */
function exitNow(code) {
    if (!exiting) {
        exiting = true;
        // Take the lock for good; the timeout keeps a writer blocked on a full pipe from delaying the exit.
        acquire(200);
    }
    process.exit(code);
}

/** Writes one line (a Buffer without its newline) to stdout under the lock; false if it was refused. */
function writeLine(data) {
    if (data.length > MAX_FRAME_BYTES || data.includes(0x0a)) {
        log(`refusing to write a line of ${data.length} bytes (limit ${MAX_FRAME_BYTES} or embedded newline)`);
        return false;
    }
    if (exiting) {
        return false;
    }
    acquire();
    try {
        writeAll(STDOUT, Buffer.concat([data, Buffer.from('\n')]));
    } catch (e) {
        release();
        // The host is gone (or closed our stdout): nobody is left to serve.
        log(`stdout is gone (${e.code || e.message}), exiting`);
        if (isMainThread) {
            exitNow(1);
        }
        throw e; // ends the heartbeat thread; the main thread sees stdin end soon
    }
    release();
    return true;
}

/** Compact UTF-8 JSON; JSON.stringify escapes lone surrogates, so the bytes are valid UTF-8. */
function encode(frame) {
    const text = JSON.stringify(frame);
    if (text === undefined) {
        throw new TypeError('frame cannot be written as JSON');
    }
    return Buffer.from(text, 'utf8');
}

/**
 * Encodes the frame, cutting the string members named in `members` (in that order, then dropping
 * them) until it fits the frame limit. Returns the bytes, or null if it cannot fit.
 */
function encodeWithin(frame, members) {
    let data = encode(frame);
    frame = Object.assign({}, frame);
    for (const member of members) {
        if (data.length <= MAX_FRAME_BYTES) {
            break;
        }
        if (typeof frame[member] !== 'string') {
            continue;
        }
        const value = frame[member];
        const cut = (keep) => {
            frame[member] = value.slice(0, keep) + TRUNCATED;
            return encode(frame);
        };
        // Binary search for the longest prefix that fits; drop the member if none does.
        let lo = 0;
        let hi = value.length - 1;
        if (hi < 0 || cut(0).length > MAX_FRAME_BYTES) {
            delete frame[member];
            data = encode(frame);
            continue;
        }
        while (lo < hi) {
            const mid = Math.floor((lo + hi + 1) / 2);
            if (cut(mid).length <= MAX_FRAME_BYTES) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        data = cut(lo);
    }
    return data.length <= MAX_FRAME_BYTES ? data : null;
}

function send(frame) {
    return writeLine(encode(frame));
}

function sendError(id, kind, errorClass, message, stack, retryable) {
    const frame = { v: PROTOCOL_VERSION, type: 'error', id, kind, errorClass, message, retryable };
    if (stack) {
        frame.stack = stack;
    }
    const data = encodeWithin(frame, ['stack', 'message']);
    if (data === null) {
        log(`cannot answer task ${JSON.stringify(id)}: even a bare error frame exceeds `
            + `PROCPOOL_MAX_FRAME_BYTES=${MAX_FRAME_BYTES}`);
        return false;
    }
    return writeLine(data);
}

function sendResult(id, result) {
    let data;
    try {
        data = encode({ v: PROTOCOL_VERSION, type: 'result', id, result: result === undefined ? null : result });
    } catch (e) {
        // e.g. a BigInt or a cycle, which JSON cannot carry
        return sendError(id, 'HANDLER_ERROR', errorName(e), `result is not valid JSON: ${e.message}`,
            e.stack, false);
    }
    if (data.length > MAX_FRAME_BYTES) {
        log(`result of task ${id} is ${data.length} bytes, over the frame limit ${MAX_FRAME_BYTES}; `
            + 'sending an error instead');
        return sendError(id, 'HANDLER_ERROR', 'FrameTooLarge', `result frame of ${data.length} bytes exceeds `
            + `PROCPOOL_MAX_FRAME_BYTES=${MAX_FRAME_BYTES}`, undefined, false);
    }
    return writeLine(data);
}

function errorName(e) {
    if (e instanceof Error) {
        return (e.constructor && e.constructor.name) || e.name || 'Error';
    }
    return typeof e;
}

// ---------------------------------------------------------------------------------------------
// The heartbeat thread

function heartbeatThread() {
    let next = Date.now() + HEARTBEAT_MS;
    const beat = () => {
        const frame = { v: PROTOCOL_VERSION, type: 'heartbeat', rssBytes: process.memoryUsage().rss };
        const heapUsedKiB = Atomics.load(lock, 1);
        const heapMaxKiB = Atomics.load(lock, 2);
        if (heapUsedKiB > 0) {
            frame.heapUsedBytes = heapUsedKiB * 1024;
        }
        if (heapMaxKiB > 0) {
            frame.heapMaxBytes = heapMaxKiB * 1024;
        }
        send(frame);
        next += HEARTBEAT_MS;
        const now = Date.now();
        if (next < now) { // fell behind (e.g. suspended): do not send a burst
            next = now + HEARTBEAT_MS;
        }
        setTimeout(beat, next - now);
    };
    setTimeout(beat, HEARTBEAT_MS);
}

// ---------------------------------------------------------------------------------------------
// Handlers

class Cancelled extends Error {
    constructor(message) {
        super(message);
        this.name = 'Cancelled';
    }
}

function payloadObject(payload) {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        throw new TypeError(`payload must be a JSON object, got ${JSON.stringify(payload)}`);
    }
    return payload;
}

function number(payload, name) {
    const value = payload[name];
    if (typeof value !== 'number') {
        throw new TypeError(`'${name}' must be a number, got ${JSON.stringify(value)}`);
    }
    return value;
}

const HANDLERS = {
    echo: (payload) => payload,

    add: (payload) => {
        payload = payloadObject(payload);
        return { sum: number(payload, 'a') + number(payload, 'b') };
    },

    upper: (payload) => {
        payload = payloadObject(payload);
        if (typeof payload.text !== 'string') {
            throw new TypeError(`'text' must be a string, got ${JSON.stringify(payload.text)}`);
        }
        return { text: payload.text.toUpperCase(), pid: process.pid };
    },

    fail: (payload) => {
        let message = 'failed on purpose';
        if (payload !== null && typeof payload === 'object' && 'message' in payload) {
            message = String(payload.message);
        }
        throw new Error(message);
    },

    garbage: (payload, ctx) => {
        for (const line of ['this is not json', '{not json either', '[1,2,3]', '{"no":"type"}']) {
            writeLine(Buffer.from(line, 'utf8'));
        }
        log(`garbage task ${ctx.id} wrote non-frame lines to stdout on purpose`);
        return { ok: true };
    },

    sleep: (payload, ctx) => {
        payload = payloadObject(payload);
        const ms = payload.ms === undefined ? 0 : payload.ms;
        if (typeof ms !== 'number') {
            throw new TypeError(`'ms' must be a number, got ${JSON.stringify(ms)}`);
        }
        const total = Math.max(0, ms);
        if (payload.progress === true) {
            ctx.log('INFO', `sleeping ${total} ms`);
        }
        return new Promise((resolve, reject) => {
            const timers = [];
            if (payload.progress === true) {
                for (let quarter = 1; quarter <= 3; quarter++) {
                    timers.push(setTimeout(() => ctx.progress(quarter / 4, `slept ${quarter}/4`),
                        total * quarter / 4));
                }
            }
            timers.push(setTimeout(() => {
                timers.forEach(clearTimeout);
                resolve({ slept: ms });
            }, total));
            ctx.onCancel(() => {
                timers.forEach(clearTimeout);
                reject(new Cancelled(`task ${ctx.id} was cancelled`));
            });
        });
    },

    pid: () => ({ pid: process.pid }),
};

// ---------------------------------------------------------------------------------------------
// Tasks

const queued = [];         // task frames received, not yet started
const running = new Map(); // task id -> context of the running task

function makeContext(frame) {
    const listeners = [];
    const ctx = {
        id: frame.id,
        taskType: frame.taskType,
        attempt: frame.attempt,
        timeoutMs: frame.timeoutMs,
        cancelled: false,
        answered: false,
        onCancel(listener) {
            if (ctx.cancelled) {
                listener();
            } else {
                listeners.push(listener);
            }
        },
        cancel() {
            if (!ctx.cancelled) {
                ctx.cancelled = true;
                for (const listener of listeners.splice(0)) {
                    try {
                        listener();
                    } catch (e) {
                        log(`cancel listener of task ${ctx.id} failed: ${e && e.stack}`);
                    }
                }
            }
        },
        progress(fraction, message) {
            if (ctx.answered) {
                return;
            }
            // 0 to 1 as PROTOCOL.md asks; NaN (which JSON cannot carry) is 0
            const number = Number(fraction);
            const clamped = Number.isNaN(number) ? 0 : Math.min(1, Math.max(0, number));
            const out = { v: PROTOCOL_VERSION, type: 'progress', id: ctx.id, fraction: clamped };
            if (message !== undefined && message !== null) {
                out.message = String(message);
            }
            const data = encodeWithin(out, ['message']);
            if (data !== null) {
                writeLine(data);
            }
        },
        log(level, message) {
            const out = { v: PROTOCOL_VERSION, type: 'log', level: String(level), message: String(message) };
            if (!ctx.answered) {
                out.id = ctx.id;
            }
            const data = encodeWithin(out, ['message']);
            if (data !== null) {
                writeLine(data);
            }
        },
    };
    return ctx;
}

function answer(ctx, send) {
    if (ctx.answered) {
        return;
    }
    ctx.answered = true;
    running.delete(ctx.id);
    send();
    publishHeap();
    setImmediate(pump);
}

function start(frame) {
    const ctx = makeContext(frame);
    running.set(ctx.id, ctx);
    const handler = typeof frame.taskType === 'string' && Object.prototype.hasOwnProperty.call(HANDLERS,
        frame.taskType) ? HANDLERS[frame.taskType] : undefined;
    if (handler === undefined) {
        answer(ctx, () => sendError(ctx.id, 'UNKNOWN_TASK_TYPE', 'UnknownTaskType',
            `this worker does not serve task type ${JSON.stringify(frame.taskType)} `
            + `(it serves ${Object.keys(HANDLERS).sort().join(', ')})`, undefined, false));
        return;
    }
    const fail = (e) => answer(ctx, () => {
        if (e instanceof Cancelled) {
            sendError(ctx.id, 'HANDLER_ERROR', 'Cancelled', e.message, undefined, true);
        } else if (e instanceof Error) {
            sendError(ctx.id, 'HANDLER_ERROR', errorName(e), e.message, e.stack, true);
        } else {
            sendError(ctx.id, 'HANDLER_ERROR', typeof e, String(e), undefined, true);
        }
    });
    let outcome;
    try {
        outcome = handler(frame.payload === undefined ? null : frame.payload, ctx);
    } catch (e) {
        fail(e);
        return;
    }
    if (outcome !== null && typeof outcome === 'object' && typeof outcome.then === 'function') {
        Promise.resolve(outcome).then((value) => answer(ctx, () => sendResult(ctx.id, value)), fail);
    } else {
        answer(ctx, () => sendResult(ctx.id, outcome));
    }
}

function pump() {
    while (running.size < MAX_CONCURRENCY && queued.length > 0 && !exiting) {
        start(queued.shift());
    }
}

function onFrame(frame) {
    switch (frame.type) {
        case 'task':
            if (typeof frame.id !== 'string') {
                log(`ignoring a task frame without a string id: ${JSON.stringify(frame.id)}`);
                return;
            }
            queued.push(frame);
            pump();
            return;
        case 'cancel': {
            const ctx = running.get(frame.id);
            if (ctx !== undefined) {
                log(`task ${frame.id} cancelled`);
                ctx.cancel();
                return;
            }
            const index = queued.findIndex((task) => task.id === frame.id);
            if (index >= 0) {
                const [task] = queued.splice(index, 1);
                log(`task ${task.id} cancelled before it started`);
                sendError(task.id, 'HANDLER_ERROR', 'Cancelled', `task ${task.id} was cancelled before it started`,
                    undefined, true);
                return;
            }
            // Already answered (or never received): a cancel must not hit a later attempt with the same id.
            log(`ignoring cancel for task ${JSON.stringify(frame.id)}, which is not in flight`);
            return;
        }
        case 'shutdown':
            log('shutdown received, exiting');
            exitNow(0);
            return;
        default:
            log(`ignoring frame of unknown type ${JSON.stringify(frame.type)}`);
    }
}

function onLine(buffer) {
    let end = buffer.length;
    if (end > 0 && buffer[end - 1] === 0x0d) {
        end--;
    }
    const text = buffer.toString('utf8', 0, end);
    if (text.trim() === '') {
        return;
    }
    let frame;
    try {
        frame = JSON.parse(text);
    } catch (e) {
        log(`ignoring an input line that is not a JSON frame: ${e.message}`);
        return;
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
        log('ignoring an input line that is not a JSON object');
        return;
    }
    if (frame.v !== PROTOCOL_VERSION) {
        log(`ignoring a frame whose "v" is ${JSON.stringify(frame.v)}, not ${PROTOCOL_VERSION}`);
        return;
    }
    if (typeof frame.type !== 'string') {
        log('ignoring an input line without a "type"');
        return;
    }
    onFrame(frame);
}

/**
 * The top-level string members "type" and "id" of a JSON object whose text may be cut short, as far
 * as they can be read; used to answer a task whose frame is over the limit without holding it all.
 */
function scanHead(text) {
    const found = {};
    let i = 0;
    const ws = () => {
        while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
    };
    const string = () => { // at a '"'; returns the decoded string, or undefined if cut short
        const from = i++;
        while (i < text.length && text[i] !== '"') {
            i += text[i] === '\\' ? 2 : 1;
        }
        if (i >= text.length) return undefined;
        i++;
        try {
            return JSON.parse(text.slice(from, i));
        } catch (e) {
            return undefined;
        }
    };
    ws();
    if (text[i++] !== '{') return found;
    for (;;) {
        ws();
        if (text[i] !== '"') return found;
        const key = string();
        ws();
        if (key === undefined || text[i++] !== ':') return found;
        ws();
        if (text[i] === '"') {
            const value = string();
            if (value === undefined) return found;
            if ((key === 'type' || key === 'id') && !(key in found)) found[key] = value;
        } else { // skip a number, literal, object or array
            let depth = 0;
            while (i < text.length && !(depth === 0 && (text[i] === ',' || text[i] === '}'))) {
                if (text[i] === '"') {
                    if (string() === undefined) return found;
                    continue;
                }
                if (text[i] === '{' || text[i] === '[') depth++;
                if (text[i] === '}' || text[i] === ']') depth--;
                i++;
            }
        }
        ws();
        if (text[i++] !== ',') return found;
    }
}

/** A line over the frame limit (the host never sends one): answer its task, if it is one, with an error. */
function onOversizedLine(head, bytes) {
    const { type, id } = scanHead(head.toString('utf8'));
    log(`ignoring an input line of ${bytes} bytes, over the frame limit of ${MAX_FRAME_BYTES} bytes`
        + (type === 'task' && typeof id === 'string' ? ` (task ${id}: answered with an error)` : ''));
    if (type === 'task' && typeof id === 'string') {
        sendError(id, 'HANDLER_ERROR', 'FrameTooLarge', `task frame of ${bytes} bytes exceeds `
            + `PROCPOOL_MAX_FRAME_BYTES=${MAX_FRAME_BYTES}`, undefined, false);
    }
}

/**
 * Splits stdin into lines, holding at most one frame (plus a '\r') of a partial line in memory.
 * Of a longer line only the head is kept, to answer its task with an error.
 */
function readFrames(stream) {
    let parts = [];
    let size = 0;   // bytes of the current line so far
    let head = null; // inside a line over the limit: its first bytes; the rest is dropped
    stream.on('data', (chunk) => {
        let start = 0;
        while (start < chunk.length) {
            const newline = chunk.indexOf(0x0a, start);
            const end = newline < 0 ? chunk.length : newline;
            if (head === null && size + (end - start) > MAX_FRAME_BYTES + 1) {
                head = Buffer.concat(parts.concat([chunk.subarray(start, end)]))
                    .subarray(0, MAX_FRAME_BYTES + 1);
                parts = [];
            } else if (head === null && end > start) {
                parts.push(chunk.subarray(start, end));
            }
            size += end - start;
            if (newline < 0) {
                break;
            }
            try {
                if (head !== null) {
                    onOversizedLine(head, size);
                } else {
                    onLine(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
                }
            } catch (e) {
                // A bug here must not kill the worker; the task may stay unanswered.
                log(`internal error handling a frame: ${e && e.stack}`);
            }
            parts = [];
            size = 0;
            head = null;
            start = newline + 1;
        }
    });
    const eof = (why) => {
        // The host is gone (or closed our stdin): exit at once, whatever still runs.
        log(`stdin ${why}, exiting`);
        exitNow(0);
    };
    stream.on('end', () => eof('reached end of file'));
    stream.on('close', () => eof('was closed'));
    stream.on('error', (e) => eof(`failed (${e.message})`));
}

// ---------------------------------------------------------------------------------------------
// Main

function publishHeap() {
    try {
        const stats = v8.getHeapStatistics();
        Atomics.store(lock, 1, Math.min(0x7fffffff, Math.floor(stats.used_heap_size / 1024)));
        Atomics.store(lock, 2, Math.min(0x7fffffff, Math.floor(stats.heap_size_limit / 1024)));
    } catch (e) {
        // heap figures are optional
    }
}

function main() {
    // Frames go to fd 1 only; whatever a handler prints with console goes to stderr.
    for (const method of ['log', 'info', 'debug', 'trace', 'dir']) {
        console[method] = console.error; // eslint-disable-line no-console
    }
    process.on('uncaughtException', (e) => log(`internal error: ${e && e.stack}`));
    process.on('unhandledRejection', (e) => log(`unhandled rejection: ${e && e.stack ? e.stack : e}`));

    const versions = process.env.PROCPOOL_PROTOCOL;
    if (versions !== undefined && !versions.split(/[\s,]+/).includes(String(PROTOCOL_VERSION))) {
        log(`host speaks protocol ${JSON.stringify(versions)}; this worker speaks ${PROTOCOL_VERSION}`);
    }

    send({
        v: PROTOCOL_VERSION, type: 'ready', pid: process.pid, protocol: PROTOCOL_VERSION,
        taskTypes: Object.keys(HANDLERS).sort(), capabilities: ['node'], maxConcurrency: MAX_CONCURRENCY,
    });

    publishHeap();
    setInterval(publishHeap, HEARTBEAT_MS).unref();
    const heartbeat = new Worker(__filename, { workerData: { lock: lock.buffer } });
    heartbeat.on('error', (e) => log(`heartbeat thread failed: ${e && e.stack}`));
    heartbeat.unref();

    readFrames(process.stdin);
    log(`ready (heartbeat ${HEARTBEAT_MS} ms, frame limit ${MAX_FRAME_BYTES} bytes)`);
}

if (isMainThread) {
    main();
} else {
    heartbeatThread();
}
