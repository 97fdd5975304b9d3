// Package spool keeps acknowledged samples safe on local disk while the
// database is unreachable, and hands them back, oldest first, when it
// returns. A batch is appended and fsynced before its senders are told it
// is stored, so neither a database outage nor kill -9 loses an
// acknowledged sample. The spool is bounded: when full, Append refuses and
// the caller answers 503 instead of losing data.
//
// On disk: numbered segment files (000000000001.seg …), each a sequence of
// frames [length uint32][CRC-32C uint32][JSON batch]. A frame cut short by a
// crash was never acknowledged and is ignored. A segment is deleted only
// after every batch in it was committed; replaying one twice is harmless
// because stores ignore a (device, time) they already hold.
package spool

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/radtrack/radtrack/sample"
)

// ErrFull means the spool holds its maximum; nothing was written.
var ErrFull = errors.New("spool is full")

// segmentBytes is when a segment is closed and a new one started, so that
// replay can free disk while the outage goes on.
const segmentBytes = 16 << 20

// maxFrameBytes bounds one frame when reading, against a corrupt length.
const maxFrameBytes = 256 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Spool is a directory of segments. Safe for concurrent use.
type Spool struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	segments []segment // oldest first; the last one is open for appends
	active   *os.File
	total    int64
}

type segment struct {
	id   int64
	size int64
}

// Open opens (creating if needed) the spool in dir. Segments left by a
// previous run are kept for replay.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes}
	for _, e := range entries {
		id, ok := segmentID(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.segments = append(s.segments, segment{id: id, size: info.Size()})
		s.total += info.Size()
	}
	sort.Slice(s.segments, func(i, j int) bool { return s.segments[i].id < s.segments[j].id })
	return s, nil
}

func segmentID(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ".seg")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(stem, 10, 64)
	return id, err == nil && id > 0
}

func (s *Spool) path(id int64) string { return filepath.Join(s.dir, fmt.Sprintf("%012d.seg", id)) }

// Bytes is how much the spool holds.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Append writes one batch durably (fsync) or not at all.
func (s *Spool) Append(samples []sample.Sample) error {
	payload, err := json.Marshal(toRecords(samples))
	if err != nil {
		return fmt.Errorf("spool: encode batch: %w", err)
	}
	frame := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, crcTable))
	frame = append(frame, payload...)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total+int64(len(frame)) > s.maxBytes {
		return ErrFull
	}
	if err := s.ensureActive(int64(len(frame))); err != nil {
		return err
	}
	last := &s.segments[len(s.segments)-1]
	if _, err := s.active.Write(frame); err != nil {
		// Cut the partial frame so the next append starts clean.
		_ = s.active.Truncate(last.size)
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		_ = s.active.Truncate(last.size)
		return fmt.Errorf("spool: fsync: %w", err)
	}
	last.size += int64(len(frame))
	s.total += int64(len(frame))
	return nil
}

// ensureActive opens a segment to append to, starting a new one when the
// current is large or was left by a previous run.
func (s *Spool) ensureActive(next int64) error {
	if s.active != nil {
		if s.segments[len(s.segments)-1].size+next <= segmentBytes {
			return nil
		}
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("spool: close segment: %w", err)
		}
		s.active = nil
	}
	id := int64(1)
	if n := len(s.segments); n > 0 {
		id = s.segments[n-1].id + 1
	}
	f, err := os.OpenFile(s.path(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.active = f
	s.segments = append(s.segments, segment{id: id})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync directory: %w", err)
	}
	return nil
}

// Replay hands every spooled batch, oldest first, to write, and deletes a
// segment once all its batches were written. It stops at the first write
// error (the database is still away) and returns the samples replayed.
func (s *Spool) Replay(ctx context.Context, write func(context.Context, []sample.Sample) error) (int, error) {
	replayed := 0
	for {
		seg, ok := s.oldestForReplay()
		if !ok {
			return replayed, nil
		}
		n, err := replaySegment(ctx, s.path(seg.id), write)
		replayed += n
		if err != nil {
			return replayed, err
		}
		if err := s.remove(seg); err != nil {
			return replayed, err
		}
	}
}

// oldestForReplay returns the oldest segment, closing it for appends first
// if it is the active one (appends then start a new segment).
func (s *Spool) oldestForReplay() (segment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segments) == 0 {
		return segment{}, false
	}
	if len(s.segments) == 1 && s.active != nil {
		s.active.Close()
		s.active = nil
	}
	return s.segments[0], true
}

func (s *Spool) remove(seg segment) error {
	if err := os.Remove(s.path(seg.id)); err != nil {
		return fmt.Errorf("spool: remove replayed segment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, have := range s.segments {
		if have.id == seg.id {
			s.total -= have.size
			s.segments = append(s.segments[:i], s.segments[i+1:]...)
			break
		}
	}
	return nil
}

func replaySegment(ctx context.Context, path string, write func(context.Context, []sample.Sample) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	n := 0
	for {
		batch, err := readFrame(rd)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			// A torn or corrupt frame ends the segment: it was never
			// acknowledged (its fsync did not complete).
			return n, nil
		}
		if err := write(ctx, batch); err != nil {
			return n, err
		}
		n += len(batch)
	}
}

func readFrame(rd *bufio.Reader) ([]sample.Sample, error) {
	var head [8]byte
	if _, err := io.ReadFull(rd, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("torn frame header")
		}
		return nil, err
	}
	size := binary.LittleEndian.Uint32(head[0:4])
	if size > maxFrameBytes {
		return nil, errors.New("frame too large")
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(rd, payload); err != nil {
		return nil, errors.New("torn frame")
	}
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(head[4:8]) {
		return nil, errors.New("frame checksum mismatch")
	}
	var recs []record
	if err := json.Unmarshal(payload, &recs); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	return fromRecords(recs), nil
}

// Close closes the active segment; spooled data stays for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	s.active = nil
	return err
}
