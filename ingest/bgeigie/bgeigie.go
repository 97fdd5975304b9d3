// Package bgeigie decodes Safecast bGeigie radiation sentences ($BNRDD
// Nano/Zen, $BMRDD Mini, $BGRDD classic, $BNXRDD) as sent over TCP and
// written to the devices' SD-card logs (design.md §4):
//
//	$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76
//
// Fields: 0 header, 1 device serial → DeviceUID, 2 UTC time → Time, 3 CPM,
// 4 counts in the last 5 s → Counts (CountInterval 5), 5 total counts →
// attribute "total_counts", 6 radiation valid A/V → RadValid, 7–8 latitude
// ddmm.mmmm N/S, 9–10 longitude dddmm.mmmm E/W (any number of integer
// digits is accepted: "0000.0000" and non-zero-padded values occur), 11
// altitude m, 12 GPS valid A/V → GPSValid, 13.. firmware-specific, kept raw
// as string attributes "field13", "field14", … and interpreted:
//   - BNRDD: 13 = satellites, 14 = HDOP×100 (Zen 3.x: "141" is HDOP 1.41);
//   - BNXRDD: 13 = satellites, 14 = HDOP, 15 = fix quality;
//   - BMRDD, BGRDD: 13 = HDOP, 14 = fix quality (attribute "fix_quality").
//
// For BNRDD/BNXRDD field 14 with a decimal point is read as HDOP itself.
//
// GPSValid is true only for GPS flag A with coordinates other than
// 0000.0000/0000.0000. Lat/Lon keep what the sentence says either way, and
// a sample without a fix is still returned: its dose matters.
//
// Placeholder time: when the device has lost GPS time it writes
// 2000-01-01T00:00:00Z. Such a sentence decodes with a zero Sample.Time and
// the attribute "time_lost" = true (see TimeLost). Live callers substitute
// their receive time; importers keep the sample flagged and decide (it does
// not pass sample.Validate until a time is filled in). Any time on
// 2000-01-01 is treated the same way; a time before it is impossible and
// refused (field "time"), as on every other protocol.
//
// The decoder never computes a dose: CPM and Counts are kept and the
// pipeline converts them with the device's calibration (sample.FillDose).
// Samples have Source "bgeigie"; whether they are imported is the caller's
// to say (Sample.Imported).
package bgeigie

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// CountInterval is the period of field 4 (counts in the last 5 s).
const CountInterval = 5.0

// AttrTimeLost is the attribute set to true on a sentence whose time is the
// placeholder the device writes without GPS time.
const AttrTimeLost = "time_lost"

// ErrChecksum is wrapped by the error for a sentence whose checksum does not
// match its content.
var ErrChecksum = errors.New("bgeigie: checksum mismatch")

// ErrFormat is wrapped by errors for text that is not a bGeigie sentence at
// all (no '$', no '*XX', too few fields, unknown header).
var ErrFormat = errors.New("bgeigie: not a radiation sentence")

// Device times in [timeLostFrom, timeLostBefore) are placeholders; before
// timeLostFrom they are impossible.
var (
	timeLostFrom   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	timeLostBefore = time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)
)

// TimeLost reports whether s came from a sentence with the placeholder
// time (GPS time lost); its Time is zero.
func TimeLost(s sample.Sample) bool {
	v, _ := s.Attributes[AttrTimeLost].(bool)
	return v
}

