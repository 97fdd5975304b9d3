package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/radtrack/radtrack/sample"
)

// The measurements COPY is encoded here, straight from samples into
// PostgreSQL's binary COPY format, instead of through pgx's generic
// CopyFrom: that path boxes every value in an interface and looks up an
// encode plan per value, which cost about a seventh of the ingest path's
// CPU (profile of `radtrack bench ingest`) — CPU the database backends on
// the same machine then lack. The format: PostgreSQL documentation, "COPY",
// section "Binary Format"; the value encodings are the types' send
// functions (int8send, float8send, timestamptz_send, jsonb_send, …).

// copyHeader is the binary COPY signature, flags field and header extension
// length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch,
// in microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800_000_000

// encodeSamplesCopy appends the binary COPY stream of samples, in
// measurementColumns order, to b.
func encodeSamplesCopy(b []byte, samples []sample.Sample) ([]byte, error) {
	b = append(b, copyHeader...)
	for i := range samples {
		s := &samples[i]
		b = binary.BigEndian.AppendUint16(b, uint16(len(measurementColumns)))
		b = appendTime(b, s.Time.UnixMicro())
		b = appendInt64(b, s.DeviceID)
		b = appendTime(b, s.ReceivedAt.UnixMicro())
		if s.GPSValid {
			b = appendFloat(b, s.Lon)
			b = appendFloat(b, s.Lat)
		} else {
			// No fix: NULL, so a table reader never sees a point at 0,0.
			b = appendNull(appendNull(b))
		}
		b = appendBool(b, s.GPSValid)
		b = appendFloat(b, s.Altitude)
		b = appendFloat(b, s.Speed)
		b = appendFloat(b, s.Heading)
		b = appendFloat(b, s.HDOP)
		b = appendFloat(b, s.Accuracy)
		if s.Satellites >= 0 {
			b = binary.BigEndian.AppendUint32(b, 2)
			b = binary.BigEndian.AppendUint16(b, uint16(min(s.Satellites, math.MaxInt16)))
		} else {
			b = appendNull(b)
		}
		b = appendFloat(b, s.DoseRate)
		b = appendFloat(b, s.CPM)
		b = appendFloat(b, s.Counts)
		b = appendFloat(b, s.CountInterval)
		b = appendBool(b, s.RadValid)
		b = appendFloat(b, s.Battery)
		b = binary.BigEndian.AppendUint32(b, uint32(len(s.Source)))
		b = append(b, s.Source...)
		b = appendBool(b, s.Imported)
		if len(s.Attributes) > 0 {
			js, err := json.Marshal(s.Attributes)
			if err != nil {
				return b, fmt.Errorf("encode attributes of device %d at %s: %w", s.DeviceID, s.Time, err)
			}
			b = binary.BigEndian.AppendUint32(b, uint32(1+len(js)))
			b = append(b, 1) // jsonb binary format version
			b = append(b, js...)
		} else {
			b = appendNull(b)
		}
	}
	return binary.BigEndian.AppendUint16(b, 0xffff), nil // file trailer: -1
}

func appendNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

func appendInt64(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendTime(b []byte, unixMicros int64) []byte { return appendInt64(b, unixMicros-pgEpochMicros) }

// appendFloat writes a float8, or NULL for the sample's NaN-for-absent.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

func appendBool(b []byte, v bool) []byte {
	b = binary.BigEndian.AppendUint32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// copySamples COPYs samples into table over conn in binary format.
func (s *Store) copySamples(ctx context.Context, conn *pgconn.PgConn, table string, samples []sample.Sample) error {
	// Encoded batches are recycled: a 10 000-row batch is ~2 MB, and a
	// fresh one per commit would be zeroed and collected every time.
	bufp, _ := s.copyBufs.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	encoded, err := encodeSamplesCopy((*bufp)[:0], samples)
	*bufp = encoded
	if err != nil {
		s.copyBufs.Put(bufp)
		return err
	}
	sql := "COPY " + table + " (" + strings.Join(measurementColumns, ", ") + ") FROM STDIN (FORMAT binary)"
	if _, err := conn.CopyFrom(ctx, bytes.NewReader(encoded), sql); err != nil {
		// pgx's sending goroutine may still be reading the buffer after a
		// failed COPY (connection lost mid-send): it must not be reused.
		return err
	}
	s.copyBufs.Put(bufp)
	return nil
}
