package bgeigie

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

func TestParseSentenceZen(t *testing.T) {
	// The example of design.md §4 (bGeigie Zen, device 5002; also line 12 of
	// the Zen log).
	s, err := ParseSentence([]byte("$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2025, 7, 25, 19, 4, 40, 0, time.UTC)
	if s.DeviceUID != "5002" || !s.Time.Equal(wantTime) || s.Source != sample.SourceBGeigie || s.DeviceID != 0 {
		t.Errorf("uid/time/source = %q %v %q", s.DeviceUID, s.Time, s.Source)
	}
	if s.CPM != 48 || s.Counts != 2 || s.CountInterval != 5 || !s.RadValid {
		t.Errorf("cpm/counts/interval/radvalid = %v %v %v %v", s.CPM, s.Counts, s.CountInterval, s.RadValid)
	}
	if s.Lat != 34+28.9589/60 || s.Lon != 136+9.7811/60 || !s.GPSValid {
		t.Errorf("lat/lon/valid = %v %v %v", s.Lat, s.Lon, s.GPSValid)
	}
	if s.Altitude != 578.7 || s.Satellites != 18 || s.HDOP != 1.41 {
		t.Errorf("alt/sats/hdop = %v %v %v", s.Altitude, s.Satellites, s.HDOP)
	}
	if s.Attributes["total_counts"] != int64(27761) || s.Attributes["field13"] != "18" || s.Attributes["field14"] != "141" || s.Attributes["header"] != "BNRDD" {
		t.Errorf("attributes = %#v", s.Attributes)
	}
	if sample.Has(s.DoseRate) {
		t.Errorf("DoseRate = %v: decoders never compute a dose", s.DoseRate)
	}
	if TimeLost(s) {
		t.Error("TimeLost on a good time")
	}
	if err := s.Validate(wantTime.Add(time.Minute)); err != nil {
		t.Error(err)
	}
}

func TestParseSentenceClassicLowerCaseChecksum(t *testing.T) {
	// Line 24 of the Fukushima log: lower-case checksum, classic layout.
	s, err := ParseSentence([]byte("$BGRDD,003,2012-07-01T00:41:28Z,31,6,31,V,3747.9425,N,14055.9825,E,29.6,A,1.0,1*7b"))
	if err != nil {
		t.Fatal(err)
	}
	if s.DeviceUID != "003" || s.CPM != 31 || s.Counts != 6 || s.RadValid || !s.GPSValid {
		t.Errorf("%+v", s)
	}
	if s.Lat != 37+47.9425/60 || s.Lon != 140+55.9825/60 || s.HDOP != 1.0 || s.Satellites != -1 {
		t.Errorf("lat/lon/hdop/sats = %v %v %v %v", s.Lat, s.Lon, s.HDOP, s.Satellites)
	}
	if s.Attributes["fix_quality"] != int64(1) || s.Attributes["field13"] != "1.0" {
		t.Errorf("attributes = %#v", s.Attributes)
	}
}

func TestParseSentenceMiniNoFix(t *testing.T) {
	// The one GPS 'V' line of the Los Angeles Mini log: west longitude,
	// coordinates present but not a fix.
	s, err := ParseSentence([]byte("$BMRDD,028,2012-05-23T02:01:17Z,31,2,351,A,3408.7870,N,11813.5175,W,206.9,V,2.2,1*67"))
	if err != nil {
		t.Fatal(err)
	}
	if s.GPSValid || s.Lat != 34+8.7870/60 || s.Lon != -(118+13.5175/60) || s.HDOP != 2.2 || !s.RadValid {
		t.Errorf("%+v", s)
	}
}

func TestPlaceholderTime(t *testing.T) {
	// Line 2696 of the Zen log: GPS lost, time placeholder, 0000.0000.
	s, err := ParseSentence([]byte("$BNRDD,5002,2000-01-01T00:00:00Z,37,3,9680,A,0000.0000,N,0000.0000,E,581.2,V,15,245*6E"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Time.IsZero() || !TimeLost(s) || s.Attributes["device_time"] != "2000-01-01T00:00:00Z" {
		t.Errorf("time %v, attrs %#v", s.Time, s.Attributes)
	}
	if s.GPSValid || s.Lat != 0 || s.Lon != 0 || s.CPM != 37 || s.HDOP != 2.45 || s.Satellites != 15 {
		t.Errorf("%+v", s)
	}
	var fe *sample.FieldError
	if err := s.Validate(time.Now()); !errors.As(err, &fe) || fe.Field != "time" {
		t.Errorf("Validate = %v: a lost time must be filled in by the caller", err)
	}
	s.Time = time.Date(2025, 7, 25, 11, 48, 30, 0, time.UTC) // e.g. receive time
	if err := s.Validate(s.Time); err != nil {
		t.Error(err)
	}
}

func TestNonZeroPaddedAndBNXRDD(t *testing.T) {
	// Nano example from the Safecast manual, 16 fields, HDOP with a point.
	s, err := ParseSentence([]byte("$BNXRDD,300,2012-12-16T17:58:31Z,30,1,116,A,4618.9612,N,00658.4831,E,443.7,A,5,1.28,1*1D"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Satellites != 5 || s.HDOP != 1.28 || s.Attributes["fix_quality"] != int64(1) || s.Lon != 6+58.4831/60 || s.Lat != 46+18.9612/60 {
		t.Errorf("%+v", s)
	}
	// Same position written without zero padding.
	line := withChecksum("BNXRDD,300,2012-12-16T17:58:31Z,30,1,116,A,4618.9612,S,658.4831,W,443.7,A,5,1.28,1")
	s, err = ParseSentence([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lon != -(6+58.4831/60) || s.Lat != -(46+18.9612/60) || !s.GPSValid {
		t.Errorf("%+v", s)
	}
}

func withChecksum(body string) string {
	return "$" + body + "*" + strings.ToUpper(hex2(Checksum([]byte(body))))
}

func hex2(b byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[b>>4], h[b&15]})
}

func TestChecksum(t *testing.T) {
	good := "$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76"
	if _, err := ParseSentence([]byte(strings.Replace(good, "*76", "*77", 1))); !errors.Is(err, ErrChecksum) {
		t.Errorf("wrong checksum: %v", err)
	}
	if _, err := ParseSentence([]byte(strings.Replace(good, ",48,", ",49,", 1))); !errors.Is(err, ErrChecksum) {
		t.Errorf("altered content: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, "*76", "", 1),
		strings.Replace(good, "*76", "*7", 1),
		strings.Replace(good, "*76", "*7G", 1),
		"BNRDD,1*00",
		"",
		withChecksum("GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
		withChecksum("BNRDD,5002,2025-07-25T19:04:40Z,48"),
	} {
		if _, err := ParseSentence([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseSentence(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	base := []string{"BNRDD", "5002", "2025-07-25T19:04:40Z", "48", "2", "27761", "A", "3428.9589", "N", "13609.7811", "E", "578.7", "A", "18", "141"}
	for _, c := range []struct {
		idx   int
		value string
		field string
	}{
		{1, "", "device_id"},
		{2, "25/07/2025", "time"},
		{3, "x", "cpm"},
		{3, "NaN", "cpm"},
		{3, "-4", "cpm"},
		{4, "1e3", "counts"},
		{5, "Inf", "total_counts"},
		{6, "Q", "rad_valid"},
		{7, "3468.0000", "lat"},  // 68 minutes
		{7, "9100.0000", "lat"},  // 91°
		{7, "-3428.9589", "lat"}, // sign belongs to N/S
		{8, "X", "lat"},
		{9, "18100.0000", "lon"},
		{9, "1234567.1", "lon"},
		{10, "N", "lon"},
		{11, "high", "altitude"},
		{12, "Z", "gps_valid"},
		{13, "3.5", "satellites"},
		{14, "-10", "hdop"},
	} {
		f := append([]string(nil), base...)
		f[c.idx] = c.value
		_, err := ParseSentence([]byte(withChecksum(strings.Join(f, ","))))
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("field %d = %q: err = %v, want FieldError %s", c.idx, c.value, err, c.field)
		}
	}
}

func TestSentences(t *testing.T) {
	a := "$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76"
	b := "$BGRDD,003,2012-07-01T00:41:28Z,31,6,31,V,3747.9425,N,14055.9825,E,29.6,A,1.0,1*7b"
	for _, c := range []struct {
		line string
		want []string
	}{
		{"# NEW LOG\r", nil},
		{"   \r", nil},
		{a + "\r", []string{a}},
		{a + b + "\r", []string{a, b}},
		{a + " " + b, []string{a, b}},
		{"junk" + a, []string{"junk", a}},
		{"$BNRDD,5002,2025-07-25T19:04$" + b[1:], []string{"$BNRDD,5002,2025-07-25T19:04", b}},
	} {
		got := Sentences([]byte(c.line))
		if len(got) != len(c.want) {
			t.Errorf("Sentences(%q) = %q, want %q", c.line, got, c.want)
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("Sentences(%q)[%d] = %q, want %q", c.line, i, got[i], c.want[i])
			}
		}
	}
}

func TestDecodeLogSynthetic(t *testing.T) {
	a := "$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76"
	b := "$BGRDD,003,2012-07-01T00:41:28Z,31,6,31,V,3747.9425,N,14055.9825,E,29.6,A,1.0,1*7b"
	in := "# NEW LOG\r\n# format=x\r\n" + a + "\r\n" + a + b + "\r\n\r\n" + strings.Replace(a, "*76", "*00", 1) + "\r\n" +
		strings.Repeat("x", MaxLineLength+10) + "\n" + b // no final newline
	type call struct {
		line int
		uid  string
		err  error
	}
	var calls []call
	err := DecodeLog(strings.NewReader(in), func(n int, s sample.Sample, err error) error {
		calls = append(calls, call{n, s.DeviceUID, err})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []call{{3, "5002", nil}, {4, "5002", nil}, {4, "003", nil}, {6, "", ErrChecksum}, {7, "", ErrFormat}, {8, "003", nil}}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v, want %+v", calls, want)
	}
	for i, c := range calls {
		if c.line != want[i].line || c.uid != want[i].uid || !errors.Is(c.err, want[i].err) || (want[i].err == nil) != (c.err == nil) {
			t.Errorf("call %d = %+v, want %+v", i, c, want[i])
		}
	}
	// fn's error stops the decode.
	stop := errors.New("stop")
	n := 0
	if err := DecodeLog(strings.NewReader(in), func(int, sample.Sample, error) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("DecodeLog = %v after %d calls, want stop after 1", err, n)
	}
}

// logStats are the numbers asserted for each real log.
type logStats struct {
	lines, data, gpsValid, timeLost, checksum, radValid int
	maxCPM, minValidCPM                                 float64
	sumCounts                                           float64
	first, last                                         string // RFC 3339 device time
}

func decodeFile(t *testing.T, name string) logStats {
	t.Helper()
	f, err := os.Open(testutil.RadiationFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st logStats
	st.minValidCPM = math.Inf(1)
	var firstT, lastT time.Time
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = DecodeLog(f, func(n int, s sample.Sample, err error) error {
		st.lines = n
		if errors.Is(err, ErrChecksum) {
			st.checksum++
			return nil
		}
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			return nil
		}
		st.data++
		if s.GPSValid {
			st.gpsValid++
		}
		if TimeLost(s) {
			st.timeLost++
			s.Time = now // what a live caller does
		} else {
			if firstT.IsZero() {
				firstT = s.Time
			}
			lastT = s.Time
		}
		if s.RadValid {
			st.radValid++
			st.minValidCPM = math.Min(st.minValidCPM, s.CPM)
		}
		st.maxCPM = math.Max(st.maxCPM, s.CPM)
		st.sumCounts += s.Counts
		if err := s.Validate(now); err != nil {
			t.Errorf("line %d: Validate: %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.first, st.last = firstT.Format(time.RFC3339), lastT.Format(time.RFC3339)
	return st
}

// Expected numbers computed independently of this code with the shell
// one-liners next to each value (run in /work/shared/data/radiation, F = file).
func TestRealLogs(t *testing.T) {
	cases := []struct {
		file string
		want logStats
	}{
		{"safecast_bgeigie-zen_BNRDD_5002_2025-07-25.log", logStats{
			lines:       15854,                  // wc -l < $F
			data:        15850,                  // grep -c '^\$' $F
			gpsValid:    14968,                  // awk -F, '/^\$/ && $13=="A" && !($8+0==0 && $10+0==0)' $F | wc -l
			timeLost:    863,                    // grep -c '2000-01-01T00:00:00Z' $F
			checksum:    0,                      // perl -ne 's/\r?\n$//; next unless /^\$(.*)\*([0-9A-Fa-f]{2})$/; $x=0; $x^=ord for split //,$1; print if $x!=hex $2' $F | wc -l
			radValid:    15838,                  // awk -F, '/^\$/ && $7=="A"' $F | wc -l
			maxCPM:      76,                     // awk -F, '/^\$/{if($4+0>m)m=$4+0} END{print m}' $F
			minValidCPM: 12,                     // awk -F, '/^\$/ && $7=="A"{if(m==""||$4+0<m)m=$4+0} END{print m}' $F
			sumCounts:   53855,                  // awk -F, '/^\$/{s+=$5} END{print s}' $F
			first:       "2025-07-25T08:04:15Z", // grep -m1 '^\$' $F | cut -d, -f3
			last:        "2025-07-26T04:59:36Z", // grep '^\$' $F | grep -v 2000-01-01 | tail -1 | cut -d, -f3
		}},
		{"safecast_bgeigie_BGRDD_fukushima_2012-07-01.log", logStats{
			lines:       1065,                   // wc -l < $F
			data:        1046,                   // grep -c '^\$' $F
			gpsValid:    1046,                   // awk -F, '/^\$/ && $13=="A" && !($8+0==0 && $10+0==0)' $F | wc -l
			timeLost:    0,                      // grep -c '2000-01-01T00:00:00Z' $F
			checksum:    0,                      // (same perl one-liner as above)
			radValid:    1035,                   // awk -F, '/^\$/ && $7=="A"' $F | wc -l
			maxCPM:      637,                    // awk -F, '/^\$/{if($4+0>m)m=$4+0} END{print m}' $F
			minValidCPM: 43,                     // awk -F, '/^\$/ && $7=="A"{if(m==""||$4+0<m)m=$4+0} END{print m}' $F
			sumCounts:   9865,                   // awk -F, '/^\$/{s+=$5} END{print s}' $F
			first:       "2012-07-01T00:41:13Z", // grep -m1 '^\$' $F | cut -d, -f3
			last:        "2012-07-01T02:07:56Z", // grep '^\$' $F | tail -1 | cut -d, -f3
		}},
		{"safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG", logStats{
			lines:       1703,                   // wc -l < $F
			data:        1701,                   // grep -c '^\$' $F
			gpsValid:    1700,                   // awk -F, '/^\$/ && $13=="A" && !($8+0==0 && $10+0==0)' $F | wc -l
			timeLost:    0,                      // grep -c '2000-01-01T00:00:00Z' $F
			checksum:    0,                      // (same perl one-liner as above)
			radValid:    1693,                   // awk -F, '/^\$/ && $7=="A"' $F | wc -l
			maxCPM:      63,                     // awk -F, '/^\$/{if($4+0>m)m=$4+0} END{print m}' $F
			minValidCPM: 19,                     // awk -F, '/^\$/ && $7=="A"{if(m==""||$4+0<m)m=$4+0} END{print m}' $F
			sumCounts:   5566,                   // awk -F, '/^\$/{s+=$5} END{print s}' $F
			first:       "2012-05-23T01:51:08Z", // grep -m1 '^\$' $F | cut -d, -f3
			last:        "2012-05-23T04:10:08Z", // grep '^\$' $F | tail -1 | cut -d, -f3
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := decodeFile(t, c.file)
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func BenchmarkParseSentence(b *testing.B) {
	line := []byte("$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76")
	for b.Loop() {
		if _, err := ParseSentence(line); err != nil {
			b.Fatal(err)
		}
	}
}

// Only 2000-01-01 is the placeholder of a lost GPS time: an earlier time
// (year 1, 1970) is impossible and refused, never stamped with the
// receive time.
func TestTimeBefore2000IsRefused(t *testing.T) {
	for _, tm := range []string{"0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z"} {
		_, err := ParseSentence([]byte(withChecksum("BNRDD,5002," + tm + ",37,3,9680,A,3428.9589,N,13609.7811,E,578.7,A,18,141")))
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != "time" {
			t.Errorf("time %s: %v, want a refusal naming time", tm, err)
		}
	}
	s, err := ParseSentence([]byte(withChecksum("BNRDD,5002,2000-01-01T00:03:07Z,37,3,9680,A,3428.9589,N,13609.7811,E,578.7,A,18,141")))
	if err != nil || !TimeLost(s) || !s.Time.IsZero() {
		t.Fatalf("a time on the placeholder day: %+v %v, want it treated as lost", s, err)
	}
}