// Checksum returns the XOR of the bytes of a sentence between '$' and '*'
// (b is that content, without the two delimiters).
func Checksum(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// ParseSentence decodes one sentence. Surrounding white space (CR, LF) is
// ignored. The checksum is compared case-insensitively; a mismatch wraps
// ErrChecksum. A bad field is a *sample.FieldError naming it.
func ParseSentence(b []byte) (sample.Sample, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '$' {
		return sample.Sample{}, fmt.Errorf("%w: does not start with '$'", ErrFormat)
	}
	star := bytes.LastIndexByte(b, '*')
	if star < 0 {
		return sample.Sample{}, fmt.Errorf("%w: no '*' checksum", ErrFormat)
	}
	body, sum := b[1:star], b[star+1:]
	want, err := strconv.ParseUint(string(sum), 16, 8)
	if len(sum) != 2 || err != nil {
		return sample.Sample{}, fmt.Errorf("%w: checksum %q is not two hex digits", ErrFormat, sum)
	}
	if got := Checksum(body); got != byte(want) {
		return sample.Sample{}, fmt.Errorf("%w: sentence says %02X, content gives %02X", ErrChecksum, want, got)
	}
	f := strings.Split(string(body), ",")
	if len(f) < 15 {
		return sample.Sample{}, fmt.Errorf("%w: %d fields, want at least 15", ErrFormat, len(f))
	}
	header := f[0]
	switch header {
	case "BNRDD", "BMRDD", "BGRDD", "BNXRDD":
	default:
		return sample.Sample{}, fmt.Errorf("%w: unknown header %q", ErrFormat, header)
	}

	s := sample.New()
	s.Source = sample.SourceBGeigie
	s.Attributes = map[string]any{"header": header}

	s.DeviceUID = strings.TrimSpace(f[1])
	if s.DeviceUID == "" {
		return sample.Sample{}, &sample.FieldError{Field: "device_id", Reason: "empty (field 1)"}
	}

	t, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return sample.Sample{}, &sample.FieldError{Field: "time", Reason: fmt.Sprintf("%q is not an ISO-8601 UTC time (field 2)", f[2])}
	}
	switch {
	case t.Before(timeLostFrom):
		return sample.Sample{}, &sample.FieldError{Field: "time", Reason: fmt.Sprintf("%q is before the year 2000 (field 2)", f[2])}
	case t.Before(timeLostBefore):
		s.Attributes[AttrTimeLost] = true
		s.Attributes["device_time"] = f[2]
	default:
		s.Time = t.UTC()
	}

	if s.CPM, err = count("cpm", f[3], 3); err != nil {
		return sample.Sample{}, err
	}
	if s.Counts, err = count("counts", f[4], 4); err != nil {
		return sample.Sample{}, err
	}
	if sample.Has(s.Counts) {
		s.CountInterval = CountInterval
	}
	total, err := count("total_counts", f[5], 5)
	if err != nil {
		return sample.Sample{}, err
	}
	if sample.Has(total) {
		if total <= math.MaxInt64/2 && total == math.Trunc(total) {
			s.Attributes["total_counts"] = int64(total)
		} else {
			s.Attributes["total_counts"] = total
		}
	}
	if s.RadValid, err = flag("rad_valid", f[6], 6); err != nil {
		return sample.Sample{}, err
	}

	lat, err := coord("lat", f[7], f[8], 'N', 'S', 90, 7)
	if err != nil {
		return sample.Sample{}, err
	}
	lon, err := coord("lon", f[9], f[10], 'E', 'W', 180, 9)
	if err != nil {
		return sample.Sample{}, err
	}
	if s.Altitude, err = number("altitude", f[11], 11); err != nil {
		return sample.Sample{}, err
	}
	gpsA, err := flag("gps_valid", f[12], 12)
	if err != nil {
		return sample.Sample{}, err
	}
	// Coordinates are kept as sent even without a fix (GPS flag V); only
	// GPSValid lets the map and fences use them.
	s.Lat, s.Lon = lat, lon
	s.GPSValid = gpsA && !(lat == 0 && lon == 0)

	for i := 13; i < len(f); i++ {
		s.Attributes["field"+strconv.Itoa(i)] = f[i]
	}
	if err := firmwareFields(&s, header, f); err != nil {
		return sample.Sample{}, err
	}
	return s, nil
}

