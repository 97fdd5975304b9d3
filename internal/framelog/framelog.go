// Package framelog is a bounded, durable, append-only log of opaque frames
// on local disk, replayed oldest first. It is what the sample spool and the
// alarm journal keep while the database is unreachable.
//
// A frame is appended and fsynced before Append returns, so a caller may
// acknowledge what it holds. Replay hands frames back in order and deletes
// a segment once every frame in it was consumed; a replay cursor, fsynced
// after each frame, makes a replay interrupted by a crash resume after the
// last consumed frame instead of repeating the segment.
//
// On disk: numbered segment files (000000000001.seg …), each a sequence of
// frames [length uint32][CRC-32C uint32][payload], and a 20-byte cursor
// file [segment int64][offset int64][CRC-32C uint32]. A frame cut short by a
// crash was never acknowledged and ends its segment.
package framelog

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrFull means the log holds its maximum; nothing was written.
var ErrFull = errors.New("log is full")

// segmentBytes is when a segment is closed and a new one started, so that
// replay can free disk while an outage goes on.
const segmentBytes = 16 << 20

// maxFrameBytes bounds one frame when reading, against a corrupt length.
const maxFrameBytes = 256 << 20

const cursorFile = "cursor"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Log is a directory of segments. Safe for concurrent use; Replay calls
// must not overlap each other.
type Log struct {
	dir      string
	maxBytes int64

	// replaying lets one Replay run at a time: two would consume the
	// same frames and race to remove the same segment.
	replaying sync.Mutex

	mu       sync.Mutex
	segments []segment // oldest first; the last one is open for appends
	active   *os.File
	total    int64
	cursor   position // first unconsumed frame of the oldest segment
}

type segment struct {
	id   int64
	size int64
}

type position struct {
	segment, offset int64
}

// Open opens (creating if needed) the log in dir. Segments left by a
// previous run are kept for replay.
func Open(dir string, maxBytes int64) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("framelog: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("framelog: %w", err)
	}
	l := &Log{dir: dir, maxBytes: maxBytes}
	for _, e := range entries {
		id, ok := segmentID(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("framelog: %w", err)
		}
		l.segments = append(l.segments, segment{id: id, size: info.Size()})
		l.total += info.Size()
	}
	sort.Slice(l.segments, func(i, j int) bool { return l.segments[i].id < l.segments[j].id })
	l.cursor = readCursor(filepath.Join(dir, cursorFile))
	return l, nil
}

func segmentID(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ".seg")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(stem, 10, 64)
	return id, err == nil && id > 0
}

func (l *Log) path(id int64) string { return filepath.Join(l.dir, fmt.Sprintf("%012d.seg", id)) }

// Bytes is how much the log holds on disk, consumed frames of a partly
// replayed segment included.
func (l *Log) Bytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Empty reports whether the log holds no segment.
func (l *Log) Empty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.segments) == 0
}

// Append writes one frame durably (fsync) or not at all.
func (l *Log) Append(payload []byte) error {
	frame := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, crcTable))
	frame = append(frame, payload...)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total+int64(len(frame)) > l.maxBytes {
		return ErrFull
	}
	if err := l.ensureActive(int64(len(frame))); err != nil {
		return err
	}
	last := &l.segments[len(l.segments)-1]
	if _, err := l.active.Write(frame); err != nil {
		// Cut the partial frame so the next append starts clean.
		_ = l.active.Truncate(last.size)
		return fmt.Errorf("framelog: write: %w", err)
	}
	if err := l.active.Sync(); err != nil {
		_ = l.active.Truncate(last.size)
		return fmt.Errorf("framelog: fsync: %w", err)
	}
	last.size += int64(len(frame))
	l.total += int64(len(frame))
	return nil
}

