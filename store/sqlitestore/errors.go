package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/radtrack/radtrack/store"
)

// Classify is SQLite's verdict on an error of this store (store.Fault),
// the counterpart of pgstore.Classify:
//
//   - Permanent: SQLITE_CONSTRAINT (a NOT NULL, CHECK or STRICT type
//     violation), SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE; a value
//     this package could not encode; a record that refers to nothing.
//   - Transient: SQLITE_BUSY and SQLITE_LOCKED (another writer held the
//     file beyond the busy timeout), SQLITE_NOMEM, SQLITE_IOERR, SQLITE_FULL
//     (disk full), SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_READONLY,
//     SQLITE_INTERRUPT; an ended context; a closed connection.
//   - Unknown: everything else (SQL errors, corruption).
func Classify(err error) store.Fault {
	if err == nil {
		return store.NoFault
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return store.Permanent
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff { // the primary result code of an extended one
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return store.Permanent
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_INTERRUPT:
			return store.Transient
		}
		return store.Unknown
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) {
		return store.Transient
	}
	var (
		unsupportedValue *json.UnsupportedValueError
		unsupportedType  *json.UnsupportedTypeError
		marshaler        *json.MarshalerError
	)
	if errors.As(err, &unsupportedValue) || errors.As(err, &unsupportedType) || errors.As(err, &marshaler) {
		return store.Permanent
	}
	return store.Unknown
}

// Classify implements store.FaultClassifier.
func (s *Store) Classify(err error) store.Fault { return Classify(err) }
