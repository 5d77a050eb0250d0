'use strict';
// node: Node.js's net module, one process, one event loop (libuv on
// epoll). The contract is models/README.md's; this file is the whole model
// (README.md). Started by ./run, which hands it a listening socket with
// SO_REUSEPORT when C10K_REUSEPORT=1 asks for one (reuseport.py): Node 20's
// net has no such option.

const net = require('node:net');

const MODEL = 'node';

// The fd reuseport.py binds with SO_REUSEPORT and passes on.
const ENV_LISTEN_FD = 'C10K_NODE_LISTEN_FD';

// A one-line start-up error: the variable and the bad part.
class ConfigError extends Error {}

function env(name) {
  return (process.env[name] || '').trim();
}

// An integer as Go's strconv.Atoi reads it: an optional sign, then digits.
function intEnv(name, def) {
  const v = env(name);
  if (v === '') return def;
  if (!/^[+-]?\d+$/.test(v)) throw new ConfigError(`${name}=${JSON.stringify(v)}: not an integer`);
  return Number(v);
}

function boolEnv(name, def) {
  const v = env(name);
  if (v === '') return def;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(v)}: not a boolean`);
}

// Nanoseconds per unit C10K_WORK allows: Go's time.ParseDuration units
// less minutes and hours.
const UNIT_NS = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9 };

// A duration in Go's syntax ("200us", "1.5ms", "1ms500us") in nanoseconds,
// above zero; the error says which rule it breaks.
function parseDuration(s) {
  for (const unit of s.replace(/^[+-]+/, '').split(/[\d.]+/)) {
    if (unit !== '' && !(unit in UNIT_NS)) throw new Error(`unit ${JSON.stringify(unit)} (want ns, us, ms or s)`);
  }
  const m = /^([+-]?)(.*)$/.exec(s);
  if (m[2] === '0') throw new Error('duration must be > 0');
  const part = /(\d*)(?:\.(\d*))?([^\d.]+)/y;
  let ns = 0;
  let rest = m[2];
  if (rest === '') throw new Error('not a duration (e.g. 200us, 1.5ms, 50ms)');
  while (rest !== '') {
    part.lastIndex = 0;
    const p = part.exec(rest);
    if (p === null || (p[1] === '' && (p[2] || '') === '')) throw new Error('not a duration (e.g. 200us, 1.5ms, 50ms)');
    ns += Number(`${p[1] || '0'}.${p[2] || '0'}`) * UNIT_NS[p[3]];
    rest = rest.slice(p[0].length);
  }
  if (m[1] === '-' || ns < 1) throw new Error('duration must be > 0');
  return Math.trunc(ns);
}

// C10K_WORK and C10K_SIZE (models/README.md, "Work per request"): null for
// no work, else {cpuNs, blockNs, waitNs, size}.
function parseWork() {
  const v = env('C10K_WORK');
  if (v === '') return null;
  const w = { cpuNs: 0, blockNs: 0, waitNs: 0, size: 0 };
  const slots = { cpu: 'cpuNs', wait: 'waitNs', block: 'blockNs' };
  const seen = new Set();
  const q = JSON.stringify;
  for (let item of v.split(',')) {
    item = item.trim();
    const eq = item.indexOf('=');
    if (eq < 0) throw new ConfigError(`C10K_WORK=${q(v)}: ${q(item)}: want kind=duration`);
    const kind = item.slice(0, eq);
    if (!(kind in slots)) throw new ConfigError(`C10K_WORK=${q(v)}: ${q(kind)}: unknown kind (want cpu, wait or block)`);
    if (seen.has(kind)) throw new ConfigError(`C10K_WORK=${q(v)}: ${q(kind)}: kind given twice`);
    seen.add(kind);
    try {
      w[slots[kind]] = parseDuration(item.slice(eq + 1));
    } catch (e) {
      throw new ConfigError(`C10K_WORK=${q(v)}: ${q(item)}: ${e.message}`);
    }
  }
  w.size = intEnv('C10K_SIZE', 16);
  if (w.size < 1) throw new ConfigError(`C10K_SIZE=${w.size}: want a positive number of bytes`);
  return w;
}

function loadConfig() {
  const addr = env('C10K_ADDR') || '127.0.0.1:9999';
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (m === null || net.isIP(m[1]) === 0 || Number(m[2]) > 65535) {
    throw new ConfigError(`C10K_ADDR=${JSON.stringify(addr)}: want ip:port`);
  }
  const cfg = {
    host: m[1],
    port: Number(m[2]),
    backlog: intEnv('C10K_BACKLOG', 4096),
    reuseport: boolEnv('C10K_REUSEPORT', false),
    instance: intEnv('C10K_INSTANCE', 0),
    listenFd: intEnv(ENV_LISTEN_FD, -1),
    work: parseWork(),
  };
  const preset = env('C10K_PRESET');
  if (preset !== '') throw new ConfigError(`C10K_PRESET=${JSON.stringify(preset)}: node has no presets`);
  if (cfg.reuseport && cfg.listenFd < 0) {
    throw new ConfigError(`C10K_REUSEPORT=1: Node 20's net cannot set SO_REUSEPORT; start the model through its run, which passes a socket that has it (${ENV_LISTEN_FD})`);
  }
  return cfg;
}

// Failure reports (models/README.md): JSON lines on stdout, the first of a
// kind and errno at once, later ones summed and written at most once a
// second. stdout to a pipe is synchronous in Node on Linux, so a line is
// out before the next statement.
class Reporter {
  constructor(instance) {
    this.instance = instance;
    this.last = new Map(); // key -> ms of the last line
    this.pending = new Map(); // key -> {kind, errno, count, conns, msg}
    this.timer = null;
  }

