// Package spool keeps acknowledged samples safe on local disk while the
// database is unreachable, and hands them back, oldest first, when it
// returns. A batch is appended and fsynced before its senders are told it
// is stored, so neither a database outage nor kill -9 loses an
// acknowledged sample. The spool is bounded: when full, Append refuses and
// the caller answers 503 instead of losing data.
//
// Batches are JSON frames in a framelog. Replaying one twice (a crash in
// the middle of its commit) is harmless because stores ignore a
// (device, time) they already hold.
package spool

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/sample"
)

// ErrFull means the spool holds its maximum; nothing was written.
var ErrFull = framelog.ErrFull

// Spool is a bounded on-disk queue of sample batches. Safe for concurrent
// use.
type Spool struct{ log *framelog.Log }

// Open opens (creating if needed) the spool in dir. Batches left by a
// previous run are kept for replay.
func Open(dir string, maxBytes int64) (*Spool, error) {
	l, err := framelog.Open(dir, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Spool{log: l}, nil
}

// Bytes is how much the spool holds.
func (s *Spool) Bytes() int64 { return s.log.Bytes() }

// Append writes one batch durably (fsync) or not at all.
func (s *Spool) Append(samples []sample.Sample) error {
	payload, err := json.Marshal(toRecords(samples))
	if err != nil {
		return fmt.Errorf("spool: encode batch: %w", err)
	}
	if err := s.log.Append(payload); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Replay hands every spooled batch, oldest first, to write, and forgets a
// batch once it was written. It stops at the first write error (the
// database is still away) and returns the samples replayed.
func (s *Spool) Replay(ctx context.Context, write func(context.Context, []sample.Sample) error) (int, error) {
	replayed := 0
	_, err := s.log.Replay(ctx, func(ctx context.Context, payload []byte) error {
		var recs []record
		if err := json.Unmarshal(payload, &recs); err != nil {
			// The checksum matched, so this is not a torn write but a
			// frame from an incompatible version: keep it for a person.
			return fmt.Errorf("spool: decode batch: %w", err)
		}
		if err := write(ctx, fromRecords(recs)); err != nil {
			return err
		}
		replayed += len(recs)
		return nil
	})
	return replayed, err
}

// Close closes the active segment; spooled data stays for the next Open.
func (s *Spool) Close() error { return s.log.Close() }
