// Package revocations holds the credentials a node has revoked (logouts,
// API token revocations) until the database has applied them, so that a
// revocation made while the database is unreachable is refused by the node
// at once, survives a restart, and is replayed when the database answers.
//
// On disk it is one small file of frames [length uint32][CRC-32C uint32]
// [JSON record], appended and fsynced one at a time and rewritten (to a
// temporary file, fsynced, renamed) when records are applied. A frame cut
// short by a crash was never acknowledged and is dropped at the next Open.
// The records are few (logouts during an outage) and all of them stay in
// memory, which is what lets the node refuse them without the database.
package revocations

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/radtrack/radtrack/store"
)

// Record is one revoked credential: a session (by its hash) or an API
// token (by its id, and its hash when known).
type Record struct {
	SessionHash []byte    `json:"session_hash,omitempty"`
	TokenID     int64     `json:"token_id,omitempty"`
	TokenHash   []byte    `json:"token_hash,omitempty"`
	At          time.Time `json:"at"`
	// Audit, when set, is appended to the audit log once the revocation is
	// applied (only the node where it was made sets it).
	Audit *store.AuditEntry `json:"audit,omitempty"`
}

// Validate checks that r names exactly one credential.
func (r Record) Validate() error {
	switch {
	case len(r.SessionHash) > 0 && r.TokenID != 0:
		return errors.New("a record names a session or a token, not both")
	case len(r.SessionHash) > 0:
		if len(r.SessionHash) != 32 || len(r.TokenHash) > 0 {
			return errors.New("a session record holds one 32-byte hash")
		}
	case r.TokenID > 0:
		if len(r.TokenHash) != 0 && len(r.TokenHash) != 32 {
			return errors.New("a token hash has 32 bytes")
		}
	default:
		return errors.New("a record names a session hash or a token id")
	}
	return nil
}

// key identifies the credential: two records of one credential are one.
func (r Record) key() string {
	if len(r.SessionHash) > 0 {
		return "s" + hex.EncodeToString(r.SessionHash)
	}
	return "t" + strconv.FormatInt(r.TokenID, 10)
}

// ErrFull means the set holds its maximum; the record was not taken.
var ErrFull = errors.New("revocation journal full")

// DefaultMax bounds a set: far more logouts than an outage sees, a few
// megabytes on disk.
const DefaultMax = 50_000

const fileName = "revocations"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Set is the revoked credentials not yet applied to the database. Safe for
// concurrent use.
type Set struct {
	path string // "" keeps the set in memory only
	max  int

	mu     sync.Mutex
	recs   map[string]Record
	hashes map[string]struct{} // session and token hashes
	tokens map[int64]struct{}
}

// InMemory returns a set that is not kept on disk (a node without a data
// directory): it refuses what it holds until a restart.
func InMemory(maxRecords int) *Set {
	return &Set{max: maxRecords, recs: map[string]Record{}, hashes: map[string]struct{}{}, tokens: map[int64]struct{}{}}
}

// Open loads the set kept in dir (creating dir if needed).
func Open(dir string, maxRecords int) (*Set, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	s := InMemory(maxRecords)
	s.path = filepath.Join(dir, fileName)
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	recs, good := Decode(data)
	for _, r := range recs {
		s.hold(r)
	}
	if good < len(data) {
		// A torn last frame (a crash during Add, never acknowledged):
		// cut it so that appends follow the last good frame.
		if err := os.Truncate(s.path, int64(good)); err != nil {
			return nil, fmt.Errorf("revocations: cut torn frame: %w", err)
		}
	}
	return s, nil
}

// Durable reports whether the set is kept on disk.
func (s *Set) Durable() bool { return s.path != "" }

// Len is how many records the set holds.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// Holds reports whether a credential with this hash or token id (0: none)
// is revoked and not yet applied.
func (s *Set) Holds(hash []byte, tokenID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(hash) > 0 {
		if _, ok := s.hashes[string(hash)]; ok {
			return true
		}
	}
	if tokenID != 0 {
		if _, ok := s.tokens[tokenID]; ok {
			return true
		}
	}
	return false
}

