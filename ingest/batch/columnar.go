package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// ColumnarType is the media type of the columnar batch body, for gateways
// that send many samples per request: fixed-width little-endian columns,
// decoded without parsing text (README, "Columnar batch body").
const ColumnarType = "application/vnd.radtrack.columnar"

// The body: a 12-byte header — the magic "RTC1", the sample count n
// (uint32) and a bit set of the columns present (uint32) — then each
// present column in bit order, n values each. Nothing may follow.
const (
	columnarMagic  = "RTC1"
	columnarHeader = 12
)

// Column bits, in the order the columns follow the header.
const (
	ColTime          = 1 << iota // int64 Unix microseconds, required
	ColLat                       // float64 degrees; with ColLon; NaN: no fix
	ColLon                       // float64 degrees
	ColAltitude                  // float64 metres; NaN: absent (so for every float column)
	ColSpeed                     // float64 m/s
	ColHeading                   // float64 degrees
	ColHDOP                      // float64
	ColAccuracy                  // float64 metres
	ColSatellites                // int16; -1: absent
	ColDoseRate                  // float64 µSv/h
	ColCPM                       // float64
	ColCounts                    // float64
	ColCountInterval             // float64 seconds
	ColBattery                   // float64 percent
	ColGPSValid                  // uint8 0 or 1; absent: 1 when lat and lon are given
	ColRadValid                  // uint8 0 or 1; absent: 1
	colEnd
)

// columnWidth is the bytes per value of column bit.
func columnWidth(bit uint32) int {
	switch bit {
	case ColSatellites:
		return 2
	case ColGPSValid, ColRadValid:
		return 1
	}
	return 8
}

var columnNames = map[uint32]string{ColGPSValid: "gps_valid", ColRadValid: "rad_valid"}

// DecodeColumnar decodes a columnar body. A malformed header or length is
// a *SyntaxError (nothing stored); a sample whose values contradict each
// other is a *SampleError by index, as in Decode. Ranges are checked by
// the pipeline (sample.Validate), as for every protocol.
func DecodeColumnar(body []byte) (Decoded, error) {
	if len(body) < columnarHeader || string(body[:4]) != columnarMagic {
		return Decoded{}, &SyntaxError{Line: 1, Msg: `columnar body must start with "RTC1", the sample count and the column set (12 bytes)`}
	}
	n := int(binary.LittleEndian.Uint32(body[4:]))
	cols := binary.LittleEndian.Uint32(body[8:])
	if cols >= colEnd {
		return Decoded{}, &SyntaxError{Offset: 8, Line: 1, Msg: fmt.Sprintf("unknown columns 0x%x", cols&^(colEnd-1))}
	}
	if cols&ColTime == 0 {
		return Decoded{}, &SyntaxError{Offset: 8, Line: 1, Msg: "the time column is required"}
	}
	if (cols&ColLat == 0) != (cols&ColLon == 0) {
		return Decoded{}, &SyntaxError{Offset: 8, Line: 1, Msg: "lat and lon columns must be sent together"}
	}
	width := 0
	for c := cols; c != 0; c &= c - 1 {
		width += columnWidth(1 << bits.TrailingZeros32(c))
	}
	// Compared in int64: n·width cannot overflow it, and an n that does
	// not fit the body is refused before anything is allocated.
	if want := int64(columnarHeader) + int64(n)*int64(width); want != int64(len(body)) {
		return Decoded{}, &SyntaxError{Offset: int64(min(want, int64(len(body)))), Line: 1,
			Msg: fmt.Sprintf("%d samples of these columns take %d bytes, the body has %d", n, want, len(body))}
	}
	out := Decoded{Samples: make([]sample.Sample, n), Index: make([]int, 0, n)}
	for i := range out.Samples {
		s := sample.New()
		s.Source = sample.SourceHTTP
		s.RadValid = true
		out.Samples[i] = s
	}
	var bad map[int]*SampleError // flags that are neither 0 nor 1
	off := columnarHeader
	for c := cols; c != 0; c &= c - 1 {
		bit := uint32(1) << bits.TrailingZeros32(c)
		col := body[off : off+n*columnWidth(bit)]
		off += len(col)
		for i := range out.Samples {
			s := &out.Samples[i]
			switch bit {
			case ColTime:
				us := int64(binary.LittleEndian.Uint64(col[8*i:]))
				if us > 0 {
					s.Time = time.UnixMicro(us).UTC()
				}
			case ColSatellites:
				s.Satellites = int(int16(binary.LittleEndian.Uint16(col[2*i:])))
			case ColGPSValid, ColRadValid:
				if col[i] > 1 {
					if bad == nil {
						bad = map[int]*SampleError{}
					}
					if bad[i] == nil {
						bad[i] = &SampleError{Field: columnNames[bit], Msg: "must be 0 or 1"}
					}
				}
				if bit == ColGPSValid {
					s.GPSValid = col[i] == 1
				} else {
					s.RadValid = col[i] == 1
				}
			default:
				*floatField(s, bit) = math.Float64frombits(binary.LittleEndian.Uint64(col[8*i:]))
			}
		}
	}
	kept := out.Samples[:0]
	for i := range out.Samples {
		s := out.Samples[i]
		se := bad[i]
		if se == nil {
			se = columnarChecks(&s, cols)
		}
		if se != nil {
			se.Index = i
			out.Errors = append(out.Errors, se)
			continue
		}
		kept = append(kept, s)
		out.Index = append(out.Index, i)
	}
	out.Samples = kept
	return out, nil
}

