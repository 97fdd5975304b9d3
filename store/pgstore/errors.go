package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/radtrack/radtrack/store"
)

// Classify is PostgreSQL's verdict on an error of this store (store.Fault):
//
//   - Permanent: the server refused the data — SQLSTATE class 22 (data
//     exception: NUL in text or jsonb, a lone surrogate escape, a number
//     out of range), 23 (integrity constraint violation), 44 (WITH CHECK
//     OPTION violation), 54 (program limit exceeded: a value nested or
//     sized beyond what the server takes); a value this package could not
//     encode; a record that refers to nothing (store.ErrNotFound,
//     store.ErrConflict).
//   - Transient: class 08 (connection exception), 53 (insufficient
//     resources, too many connections), 57 (operator intervention: admin
//     shutdown, crash shutdown, statement timeout), 58 (system error),
//     40001/40P01 (serialization failure, deadlock), 55P03 (lock timeout),
//     25006 (read-only transaction: a standby after a failover); and every
//     error the server did not answer at all (connection refused or lost,
//     timeouts, a closed pool) — the server never judged the data.
//   - Unknown: any other SQLSTATE (a missing table, a permission, a
//     trigger's RAISE EXCEPTION without a code, P0001, which may mean
//     anything): a bug or a misconfiguration that neither a retry nor
//     setting data aside fixes.
func Classify(err error) store.Fault {
	if err == nil {
		return store.NoFault
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return store.Permanent
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifySQLState(pgErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return store.Transient
	}
	var (
		unsupportedValue *json.UnsupportedValueError
		unsupportedType  *json.UnsupportedTypeError
		marshaler        *json.MarshalerError
	)
	if errors.As(err, &unsupportedValue) || errors.As(err, &unsupportedType) || errors.As(err, &marshaler) {
		return store.Permanent // encoding a value failed before anything was sent
	}
	// Connection refused or lost, timeouts, pool closed or exhausted: no
	// answer from the server at all.
	return store.Transient
}

func classifySQLState(code string) store.Fault {
	if len(code) != 5 {
		return store.Unknown
	}
	switch code {
	case "40001", "40P01", // serialization failure, deadlock detected
		"55P03", // lock_not_available (lock_timeout)
		"25006": // read_only_sql_transaction: a standby after a failover
		return store.Transient
	}
	switch code[:2] {
	case "22", // data exception
		"23", // integrity constraint violation
		"44", // WITH CHECK OPTION violation
		"54": // program limit exceeded
		return store.Permanent
	case "08", // connection exception
		"53", // insufficient resources
		"57", // operator intervention (admin shutdown, crash shutdown, query canceled)
		"58": // system error (I/O)
		return store.Transient
	}
	return store.Unknown
}

// Classify implements store.FaultClassifier.
func (s *Store) Classify(err error) store.Fault { return Classify(err) }

// Unavailable reports whether err means the database could not be reached
// or could not work right now: Classify's Transient.
func Unavailable(err error) bool { return Classify(err) == store.Transient }

// The column a refusal names, from PostgreSQL's error context: "COPY
// measurements, line 2, column attributes" for COPY, "unnamed portal
// parameter $42 = '...'" for a bound parameter. The context lines come
// innermost first (the JSON data, which a device wrote, comes before them),
// so the last match is the server's own. The text follows lc_messages: when
// it is not English, the column is just not named.
var (
	copyColumn     = regexp.MustCompile(`COPY \S+, line \d+, column (\w+)`)
	boundParameter = regexp.MustCompile(`unnamed portal parameter \$(\d+)`)
)

// withColumn wraps a data error the server attributed to one column in a
// *store.ColumnError, so that a refusal can name the field. params are
// the columns of a multi-row INSERT's parameters, repeating per row.
func withColumn(err error, params []string) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || classifySQLState(pgErr.Code) != store.Permanent {
		return err
	}
	col := pgErr.ColumnName
	if m := copyColumn.FindAllStringSubmatch(pgErr.Where, -1); col == "" && m != nil {
		col = m[len(m)-1][1]
	}
	if m := boundParameter.FindAllStringSubmatch(pgErr.Where, -1); col == "" && m != nil && len(params) > 0 {
		if n, convErr := strconv.Atoi(m[len(m)-1][1]); convErr == nil && n >= 1 {
			col = params[(n-1)%len(params)]
		}
	}
	if col == "" {
		return err
	}
	return &store.ColumnError{Column: col, Err: err}
}
