// Package spool keeps acknowledged samples safe on local disk while the
// database is unreachable, and hands them back, oldest first, when it
// returns. A batch is appended and fsynced before its senders are told it
// is stored, so neither a database outage nor kill -9 loses an
// acknowledged sample. The spool is bounded: when full, Append refuses and
// the caller answers 503 instead of losing data.
//
// Batches are JSON frames in a framelog. Replaying one twice (a crash in
// the middle of its commit) is harmless because stores ignore a
// (device, time) they already hold. A sample the database refuses for
// good never stops the replay: it goes to the dead-letter log beside the
// spool (DIR/deadletter) and the replay moves on.
package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// ErrFull means the spool holds its maximum; nothing was written.
var ErrFull = framelog.ErrFull

// Spool is a bounded on-disk queue of sample batches. Safe for concurrent
// use.
type Spool struct {
	log  *framelog.Log
	dead *deadletter.Log
}

// Open opens (creating if needed) the spool in dir, and its dead-letter
// log in dir/deadletter; each holds at most maxBytes. Batches left by a
// previous run are kept for replay.
func Open(dir string, maxBytes int64) (*Spool, error) {
	l, err := framelog.Open(dir, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	dead, err := deadletter.Open(filepath.Join(dir, deadletter.DirName), maxBytes)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Spool{log: l, dead: dead}, nil
}

// DeadLetterBytes is how much the dead-letter log holds.
func (s *Spool) DeadLetterBytes() int64 { return s.dead.Bytes() }

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

// ReplayStats is what one Replay did.
type ReplayStats struct {
	Replayed int // samples the database took
	// DeadLettered are the samples (or unreadable frames) set aside in the
	// dead-letter log, for the caller to log and count.
	DeadLettered []deadletter.Record
}

// Replay hands every spooled batch, oldest first, to write, and forgets a
// batch once it was written. When write returns a *store.RefusedError, the
// refused samples go to the dead-letter log (the others are stored) and the
// replay moves on; a frame that cannot be decoded goes there too. Any other
// error from write (the database is still away) stops the replay: that
// batch is handed out again by the next Replay. So does a full dead-letter
// log: nothing acknowledged is dropped.
func (s *Spool) Replay(ctx context.Context, write func(context.Context, []sample.Sample) error) (ReplayStats, error) {
	var st ReplayStats
	_, err := s.log.Replay(ctx, func(ctx context.Context, payload []byte) error {
		var recs []record
		if err := json.Unmarshal(payload, &recs); err != nil {
			// The checksum matched, so this is not a torn write but a
			// frame this version cannot read: keep it for a person.
			dl := deadletter.Record{Kind: deadletter.KindFrame, Reason: "unreadable spool frame: " + err.Error(), Raw: payload}
			return s.setAside(&st, []deadletter.Record{dl})
		}
		err := write(ctx, fromRecords(recs))
		var refused *store.RefusedError
		if err != nil && !errors.As(err, &refused) {
			return err
		}
		var dls []deadletter.Record
		if refused != nil {
			dls = make([]deadletter.Record, 0, len(refused.Refusals))
			for _, rf := range refused.Refusals {
				if rf.Index < 0 || rf.Index >= len(recs) {
					return fmt.Errorf("spool: refusal of sample %d in a batch of %d", rf.Index, len(recs))
				}
				r := recs[rf.Index]
				raw, err := json.Marshal(r)
				if err != nil {
					return fmt.Errorf("spool: encode refused sample: %w", err)
				}
				dls = append(dls, deadletter.Record{
					Kind: deadletter.KindSample, DeviceID: r.DeviceID, DeviceUID: r.DeviceUID, Time: r.Time,
					Field: rf.Field, Reason: rf.Err.Error(), Payload: raw,
				})
			}
			if err := s.setAside(&st, dls); err != nil {
				return err
			}
		}
		st.Replayed += len(recs) - len(dls)
		return nil
	})
	return st, err
}

func (s *Spool) setAside(st *ReplayStats, recs []deadletter.Record) error {
	now := time.Now().UTC()
	for i := range recs {
		recs[i].SetAside = now
	}
	if err := s.dead.Append(recs); err != nil {
		return fmt.Errorf("spool: cannot set aside %d refused record(s), the replay waits: %w", len(recs), err)
	}
	st.DeadLettered = append(st.DeadLettered, recs...)
	return nil
}

// SamplesOf decodes the samples a dead-letter record of KindSample holds,
// for a re-drive.
func SamplesOf(r deadletter.Record) ([]sample.Sample, error) {
	var rec record
	if err := json.Unmarshal(r.Payload, &rec); err != nil {
		return nil, fmt.Errorf("spool: decode dead-lettered sample: %w", err)
	}
	return fromRecords([]record{rec}), nil
}

// Close closes the active segments; spooled data stays for the next Open.
func (s *Spool) Close() error { return errors.Join(s.log.Close(), s.dead.Close()) }
