// Package atomfast decodes the CSV track export of the AtomFast app:
// ';'-separated, CRLF, a UTF-8 header line such as
//
//	unix timestamp;doserate (uSv/h);lat;lng;wgs84_alt (m.);speed (m/s);cps;cp_2s;horizontal accuracy (radius of 68% confidence [m]);marker type (2-circle, 1-marker);SE (1 σ)[%]
//
// Columns are found by their header name, so reordered or extra columns
// work; a file without a header is read in the order above. Mapping:
// unix timestamp (s) → Time (UTC); doserate µSv/h → DoseRate (the app's own
// calibrated dose); lat, lng → Lat, Lon (GPSValid unless absent or 0,0);
// wgs84_alt → Altitude; speed m/s → Speed; horizontal accuracy → Accuracy.
//
// cps: kept as the float64 attribute "cps" (the app's smoothed count rate)
// and CPM is derived as cps×60, so a CPM-based rule sees the same rate as
// for other devices. Counts/CountInterval stay absent: the export carries no
// raw count over a known interval (cp_2s is fractional, i.e. smoothed too).
// DoseRate is the device's own value and is never recomputed from CPM.
//
// Every other column becomes an attribute named after its header
// (units dropped, lower-case, non-alphanumerics as "_": cp_2s,
// marker_type, se_percent),
// typed int64 or float64 when numeric, string otherwise. Files have no
// device identifier: DeviceUID is left empty for the importer to set.
// Samples have Source "import" and Imported true.
package atomfast

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/radtrack/radtrack/internal/lineread"
	"github.com/radtrack/radtrack/sample"
)

// MaxLineLength bounds one CSV line; longer lines are reported and skipped.
const MaxLineLength = 16 << 10

// ErrFormat is wrapped by errors about the file's structure (header,
// number of columns, line length).
var ErrFormat = errors.New("atomfast: malformed CSV")

type column int

const (
	colOther column = iota
	colTime
	colDose
	colLat
	colLon
	colAlt
	colSpeed
	colCPS
	colAccuracy
)

// defaultHeader is the layout assumed when the file has no header line.
var defaultHeader = []string{
	"unix timestamp", "doserate (uSv/h)", "lat", "lng", "wgs84_alt (m.)", "speed (m/s)", "cps", "cp_2s",
	"horizontal accuracy (radius of 68% confidence [m])", "marker type (2-circle, 1-marker)", "SE (1 σ)[%]",
}

// layout maps each column to its meaning and attribute name.
type layout struct {
	kinds []column
	names []string
}

func newLayout(header []string) (layout, error) {
	l := layout{kinds: make([]column, len(header)), names: make([]string, len(header))}
	seen := map[column]bool{}
	for i, h := range header {
		name := attrName(h)
		k := classify(name)
		if k != colOther {
			if seen[k] {
				return layout{}, fmt.Errorf("%w: column %q appears twice", ErrFormat, h)
			}
			seen[k] = true
		}
		if name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		l.kinds[i], l.names[i] = k, name
	}
	if !seen[colTime] {
		return layout{}, fmt.Errorf("%w: no \"unix timestamp\" column in header", ErrFormat)
	}
	return l, nil
}

func classify(name string) column {
	switch {
	case name == "unix_timestamp" || name == "timestamp" || name == "time":
		return colTime
	case strings.HasPrefix(name, "doserate") || strings.HasPrefix(name, "dose_rate"):
		return colDose
	case name == "lat" || name == "latitude":
		return colLat
	case name == "lng" || name == "lon" || name == "longitude":
		return colLon
	case strings.HasPrefix(name, "wgs84_alt") || strings.HasPrefix(name, "alt"):
		return colAlt
	case strings.HasPrefix(name, "speed"):
		return colSpeed
	case name == "cps":
		return colCPS
	case strings.HasPrefix(name, "horizontal_accuracy") || name == "accuracy":
		return colAccuracy
	}
	return colOther
}

// attrName turns a header into an attribute key: units in (…) or […]
// dropped, lower case, runs of anything but letters and digits as one "_",
// and "_percent" appended for a percentage: "marker type (2-circle,
// 1-marker)" → "marker_type", "SE (1 σ)[%]" → "se_percent".
func attrName(h string) string {
	var stripped, group strings.Builder
	depth, percent := 0, false
	for _, r := range h {
		switch {
		case r == '(' || r == '[':
			if depth == 0 {
				group.Reset()
			}
			depth++
		case (r == ')' || r == ']') && depth > 0:
			depth--
			if depth == 0 && strings.TrimSpace(group.String()) == "%" {
				percent = true
			}
		case depth == 0:
			stripped.WriteRune(r)
		default:
			group.WriteRune(r)
		}
	}
	name := slug(stripped.String())
	if name == "" {
		name = slug(h)
	}
	if percent && name != "" {
		name += "_percent"
	}
	return name
}

func slug(h string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}

