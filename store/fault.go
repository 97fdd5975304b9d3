package store

import (
	"fmt"
	"strings"
)

// Fault is what a failed storage call means for the data it carried. Each
// backend has one classifier (pgstore.Classify, sqlitestore.Classify); the
// ingest writer, the spool replay and the alarm-journal replay all act on
// its verdict, so they never disagree about an error.
type Fault uint8

const (
	// NoFault: there was no error.
	NoFault Fault = iota
	// Transient: the database could not take the data now (unreachable,
	// connection lost, timed out, shutting down, out of resources, a
	// serialization conflict). Keep the data and try again later.
	Transient
	// Permanent: the database refused the data itself (PostgreSQL SQLSTATE
	// classes 22 data exception and 23 integrity constraint violation, a
	// value the store cannot encode, a record that refers to nothing). A
	// retry repeats the refusal: isolate the bad record and set it aside.
	Permanent
	// Unknown: neither — a bug or a misconfiguration (a missing table, a
	// permission). Nothing is set aside on this verdict: the data is kept
	// where it is (the request answers 503, a replay waits) until a person
	// fixes the cause.
	Unknown
)

func (f Fault) String() string {
	switch f {
	case NoFault:
		return "none"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	default:
		return "unknown"
	}
}

// FaultClassifier is implemented by stores: it classifies the errors they
// return.
type FaultClassifier interface {
	Classify(err error) Fault
}

// Refusal is one sample of a batch that the store refused for good.
type Refusal struct {
	Index int    // position in the batch
	Field string // the field at fault when the store names it, else ""
	Err   error  // the store's refusal (Permanent)
}

// RefusedError reports a batch of which the store refused some samples for
// good (Permanent); every other sample of the batch is stored.
type RefusedError struct {
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	if len(e.Refusals) == 0 {
		return "no sample refused"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the database refused %d sample(s) for good: ", len(e.Refusals))
	for i, r := range e.Refusals {
		if i == 3 {
			fmt.Fprintf(&b, "; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "#%d: %v", r.Index, r.Err)
	}
	return b.String()
}

// ColumnError is a refusal the store attributes to one column (for
// measurements, the sample field of the same name).
type ColumnError struct {
	Column string
	Err    error
}

func (e *ColumnError) Error() string { return "column " + e.Column + ": " + e.Err.Error() }
func (e *ColumnError) Unwrap() error { return e.Err }