// Add holds r and, for a set on disk, returns only once r is fsynced. A
// credential already held is not added again. On an error r is not held.
func (s *Set) Add(r Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	frame, err := encode(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[r.key()]; ok {
		return nil
	}
	if len(s.recs) >= s.max {
		return ErrFull
	}
	if s.path != "" {
		if err := s.appendFrame(frame); err != nil {
			return err
		}
	}
	s.hold(r)
	return nil
}

// Pending returns the records held, oldest first.
func (s *Set) Pending() []Record {
	s.mu.Lock()
	out := make([]Record, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Record) int { return a.At.Compare(b.At) })
	return out
}

// Remove forgets records the database has applied and rewrites the file
// without them.
func (s *Set) Remove(applied ...Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := false
	for _, r := range applied {
		if have, ok := s.recs[r.key()]; ok {
			delete(s.recs, r.key())
			delete(s.hashes, string(have.SessionHash))
			delete(s.hashes, string(have.TokenHash))
			delete(s.tokens, have.TokenID)
			removed = true
		}
	}
	if !removed || s.path == "" {
		return nil
	}
	return s.rewrite()
}

func (s *Set) hold(r Record) {
	s.recs[r.key()] = r
	if len(r.SessionHash) > 0 {
		s.hashes[string(r.SessionHash)] = struct{}{}
	}
	if len(r.TokenHash) > 0 {
		s.hashes[string(r.TokenHash)] = struct{}{}
	}
	if r.TokenID != 0 {
		s.tokens[r.TokenID] = struct{}{}
	}
}

func (s *Set) appendFrame(frame []byte) error {
	info, statErr := os.Stat(s.path)
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(frame); err != nil {
		if statErr == nil {
			_ = f.Truncate(info.Size())
		}
		return fmt.Errorf("revocations: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		if statErr == nil {
			_ = f.Truncate(info.Size())
		}
		return fmt.Errorf("revocations: fsync: %w", err)
	}
	if statErr != nil {
		// A new file: its directory entry must be durable too.
		return syncDir(filepath.Dir(s.path))
	}
	return nil
}

// rewrite replaces the file with the records held (none: no file).
func (s *Set) rewrite() error {
	dir := filepath.Dir(s.path)
	if len(s.recs) == 0 {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("revocations: %w", err)
		}
		return syncDir(dir)
	}
	var buf bytes.Buffer
	for _, r := range s.recs {
		frame, err := encode(r)
		if err != nil {
			return err
		}
		buf.Write(frame)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("revocations: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("revocations: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("revocations: fsync directory: %w", err)
	}
	return nil
}

// maxRecordBytes bounds one frame when reading, against a corrupt length.
const maxRecordBytes = 64 << 10

func encode(r Record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("revocations: encode: %w", err)
	}
	if len(payload) > maxRecordBytes {
		return nil, errors.New("revocations: record too large")
	}
	frame := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, crcTable))
	return append(frame, payload...), nil
}

// Decode reads the frames of a file: the valid records, and how many
// bytes they span. Reading stops at the first frame that is cut short,
// fails its checksum or holds no valid record.
func Decode(data []byte) (recs []Record, good int) {
	for {
		rest := data[good:]
		if len(rest) < 8 {
			return recs, good
		}
		size := binary.LittleEndian.Uint32(rest[0:4])
		if size > maxRecordBytes || uint64(len(rest)-8) < uint64(size) {
			return recs, good
		}
		payload := rest[8 : 8+size]
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(rest[4:8]) {
			return recs, good
		}
		var r Record
		if err := json.Unmarshal(payload, &r); err != nil || r.Validate() != nil {
			return recs, good
		}
		recs = append(recs, r)
		good += 8 + int(size)
	}
}