// Decode streams an AtomFast CSV export and calls fn once per data line with
// its 1-based line number and either the sample or that line's error (a
// *sample.FieldError naming the column for a bad value). Blank lines are
// skipped. If fn returns an error Decode stops and returns it. A missing or
// unusable header, or a read error, ends the decode with an error.
func Decode(r io.Reader, fn func(lineNo int, s sample.Sample, err error) error) error {
	br := bufio.NewReaderSize(r, MaxLineLength)
	var (
		l      layout
		have   bool
		lineNo int
	)
	for {
		line, tooLong, rerr := lineread.Line(br)
		if len(line) > 0 || tooLong || rerr == nil {
			lineNo++
		}
		text := strings.TrimSpace(string(line))
		if lineNo == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		switch {
		case tooLong:
			if err := fn(lineNo, sample.Sample{}, fmt.Errorf("%w: line longer than %d bytes", ErrFormat, MaxLineLength)); err != nil {
				return err
			}
		case text == "":
		case !have:
			fields := strings.Split(text, ";")
			have = true
			if looksLikeData(fields[0]) {
				l, _ = newLayout(defaultHeader)
			} else {
				var err error
				if l, err = newLayout(fields); err != nil {
					return fmt.Errorf("line %d: %w", lineNo, err)
				}
				break
			}
			fallthrough
		default:
			s, err := l.record(strings.Split(text, ";"))
			if err := fn(lineNo, s, err); err != nil {
				return err
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				if !have {
					return fmt.Errorf("%w: empty file", ErrFormat)
				}
				return nil
			}
			return fmt.Errorf("atomfast: reading line %d: %w", lineNo+1, rerr)
		}
	}
}

func looksLikeData(first string) bool {
	first = strings.TrimSpace(first)
	return first != "" && first[0] >= '0' && first[0] <= '9'
}

// record decodes one data line.
func (l layout) record(fields []string) (sample.Sample, error) {
	if len(fields) != len(l.kinds) {
		return sample.Sample{}, fmt.Errorf("%w: %d columns, header has %d", ErrFormat, len(fields), len(l.kinds))
	}
	s := sample.New()
	s.Source = sample.SourceImport
	s.Imported = true
	var (
		lat, lon       float64
		haveLat, haveO bool
		haveTime       bool
	)
	for i, raw := range fields {
		v := strings.TrimSpace(raw)
		name := l.names[i]
		if v == "" {
			continue
		}
		if l.kinds[i] == colOther {
			if s.Attributes == nil {
				s.Attributes = map[string]any{}
			}
			s.Attributes[name] = typed(v)
			continue
		}
		f, err := number(name, v)
		if err != nil {
			return sample.Sample{}, err
		}
		switch l.kinds[i] {
		case colTime:
			if f < 0 || f > 253402300799 {
				return sample.Sample{}, &sample.FieldError{Field: name, Reason: fmt.Sprintf("%q is not a Unix time in seconds", v)}
			}
			sec, frac := math.Modf(f)
			s.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
			haveTime = true
		case colDose:
			s.DoseRate = f
		case colLat:
			lat, haveLat = f, true
		case colLon:
			lon, haveO = f, true
		case colAlt:
			s.Altitude = f
		case colSpeed:
			s.Speed = f
		case colCPS:
			if s.Attributes == nil {
				s.Attributes = map[string]any{}
			}
			s.Attributes["cps"] = f
			s.CPM = f * 60
		case colAccuracy:
			s.Accuracy = f
		}
	}
	if !haveTime {
		return sample.Sample{}, &sample.FieldError{Field: "unix_timestamp", Reason: "missing"}
	}
	if haveLat && (lat < -90 || lat > 90) {
		return sample.Sample{}, &sample.FieldError{Field: "lat", Reason: fmt.Sprintf("%v is outside [-90, 90]", lat)}
	}
	if haveO && (lon < -180 || lon > 180) {
		return sample.Sample{}, &sample.FieldError{Field: "lng", Reason: fmt.Sprintf("%v is outside [-180, 180]", lon)}
	}
	if haveLat && haveO {
		s.Lat, s.Lon = lat, lon
		s.GPSValid = !(lat == 0 && lon == 0)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"doserate", s.DoseRate}, {"cps", s.CPM}, {"speed", s.Speed}, {"horizontal_accuracy", s.Accuracy}} {
		if sample.Has(c.v) && c.v < 0 {
			return sample.Sample{}, &sample.FieldError{Field: c.name, Reason: "must not be negative"}
		}
	}
	return s, nil
}

// isNumber accepts a plain decimal number (sign, digits, one '.' or ','
// as decimal separator, exponent); not NaN, Inf, hex.
func isNumber(v string) bool {
	i, n, digits := 0, len(v), 0
	if i < n && (v[i] == '-' || v[i] == '+') {
		i++
	}
	for i < n && v[i] >= '0' && v[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < n && (v[i] == '.' || v[i] == ',') {
		i++
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < n && (v[i] == '+' || v[i] == '-') {
			i++
		}
		es := i
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == n
}

func number(field, v string) (float64, error) {
	if !isNumber(v) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a number", v)}
	}
	f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is out of range", v)}
	}
	return f, nil
}

// typed returns int64 for an integer, float64 for another number, else the
// string itself.
func typed(v string) any {
	if !isNumber(v) {
		return v
	}
	if !strings.ContainsAny(v, ".,eE") {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	if f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64); err == nil && !math.IsInf(f, 0) {
		return f
	}
	return v
}