// columnarChecks applies the rules that span columns, the same as the
// JSON body's (toSample), and sets GPSValid's default.
func columnarChecks(s *sample.Sample, cols uint32) *SampleError {
	if s.Time.IsZero() {
		return &SampleError{Field: "time", Msg: "must be positive Unix microseconds"}
	}
	if s.Satellites < -1 {
		return &SampleError{Field: "satellites", Msg: "must not be negative"}
	}
	fix := cols&ColLat != 0
	if fix && math.IsNaN(s.Lat) != math.IsNaN(s.Lon) {
		return &SampleError{Field: "lat", Msg: "lat and lon must be given together"}
	}
	fix = fix && !math.IsNaN(s.Lat)
	if !fix {
		s.Lat, s.Lon = 0, 0
	}
	if cols&ColGPSValid == 0 {
		s.GPSValid = fix
	} else if s.GPSValid && !fix {
		return &SampleError{Field: "gps_valid", Msg: "true without lat/lon"}
	}
	if sample.Has(s.Counts) && !sample.Has(s.CountInterval) {
		return &SampleError{Field: "count_interval", Msg: "required with counts"}
	}
	return nil
}

// floatField is the sample's float64 field of column bit.
func floatField(s *sample.Sample, bit uint32) *float64 {
	switch bit {
	case ColLat:
		return &s.Lat
	case ColLon:
		return &s.Lon
	case ColAltitude:
		return &s.Altitude
	case ColSpeed:
		return &s.Speed
	case ColHeading:
		return &s.Heading
	case ColHDOP:
		return &s.HDOP
	case ColAccuracy:
		return &s.Accuracy
	case ColDoseRate:
		return &s.DoseRate
	case ColCPM:
		return &s.CPM
	case ColCounts:
		return &s.Counts
	case ColCountInterval:
		return &s.CountInterval
	case ColBattery:
		return &s.Battery
	}
	panic(fmt.Sprintf("batch: column 0x%x is not a float column", bit))
}

// AppendColumnar appends the columnar body of samples to b, with every
// column (absent values as NaN, -1 and the flags as they are), for Go
// clients (the simulator, the benchmark). Attributes are not carried:
// send those as JSON. A sample without a fix keeps its coordinates, with
// gps_valid 0 (as JSON "gps_valid":false does).
func AppendColumnar(b []byte, samples []sample.Sample) []byte {
	const all = colEnd - 1
	b = append(b, columnarMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(samples)))
	b = binary.LittleEndian.AppendUint32(b, all)
	for c := uint32(all); c != 0; c &= c - 1 {
		bit := uint32(1) << bits.TrailingZeros32(c)
		for i := range samples {
			s := &samples[i]
			switch bit {
			case ColTime:
				b = binary.LittleEndian.AppendUint64(b, uint64(s.Time.UnixMicro()))
			case ColSatellites:
				b = binary.LittleEndian.AppendUint16(b, uint16(int16(max(-1, min(s.Satellites, math.MaxInt16)))))
			case ColGPSValid:
				b = append(b, boolByte(s.GPSValid))
			case ColRadValid:
				b = append(b, boolByte(s.RadValid))
			default:
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(*floatField(s, bit)))
			}
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
