package live

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Log offsets map one to one onto Redis stream IDs "ms-seq":
//
//	offset = ms<<20 | seq     (ms: 43 bits, until year 2248; seq < 2^19)
//
// so they order like the IDs, are time-based (an empty log after a restart
// starts above every offset issued before it) and need no extra counter.
// Redis never issues 2^19 IDs within one millisecond; an ID that does not
// fit is an error, never a wrapped offset. They exceed 2^53, so the wire
// protocol carries them as decimal strings (JavaScript numbers would round).
//
// The top bit of the sequence (localBit) marks a node-local offset: one a
// hub issued to its own viewers for an event that is not (yet) at that
// position of the cluster log, because the log was unreachable or slow
// (hub_alarms.go). Only the node that issued it can resume from it.
const (
	seqBits  = 20
	seqMask  = 1<<seqBits - 1
	localBit = 1 << (seqBits - 1)
	maxMS    = 1<<(63-seqBits) - 1
)

// isLocalOffset reports whether off was issued by a hub rather than the log.
func isLocalOffset(off int64) bool { return off&localBit != 0 }

// offsetFromID converts a stream ID "ms-seq" to an offset.
func offsetFromID(id string) (int64, error) {
	msPart, seqPart, ok := strings.Cut(id, "-")
	if !ok {
		return 0, fmt.Errorf("stream id %q: want ms-seq", id)
	}
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil || ms > maxMS {
		return 0, fmt.Errorf("stream id %q: bad milliseconds", id)
	}
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil || seq >= localBit {
		return 0, fmt.Errorf("stream id %q: sequence does not fit in %d bits", id, seqBits-1)
	}
	return int64(ms<<seqBits | seq), nil
}

// idFromOffset is the inverse of offsetFromID.
func idFromOffset(off int64) string {
	if off < 0 {
		off = 0
	}
	return strconv.FormatInt(off>>seqBits, 10) + "-" + strconv.FormatInt(off&seqMask, 10)
}

// timeOffset is the smallest offset of millisecond t; MemoryBroker issues
// offsets the same way so that both brokers behave alike across restarts.
func timeOffset(t time.Time) int64 { return t.UnixMilli() << seqBits }

// parseOffset reads an offset sent by a client: a decimal string (the form
// the server sends) or, leniently, a JSON number small enough to be exact.
func parseOffset(raw []byte) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	off, err := strconv.ParseInt(s, 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("offset %q: want a non-negative decimal string", s)
	}
	return off, nil
}