// ensureActive opens a segment to append to, starting a new one when the
// current is large or was left by a previous run.
func (l *Log) ensureActive(next int64) error {
	if l.active != nil {
		if l.segments[len(l.segments)-1].size+next <= segmentBytes {
			return nil
		}
		if err := l.active.Close(); err != nil {
			return fmt.Errorf("framelog: close segment: %w", err)
		}
		l.active = nil
	}
	id := int64(1)
	if n := len(l.segments); n > 0 {
		id = l.segments[n-1].id + 1
	} else if l.cursor.segment >= id {
		// Never reuse the id a stale cursor names.
		id = l.cursor.segment + 1
	}
	f, err := os.OpenFile(l.path(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("framelog: new segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.active = f
	l.segments = append(l.segments, segment{id: id})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("framelog: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("framelog: fsync directory: %w", err)
	}
	return nil
}

// Replay hands every frame, oldest first, to consume. A frame is consumed
// when consume returns nil; Replay stops at the first error and returns
// it with the number of frames consumed, and the next Replay starts with
// the frame that failed.
func (l *Log) Replay(ctx context.Context, consume func(context.Context, []byte) error) (int, error) {
	l.replaying.Lock()
	defer l.replaying.Unlock()
	consumed := 0
	for {
		if err := ctx.Err(); err != nil {
			return consumed, err
		}
		seg, from, ok := l.oldestForReplay()
		if !ok {
			return consumed, nil
		}
		n, err := l.replaySegment(ctx, seg, from, consume)
		consumed += n
		if err != nil {
			return consumed, err
		}
		if err := l.remove(seg); err != nil {
			return consumed, err
		}
	}
}

// oldestForReplay returns the oldest segment and the offset to start at,
// closing the segment for appends first if it is the active one (appends
// then start a new segment).
func (l *Log) oldestForReplay() (segment, int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segments) == 0 {
		return segment{}, 0, false
	}
	if len(l.segments) == 1 && l.active != nil {
		l.active.Close()
		l.active = nil
	}
	seg := l.segments[0]
	var from int64
	if l.cursor.segment == seg.id {
		from = l.cursor.offset
	}
	return seg, from, true
}

func (l *Log) remove(seg segment) error {
	if err := os.Remove(l.path(seg.id)); err != nil {
		return fmt.Errorf("framelog: remove replayed segment: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, have := range l.segments {
		if have.id == seg.id {
			l.total -= have.size
			l.segments = append(l.segments[:i], l.segments[i+1:]...)
			break
		}
	}
	return nil
}

func (l *Log) replaySegment(ctx context.Context, seg segment, from int64, consume func(context.Context, []byte) error) (int, error) {
	f, err := os.Open(l.path(seg.id))
	if err != nil {
		return 0, fmt.Errorf("framelog: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, fmt.Errorf("framelog: %w", err)
	}
	rd := bufio.NewReader(f)
	n, offset := 0, from
	for {
		payload, err := readFrame(rd)
		if err != nil {
			// EOF, or a torn or corrupt frame, ends the segment: such a
			// frame was never acknowledged (its fsync did not complete).
			return n, nil
		}
		if err := consume(ctx, payload); err != nil {
			return n, err
		}
		n++
		offset += 8 + int64(len(payload))
		if err := l.saveCursor(position{seg.id, offset}); err != nil {
			return n, err
		}
	}
}

func readFrame(rd *bufio.Reader) ([]byte, error) {
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
	return payload, nil
}

// saveCursor records durably that every frame before p was consumed. The
// 20 bytes are rewritten in place: one sector, and a checksum rejects a
// torn write (the segment's replay then starts over, which is the
// behaviour without a cursor).
func (l *Log) saveCursor(p position) error {
	var buf [20]byte
	binary.LittleEndian.PutUint64(buf[0:8], uint64(p.segment))
	binary.LittleEndian.PutUint64(buf[8:16], uint64(p.offset))
	binary.LittleEndian.PutUint32(buf[16:20], crc32.Checksum(buf[:16], crcTable))
	f, err := os.OpenFile(filepath.Join(l.dir, cursorFile), os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("framelog: cursor: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteAt(buf[:], 0); err != nil {
		return fmt.Errorf("framelog: cursor: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("framelog: cursor fsync: %w", err)
	}
	l.mu.Lock()
	l.cursor = p
	l.mu.Unlock()
	return nil
}

func readCursor(path string) position {
	buf, err := os.ReadFile(path)
	if err != nil || len(buf) != 20 {
		return position{}
	}
	if crc32.Checksum(buf[:16], crcTable) != binary.LittleEndian.Uint32(buf[16:20]) {
		return position{}
	}
	return position{int64(binary.LittleEndian.Uint64(buf[0:8])), int64(binary.LittleEndian.Uint64(buf[8:16]))}
}

// Close closes the active segment; what the log holds stays for the next
// Open.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return nil
	}
	err := l.active.Close()
	l.active = nil
	return err
}

// Scan reads every frame of the log in dir, oldest first, without
// consuming anything and without creating dir (a missing dir holds no
// frames), for tools that only look. Frames a replay already consumed
// are included. A frame cut short ends its segment, as in Replay.
func Scan(dir string, fn func(payload []byte) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("framelog: %w", err)
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := segmentID(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := scanSegment(filepath.Join(dir, fmt.Sprintf("%012d.seg", id)), fn); err != nil {
			return err
		}
	}
	return nil
}

func scanSegment(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed since the directory was read
	}
	if err != nil {
		return fmt.Errorf("framelog: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	for {
		payload, err := readFrame(rd)
		if err != nil {
			return nil
		}
		if err := fn(payload); err != nil {
			return err
		}
	}
}
