// Package deadletter keeps, on local disk, what a replay of the spool or
// the alarm journal had to set aside because the database refuses it for
// good (a permanent error: store.Permanent) — so that one bad record never
// stops the replay of everything queued after it, and is never lost
// either: it waits here for a person, who lists it (`radtrack deadletter
// list`) and, after a fix, re-drives it (`radtrack deadletter redrive`).
//
// A dead-letter log is a framelog in a directory named "deadletter" beside
// the log it serves (DATA/spool/deadletter, DATA/spool/alarms/deadletter):
// each frame, appended and fsynced at once, is a JSON array of the records
// one replayed frame gave up, so a crash never keeps half of them. It is
// bounded like the spool; when full, Append refuses and the replay waits
// (keeping the data) instead of dropping it.
package deadletter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/internal/framelog"
)

// DirName is the dead-letter directory inside the spool or journal
// directory it serves.
const DirName = "deadletter"

// Kinds of records.
const (
	// KindSample is one spooled sample; Payload is its spool record.
	KindSample = "sample"
	// KindAlarmEvent is one journaled alarm event; Payload is its journal
	// entry.
	KindAlarmEvent = "alarm_event"
	// KindFrame is a frame that could not even be decoded; Raw holds it.
	KindFrame = "frame"
)

// Record is one thing a replay set aside.
type Record struct {
	Kind      string    `json:"kind"`
	SetAside  time.Time `json:"set_aside_at"`
	DeviceID  int64     `json:"device_id,omitempty"`
	DeviceUID string    `json:"device_uid,omitempty"`
	// Time is the sample's time, or the alarm event's.
	Time    time.Time `json:"time,omitzero"`
	AlarmID int64     `json:"alarm_id,omitempty"`
	Event   string    `json:"event,omitempty"` // alarm event type
	// Field is the field at fault when the store named it.
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
	// Payload is the record exactly as the spool or the journal held it,
	// so that a re-drive gives back what was acknowledged.
	Payload json.RawMessage `json:"payload,omitempty"`
	Raw     []byte          `json:"raw,omitempty"`
}

// Log is an open dead-letter log. Safe for concurrent use.
type Log struct {
	dir     string
	log     *framelog.Log
	records atomic.Uint64
}

// Open opens (creating if needed) the dead-letter log in dir, holding at
// most maxBytes.
func Open(dir string, maxBytes int64) (*Log, error) {
	l, err := framelog.Open(dir, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("dead-letter log: %w", err)
	}
	return &Log{dir: dir, log: l}, nil
}

// Dir is where the log lives.
func (l *Log) Dir() string { return l.dir }

// Append writes recs durably (fsync) as one frame, or nothing. It fails
// with an error wrapping framelog.ErrFull when the log is full.
func (l *Log) Append(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	payload, err := json.Marshal(recs)
	if err != nil {
		return fmt.Errorf("dead-letter log: encode: %w", err)
	}
	if err := l.log.Append(payload); err != nil {
		return fmt.Errorf("dead-letter log %s: %w", l.dir, err)
	}
	l.records.Add(uint64(len(recs)))
	return nil
}

// Bytes is how much the log holds on disk.
func (l *Log) Bytes() int64 { return l.log.Bytes() }

// Appended counts the records appended since Open.
func (l *Log) Appended() uint64 { return l.records.Load() }

// Close closes the log; what it holds stays.
func (l *Log) Close() error { return l.log.Close() }

// List reads every record of the dead-letter log in dir, oldest first,
// without changing it; a missing dir holds none.
func List(dir string, fn func(Record) error) error {
	return framelog.Scan(dir, func(payload []byte) error {
		var recs []Record
		if err := json.Unmarshal(payload, &recs); err != nil {
			return fn(Record{Kind: KindFrame, Reason: "unreadable dead-letter frame: " + err.Error(), Raw: payload})
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Remove deletes the dead-letter log in dir, after a re-drive moved what
// it held back to where it came from. Nothing may have it open.
func Remove(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dead-letter log: %w", err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("dead-letter log: %w", err)
		}
	}
	return nil
}
