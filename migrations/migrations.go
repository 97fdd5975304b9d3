// Package migrations holds RadTrack's versioned SQL schema, embedded into the
// binary. Files are named NNNN_name.sql and apply in version order. A version
// may instead come as a pair NNNN_name.tsdb.sql / NNNN_name.plain.sql: the
// first runs when the TimescaleDB extension is available, the second on plain
// PostgreSQL, so both engines end with the same tables, views and queries.
//
// A file whose first line is "-- radtrack:no-transaction" runs outside a
// transaction (TimescaleDB refuses some DDL inside one).
package migrations

import "embed"

// FS contains every migration file.
//
//go:embed *.sql
var FS embed.FS