// firmwareFields interprets fields 13 and later by header.
func firmwareFields(s *sample.Sample, header string, f []string) error {
	switch header {
	case "BNRDD", "BNXRDD":
		sats, err := number("satellites", f[13], 13)
		if err != nil {
			return err
		}
		if sample.Has(sats) {
			if sats < 0 || sats > 255 || sats != math.Trunc(sats) {
				return &sample.FieldError{Field: "satellites", Reason: fmt.Sprintf("%q is not a satellite count (field 13)", f[13])}
			}
			s.Satellites = int(sats)
		}
		hdop, err := number("hdop", f[14], 14)
		if err != nil {
			return err
		}
		if sample.Has(hdop) && !strings.Contains(f[14], ".") {
			hdop /= 100 // Nano/Zen firmware writes HDOP×100
		}
		s.HDOP = hdop
		if header == "BNXRDD" && len(f) > 15 {
			if q, err := strconv.ParseInt(strings.TrimSpace(f[15]), 10, 64); err == nil {
				s.Attributes["fix_quality"] = q
			}
		}
	default: // BMRDD, BGRDD
		hdop, err := number("hdop", f[13], 13)
		if err != nil {
			return err
		}
		s.HDOP = hdop
		if q, err := strconv.ParseInt(strings.TrimSpace(f[14]), 10, 64); err == nil {
			s.Attributes["fix_quality"] = q
		}
	}
	if sample.Has(s.HDOP) && s.HDOP < 0 {
		return &sample.FieldError{Field: "hdop", Reason: "must not be negative"}
	}
	return nil
}

// isDecimal accepts digits with an optional fraction and sign: the only
// number syntax the firmware writes (strconv would also take NaN, Inf, hex).
func isDecimal(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == '-' {
		v = v[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// number parses an optional decimal field; empty gives NaN.
func number(name, v string, idx int) (float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return math.NaN(), nil
	}
	if !isDecimal(v) {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is not a number (field %d)", v, idx)}
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is out of range (field %d)", v, idx)}
	}
	return x, nil
}

// count parses an optional non-negative count field.
func count(name, v string, idx int) (float64, error) {
	x, err := number(name, v, idx)
	if err == nil && x < 0 {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is negative (field %d)", v, idx)}
	}
	return x, err
}

// flag parses an A/V validity flag.
func flag(name, v string, idx int) (bool, error) {
	switch strings.TrimSpace(v) {
	case "A":
		return true, nil
	case "V", "":
		return false, nil
	}
	return false, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is not A or V (field %d)", v, idx)}
}

// coord converts NMEA ddmm.mmmm / dddmm.mmmm and a hemisphere letter to
// signed decimal degrees. An empty value gives 0 (no fix).
func coord(name, v, hemi string, pos, neg byte, limit float64, idx int) (float64, error) {
	v, hemi = strings.TrimSpace(v), strings.TrimSpace(hemi)
	if v == "" {
		return 0, nil
	}
	if !isDecimal(v) || v[0] == '-' {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is not NMEA ddmm.mmmm (field %d)", v, idx)}
	}
	// Split at the decimal point so that the minutes are parsed from their
	// own digits: 3428.9589 gives exactly 34° + 28.9589'.
	intPart, frac, _ := strings.Cut(v, ".")
	if len(intPart) > 5 {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is out of range (field %d)", v, idx)}
	}
	n := 0
	if intPart != "" {
		n, _ = strconv.Atoi(intPart) // digits only, checked by isDecimal
	}
	deg := float64(n / 100)
	mm := strconv.Itoa(n % 100)
	if frac != "" {
		mm += "." + frac
	}
	minutes, err := strconv.ParseFloat(mm, 64)
	if err != nil {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is out of range (field %d)", v, idx)}
	}
	if minutes >= 60 {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q has %.4f minutes (field %d)", v, minutes, idx)}
	}
	d := deg + minutes/60
	if d > limit {
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is beyond %v degrees (field %d)", v, limit, idx)}
	}
	switch {
	case len(hemi) == 1 && hemi[0] == pos:
	case len(hemi) == 1 && hemi[0] == neg:
		d = -d
	case hemi == "" && d == 0:
	default:
		return 0, &sample.FieldError{Field: name, Reason: fmt.Sprintf("hemisphere %q is not %c or %c (field %d)", hemi, pos, neg, idx+1)}
	}
	return d, nil
}
