package atomfast

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

func TestRealFile(t *testing.T) {
	f, err := os.Open(testutil.RadiationFile(t, "atomfast_walk_2025-07-19.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		all           []sample.Sample
		lines         []int
		maxDose, sumD float64
		maxDoseLine   int
		maxCPS        float64
		minDose       = math.Inf(1)
	)
	err = Decode(f, func(n int, s sample.Sample, err error) error {
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			return nil
		}
		all = append(all, s)
		lines = append(lines, n)
		if s.DoseRate > maxDose {
			maxDose, maxDoseLine = s.DoseRate, n
		}
		minDose = math.Min(minDose, s.DoseRate)
		sumD += s.DoseRate
		maxCPS = math.Max(maxCPS, s.Attributes["cps"].(float64))
		if err := s.Validate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Errorf("line %d: Validate: %v", n, err)
		}
		if !s.GPSValid || s.Source != sample.SourceImport || !s.Imported || s.DeviceUID != "" {
			t.Errorf("line %d: %+v", n, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// F=atomfast_walk_2025-07-19.csv, in /work/shared/data/radiation:
	if len(all) != 1112 { // awk -F';' 'NR>1' $F | wc -l
		t.Errorf("%d samples, want 1112", len(all))
	}
	if maxDose != 0.12916 || maxDoseLine != 396 { // awk -F';' 'NR>1 && $2>m {m=$2; l=NR} END{print m, l}' $F
		t.Errorf("max dose %v on line %d, want 0.12916 on line 396", maxDose, maxDoseLine)
	}
	if minDose != 0.01341 { // awk -F';' 'NR>1{if(mn==""||$2<mn)mn=$2} END{print mn}' $F
		t.Errorf("min dose %v, want 0.01341", minDose)
	}
	if maxCPS != 12.34933 { // awk -F';' 'NR>1{if($7>m)m=$7} END{print m}' $F
		t.Errorf("max cps %v, want 12.34933", maxCPS)
	}
	if math.Abs(sumD-61.44399) > 1e-9 { // awk -F';' 'NR>1{s+=$2} END{printf "%.5f\n", s}' $F
		t.Errorf("sum of doses %v, want 61.44399", sumD)
	}
	if len(all) == 0 {
		return
	}
	// Row 1: 1752939428;0.04356;45.329978943;37.267513275;16.200000763;0.326333880;4.16472;5.50000;1.7000;2;11.5
	s := all[0]
	if lines[0] != 2 || !s.Time.Equal(time.Date(2025, 7, 19, 15, 37, 8, 0, time.UTC)) || s.Time.Location() != time.UTC {
		t.Errorf("first line %d time %v", lines[0], s.Time)
	}
	if s.DoseRate != 0.04356 || s.Lat != 45.329978943 || s.Lon != 37.267513275 || s.Altitude != 16.200000763 ||
		s.Speed != 0.326333880 || s.Accuracy != 1.7 || s.CPM != 4.16472*60 {
		t.Errorf("first row %+v", s)
	}
	if sample.Has(s.Counts) || sample.Has(s.CountInterval) || sample.Has(s.HDOP) || s.Satellites != -1 {
		t.Errorf("counts/interval/hdop/sats must be absent: %+v", s)
	}
	wantAttrs := map[string]any{"cps": 4.16472, "cp_2s": 5.5, "marker_type": int64(2), "se_percent": 11.5}
	if !reflect.DeepEqual(s.Attributes, wantAttrs) {
		t.Errorf("attributes %#v, want %#v", s.Attributes, wantAttrs)
	}
	// Last row: 1752943236 → 2025-07-19T16:40:36Z (date -u -d @1752943236)
	if last := all[len(all)-1]; !last.Time.Equal(time.Date(2025, 7, 19, 16, 40, 36, 0, time.UTC)) || last.DoseRate != 0.04924 {
		t.Errorf("last row %+v", last)
	}
}

func TestHeaderlessReorderedAndErrors(t *testing.T) {
	in := "1752939428;0,04356;45.33;37.27;16.2;0.3;4;5.5;1.7;2;11.5\r\n" +
		"\r\n" +
		"1752939430;abc;45.33;37.27;16.2;0.3;4;5.5;1.7;2;11.5\r\n" +
		"1752939432;0.05;95;37.27;16.2;0.3;4;5.5;1.7;2;11.5\r\n" +
		"1752939434;0.05;45.33\r\n" +
		"1752939436;-0.05;45.33;37.27;16.2;0.3;4;5.5;1.7;2;11.5\r\n" +
		"1752939438;0.05;0;0;;;;;;;\r\n"
	type res struct {
		line  int
		field string
		err   error
	}
	var got []res
	var ok []sample.Sample
	err := Decode(strings.NewReader(in), func(n int, s sample.Sample, err error) error {
		r := res{line: n, err: err}
		var fe *sample.FieldError
		if errors.As(err, &fe) {
			r.field = fe.Field
		}
		got = append(got, r)
		if err == nil {
			ok = append(ok, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []res{{1, "", nil}, {3, "doserate", nil}, {4, "lat", nil}, {5, "", ErrFormat}, {6, "doserate", nil}, {7, "", nil}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range got {
		if got[i].line != want[i].line || got[i].field != want[i].field || (want[i].err != nil && !errors.Is(got[i].err, want[i].err)) {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(ok) != 2 || ok[0].DoseRate != 0.04356 || ok[0].CPM != 240 || ok[0].Attributes["cps"] != 4.0 {
		t.Fatalf("ok = %+v", ok)
	}
	if ok[1].GPSValid || sample.Has(ok[1].Speed) || len(ok[1].Attributes) != 0 {
		t.Errorf("0,0 with empty columns: %+v", ok[1])
	}

	// Columns found by name, in any order, extra ones kept.
	in = "lat;unix timestamp;lng;doserate (uSv/h);device note\n45.5;1752939428;37.5;0.1;parked\n"
	var s sample.Sample
	if err := Decode(strings.NewReader(in), func(_ int, got sample.Sample, err error) error { s = got; return err }); err != nil {
		t.Fatal(err)
	}
	if s.Lat != 45.5 || s.Lon != 37.5 || s.DoseRate != 0.1 || s.Attributes["device_note"] != "parked" || sample.Has(s.CPM) {
		t.Errorf("%+v", s)
	}

	for _, bad := range []string{"", "\r\n", "foo;bar\n1;2\n", "lat;lat;unix timestamp\n"} {
		if err := Decode(strings.NewReader(bad), func(int, sample.Sample, error) error { return nil }); !errors.Is(err, ErrFormat) {
			t.Errorf("Decode(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestAttrName(t *testing.T) {
	for in, out := range map[string]string{
		"unix timestamp": "unix_timestamp", "doserate (uSv/h)": "doserate", "wgs84_alt (m.)": "wgs84_alt",
		"horizontal accuracy (radius of 68% confidence [m])": "horizontal_accuracy",
		"marker type (2-circle, 1-marker)":                   "marker_type", "SE (1 σ)[%]": "se_percent", "(x)": "x", "cp_2s": "cp_2s",
	} {
		if got := attrName(in); got != out {
			t.Errorf("attrName(%q) = %q, want %q", in, got, out)
		}
	}
}