  report(kind, err, conns) {
    const errno = (err && typeof err.code === 'string' && err.code.startsWith('E')) ? err.code : '';
    const key = `${kind}/${errno}`;
    const now = Date.now();
    const last = this.last.get(key);
    const p = this.pending.get(key) || { kind, errno, count: 0, conns: 0, msg: '' };
    p.count++;
    p.conns = conns;
    p.msg = err ? err.message : '';
    if (last === undefined || now - last >= 1000) {
      this.pending.delete(key);
      this.write(p);
      this.last.set(key, now);
      return;
    }
    this.pending.set(key, p);
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), 1000);
      this.timer.unref();
    }
  }

  flush() {
    this.timer = null;
    const now = Date.now();
    for (const [key, p] of this.pending) {
      this.write(p);
      this.last.set(key, now);
    }
    this.pending.clear();
  }

  write(p) {
    const line = {
      time: new Date().toISOString(), model: MODEL, instance: this.instance,
      kind: p.kind, count: p.count, conns: p.conns,
    };
    if (p.errno) line.errno = p.errno;
    if (p.msg) line.msg = p.msg;
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

// cpu=: spin until the process has used d more of CPU time. Node 20 has
// only a per-process CPU clock (process.cpuUsage, getrusage(RUSAGE_SELF),
// microseconds): the spinning thread is the JS thread, but time of V8's
// and libuv's other threads meanwhile counts toward d too.
function burn(ns) {
  const us = Math.ceil(ns / 1e3);
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= us) return;
  }
}

// block=: the naive handler's blocking call, a real sleep of the JS thread
// (Atomics.wait on a word nobody changes), which stops the whole loop.
const blockWord = new Int32Array(new SharedArrayBuffer(4));
function block(ns) {
  Atomics.wait(blockWord, 0, 0, ns / 1e6);
}

// wait=: a timer of the loop. Node's setTimeout counts from the loop's
// cached time (taken when epoll_wait returned, before this iteration's
// callbacks and their cpu= or block=), so the timer may fire early by that
// much: it is armed again for what is left until d has passed by the
// monotonic clock.
function wait(ns, done) {
  const due = process.hrtime.bigint() + BigInt(ns);
  const arm = () => {
    const left = Number(due - process.hrtime.bigint());
    if (left <= 0) return done();
    setTimeout(arm, Math.max(1, Math.ceil(left / 1e6)));
  };
  arm();
}

// The kind a connection error is reported as: which system call failed.
function connKind(err) {
  return err.syscall === 'read' ? 'read' : 'write';
}

// A connection without work: pipe() writes every chunk back and pauses
// reading while the client does not read its echoes; at the client's FIN
// (allowHalfOpen keeps our side open) it ends our side when all is
// written, and the socket closes.
function echo(sock) {
  sock.pipe(sock);
}

// A connection with work: the stream is cut into requests of w.size
// bytes, handled one at a time; reading pauses while a request is in hand,
// so later ones wait in the kernel's socket buffer.
function echoWork(sock, w) {
  let pending = Buffer.alloc(0);
  let busy = false; // a request is in its wait
  let ended = false; // the client half-closed
  let full = false; // the socket's write buffer is over its mark

  const resume = () => {
    if (!busy && !full && !ended) sock.resume();
  };
  const send = (data) => {
    if (!sock.write(data)) {
      full = true;
      sock.pause();
    }
  };
  const pump = () => {
    while (!busy && !sock.destroyed) {
      if (pending.length < w.size) {
        if (ended) {
          if (pending.length > 0) send(pending); // an incomplete request, as it is
          pending = Buffer.alloc(0);
          sock.end();
        } else {
          resume();
        }
        return;
      }
      const req = pending.subarray(0, w.size);
      pending = pending.subarray(w.size);
      if (w.cpuNs > 0) burn(w.cpuNs);
      if (w.blockNs > 0) block(w.blockNs);
      if (w.waitNs > 0) {
        busy = true;
        sock.pause();
        wait(w.waitNs, () => {
          busy = false;
          if (sock.destroyed) return;
          send(req);
          pump();
        });
        return;
      }
      send(req);
    }
  };
  sock.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    pump();
  });
  sock.on('drain', () => {
    full = false;
    resume();
  });
  sock.on('end', () => {
    ended = true;
    pump();
  });
}

function main() {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${MODEL}: ${e.message}\n`);
    process.exit(2);
  }
  const rep = new Reporter(cfg.instance);
  let live = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
    live++;
    sock.on('error', (err) => rep.report(connKind(err), err, live));
    sock.on('close', () => { live--; });
    if (cfg.work === null) echo(sock);
    else echoWork(sock, cfg.work);
  });
  // libuv accepts in a loop and, out of descriptors (EMFILE, ENFILE),
  // closes the waiting connections itself with a spare descriptor it
  // keeps, without telling Node (README.md); the errors it does pass on
  // arrive here, and it goes on accepting.
  server.on('error', (err) => {
    if (!server.listening) {
      process.stderr.write(`${MODEL}: listen on ${cfg.host}:${cfg.port}: ${err.message}\n`);
      process.exit(2);
    }
    rep.report('accept', err, live);
  });
  listen(server, cfg);
  // SIGTERM keeps its default action: the kernel ends the process at once,
  // even while the loop is inside a block= sleep or a cpu= spin, where a
  // handler would wait for its turn.
}

function listen(server, cfg) {
  if (cfg.listenFd >= 0) {
    // (handle, backlog): the socket arrives bound, and listen(2) with the
    // contract's backlog is Node's.
    server.listen({ fd: cfg.listenFd }, cfg.backlog);
  } else {
    server.listen({ host: cfg.host, port: cfg.port, backlog: cfg.backlog, exclusive: true });
  }
}

main();
