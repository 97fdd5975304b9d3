package batch

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

func columnarSamples() []sample.Sample {
	a := sample.New()
	a.Source, a.RadValid = sample.SourceHTTP, true
	a.Time = time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	a.Lat, a.Lon, a.GPSValid = 51.95, 4.05, true
	a.Speed, a.Heading, a.Satellites = 8.3, 90, 11
	a.DoseRate, a.Counts, a.CountInterval, a.Battery = 0.11, 4, 5, 87
	b := sample.New() // no fix, detector flagged invalid, only a dose
	b.Source = sample.SourceHTTP
	b.Time = a.Time.Add(time.Second)
	b.DoseRate, b.CPM, b.Altitude, b.HDOP, b.Accuracy = 1.65, 500, -3, 0.9, 4
	return []sample.Sample{a, b}
}

func TestColumnarRoundTrip(t *testing.T) {
	want := columnarSamples()
	d, err := DecodeColumnar(AppendColumnar(nil, want))
	if err != nil || len(d.Errors) != 0 || !reflect.DeepEqual(d.Index, []int{0, 1}) {
		t.Fatalf("decode: %+v %v", d, err)
	}
	for i := range want {
		if !sameSample(d.Samples[i], want[i]) {
			t.Errorf("sample %d:\ngot  %+v\nwant %+v", i, d.Samples[i], want[i])
		}
	}
}

// sameSample compares with NaN equal to NaN.
func sameSample(a, b sample.Sample) bool {
	fa, fb := []float64{a.Lat, a.Lon, a.Altitude, a.Speed, a.Heading, a.HDOP, a.Accuracy, a.DoseRate, a.CPM, a.Counts, a.CountInterval, a.Battery},
		[]float64{b.Lat, b.Lon, b.Altitude, b.Speed, b.Heading, b.HDOP, b.Accuracy, b.DoseRate, b.CPM, b.Counts, b.CountInterval, b.Battery}
	for i := range fa {
		if math.Float64bits(fa[i]) != math.Float64bits(fb[i]) && !(math.IsNaN(fa[i]) && math.IsNaN(fb[i])) {
			return false
		}
	}
	return a.Time.Equal(b.Time) && a.GPSValid == b.GPSValid && a.RadValid == b.RadValid && a.Satellites == b.Satellites &&
		a.Source == b.Source && len(a.Attributes) == 0 && len(b.Attributes) == 0
}

// columnarBody builds a body with the given columns from raw column bytes.
func columnarBody(n int, cols uint32, columns ...[]byte) []byte {
	b := []byte(columnarMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, cols)
	for _, c := range columns {
		b = append(b, c...)
	}
	return b
}

func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func f64s(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func TestColumnarRefusesMalformedBodies(t *testing.T) {
	t0 := uint64(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixMicro())
	for name, body := range map[string][]byte{
		"empty":           nil,
		"magic":           append([]byte("RTC2"), make([]byte, 8)...),
		"unknown column":  columnarBody(1, ColTime|1<<20, u64s(t0)),
		"no time":         columnarBody(1, ColDoseRate, f64s(0.1)),
		"lat without lon": columnarBody(1, ColTime|ColLat, u64s(t0), f64s(1)),
		"short":           columnarBody(2, ColTime|ColDoseRate, u64s(t0, t0), f64s(0.1)),
		"trailing":        append(columnarBody(1, ColTime, u64s(t0)), 0),
		"huge count":      columnarBody(math.MaxUint32, ColTime|ColDoseRate, u64s(t0), f64s(0.1)),
	} {
		_, err := DecodeColumnar(body)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v, want a syntax error", name, err)
		}
	}
}

func TestColumnarSampleErrorsKeepTheOthers(t *testing.T) {
	t0 := uint64(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixMicro())
	nan := math.NaN()
	// Sample 0 good; 1 lat without lon; 2 gps_valid 2; 3 counts without
	// interval; 4 time 0; 5 satellites -2; 6 gps_valid 1 without a fix.
	const n = 7
	cols := uint32(ColTime | ColLat | ColLon | ColSatellites | ColCounts | ColCountInterval | ColGPSValid)
	sats := binary.LittleEndian.AppendUint16(nil, 5)
	for _, v := range []int16{5, 5, 5, 5, -2, 5} {
		sats = binary.LittleEndian.AppendUint16(sats, uint16(v))
	}
	body := columnarBody(n, cols,
		u64s(t0, t0, t0, t0, 0, t0, t0),
		f64s(51, nan, 51, 51, 51, 51, nan),
		f64s(4, 4, 4, 4, 4, 4, nan),
		sats,
		f64s(3, 3, 3, 3, 3, 3, 3),
		f64s(5, 5, 5, nan, 5, 5, 5),
		[]byte{1, 1, 2, 1, 1, 1, 1},
	)
	d, err := DecodeColumnar(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Index, []int{0}) || d.Samples[0].Lat != 51 || !d.Samples[0].GPSValid || d.Samples[0].Satellites != 5 {
		t.Fatalf("kept %v %+v", d.Index, d.Samples)
	}
	want := map[int]string{1: "lat", 2: "gps_valid", 3: "count_interval", 4: "time", 5: "satellites", 6: "gps_valid"}
	if len(d.Errors) != len(want) {
		t.Fatalf("errors %+v", d.Errors)
	}
	for _, e := range d.Errors {
		if want[e.Index] != e.Field {
			t.Errorf("sample %d: field %q (%s), want %q", e.Index, e.Field, e.Msg, want[e.Index])
		}
	}
}

// Any body: no panic; what decodes is indexed once each, and encoding the
// decoded samples again decodes to the same samples.
func FuzzDecodeColumnar(f *testing.F) {
	f.Add(AppendColumnar(nil, columnarSamples()))
	f.Add(columnarBody(1, ColTime|ColGPSValid|ColRadValid, u64s(1), []byte{3, 1}))
	f.Add(columnarBody(2, ColTime|ColLat|ColLon, u64s(1, 2), f64s(1, math.NaN()), f64s(2, 3)))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeColumnar(body)
		if err != nil {
			return
		}
		n := int(binary.LittleEndian.Uint32(body[4:]))
		seen := make([]bool, n)
		for _, i := range d.Index {
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("index %d of %d twice or out of range", i, n)
			}
			seen[i] = true
		}
		for _, e := range d.Errors {
			if e.Index < 0 || e.Index >= n || seen[e.Index] {
				t.Fatalf("error index %d of %d twice or out of range", e.Index, n)
			}
			seen[e.Index] = true
		}
		if len(d.Index)+len(d.Errors) != n {
			t.Fatalf("%d kept + %d refused of %d", len(d.Index), len(d.Errors), n)
		}
		again, err := DecodeColumnar(AppendColumnar(nil, d.Samples))
		if err != nil || len(again.Errors) != 0 || len(again.Samples) != len(d.Samples) {
			t.Fatalf("re-encoded: %+v %v", again.Errors, err)
		}
		for i := range d.Samples {
			if !sameSample(again.Samples[i], d.Samples[i]) {
				t.Fatalf("sample %d:\nfirst  %+v\nagain  %+v", i, d.Samples[i], again.Samples[i])
			}
		}
	})
}

// BenchmarkDecodeColumnar decodes the samples of BenchmarkDecodeNDJSON
// (100 per body) from the columnar body: compare ns/op in the same run.
func BenchmarkDecodeColumnar(b *testing.B) {
	d, err := Decode(ndjsonBenchBody(), true)
	if err != nil {
		b.Fatal(err)
	}
	body := AppendColumnar(nil, d.Samples)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeColumnar(body); err != nil {
			b.Fatal(err)
		}
	}
}
