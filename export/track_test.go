package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/sample"
)

// point is what every position format must give back exactly.
type point struct {
	Lon, Lat, Alt float64 // Alt NaN when absent
	Time          time.Time
	Dose          float64 // NaN when absent
}

func eqPoint(a, b point) bool {
	same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return a.Lon == b.Lon && a.Lat == b.Lat && same(a.Alt, b.Alt) && a.Time.Equal(b.Time) && same(a.Dose, b.Dose)
}

// trackSamples: two devices; awkward floats (shortest round trip must be
// exact), a sample without a fix, one without altitude and dose.
func trackSamples() ([]export.Device, [][]sample.Sample) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)
	mk := func(i int, lon, lat, alt, dose float64, fix bool) sample.Sample {
		s := sample.New()
		s.Time = t0.Add(time.Duration(i) * 1500 * time.Millisecond)
		s.Lon, s.Lat, s.GPSValid, s.Altitude, s.DoseRate = lon, lat, fix, alt, dose
		s.Source = sample.SourceHTTP
		return s
	}
	devs := []export.Device{{ID: 7, UID: "veh-7", Name: `Patrol "A" & <B>`}, {ID: 9, UID: "=cmd()", Name: "Patrol 9"}}
	return devs, [][]sample.Sample{
		{
			mk(0, 140.1234567890123, 37.42, 201.5, 0.1+0.2, true),
			mk(1, 0, 0, math.NaN(), 1.5, false), // no fix
			mk(2, -0.000001, -33.8688, math.NaN(), math.NaN(), true),
		},
		{mk(3, 4.899431, 52.379189, -2.25, 1e-7, true)},
	}
}

func write(t *testing.T, f export.Format, single bool) []byte {
	t.Helper()
	devs, tracks := trackSamples()
	var buf bytes.Buffer
	tw, err := export.NewTrackWriter(f, &buf, single)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range devs {
		if single && i > 0 {
			break
		}
		if err := tw.Begin(d); err != nil {
			t.Fatal(err)
		}
		for j := range tracks[i] {
			if err := tw.Sample(&tracks[i][j]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantPoints are the samples with a fix, in order.
func wantPoints() []point {
	_, tracks := trackSamples()
	var out []point
	for _, tr := range tracks {
		for _, s := range tr {
			if s.GPSValid {
				out = append(out, point{s.Lon, s.Lat, s.Altitude, s.Time, s.DoseRate})
			}
		}
	}
	return out
}

func checkPoints(t *testing.T, got []point) {
	t.Helper()
	want := wantPoints()
	if len(got) != len(want) {
		t.Fatalf("%d points read back, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !eqPoint(got[i], want[i]) {
			t.Errorf("point %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	if s == "" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return f
}

func parseT(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGPXRoundTrip(t *testing.T) {
	var doc struct {
		XMLName xml.Name `xml:"http://www.topografix.com/GPX/1/1 gpx"`
		Trk     []struct {
			Name string `xml:"name"`
			Src  string `xml:"src"`
			Pts  []struct {
				Lat  string `xml:"lat,attr"`
				Lon  string `xml:"lon,attr"`
				Ele  string `xml:"ele"`
				Time string `xml:"time"`
				Dose string `xml:"extensions>dose_rate_usvh"`
			} `xml:"trkseg>trkpt"`
		} `xml:"trk"`
	}
	if err := xml.Unmarshal(write(t, export.GPX, false), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Trk) != 2 || doc.Trk[0].Name != `Patrol "A" & <B>` || doc.Trk[1].Src != "=cmd()" {
		t.Fatalf("tracks %+v", doc.Trk)
	}
	var got []point
	for _, tr := range doc.Trk {
		for _, p := range tr.Pts {
			got = append(got, point{parseF(t, p.Lon), parseF(t, p.Lat), parseF(t, p.Ele), parseT(t, p.Time), parseF(t, p.Dose)})
		}
	}
	checkPoints(t, got)
}

func TestKMLRoundTrip(t *testing.T) {
	var doc struct {
		Folders []struct {
			Name       string `xml:"name"`
			Placemarks []struct {
				When   string `xml:"TimeStamp>when"`
				Coords string `xml:"Point>coordinates"`
				Data   []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value"`
				} `xml:"ExtendedData>Data"`
			} `xml:"Placemark"`
		} `xml:"Document>Folder"`
	}
	if err := xml.Unmarshal(write(t, export.KML, false), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Folders) != 2 || doc.Folders[0].Name != `Patrol "A" & <B>` {
		t.Fatalf("folders %+v", doc.Folders)
	}
	var got []point
	for _, f := range doc.Folders {
		for _, pm := range f.Placemarks {
			c := strings.Split(pm.Coords, ",")
			p := point{Lon: parseF(t, c[0]), Lat: parseF(t, c[1]), Alt: math.NaN(), Time: parseT(t, pm.When), Dose: math.NaN()}
			if len(c) == 3 {
				p.Alt = parseF(t, c[2])
			}
			for _, d := range pm.Data {
				if d.Name == "dose_rate_usvh" {
					p.Dose = parseF(t, d.Value)
				}
			}
			got = append(got, p)
		}
	}
	checkPoints(t, got)
}

func TestGeoJSONRoundTrip(t *testing.T) {
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type     string `json:"type"`
			Geometry *struct {
				Type        string    `json:"type"`
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				DeviceID  int64    `json:"device_id"`
				DeviceUID string   `json:"device_uid"`
				Time      string   `json:"time"`
				Dose      *float64 `json:"dose_rate_usvh"`
			} `json:"properties"`
		} `json:"features"`
	}
	b := write(t, export.GeoJSON, false)
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 4 {
		t.Fatalf("got %s with %d features, want a FeatureCollection of 4 (one without a fix)", fc.Type, len(fc.Features))
	}
	var got []point
	nulls := 0
	for _, f := range fc.Features {
		if f.Geometry == nil {
			nulls++
			if f.Properties.DeviceID != 7 || f.Properties.Dose == nil || *f.Properties.Dose != 1.5 {
				t.Errorf("fixless feature %+v", f.Properties)
			}
			continue
		}
		c := f.Geometry.Coordinates
		p := point{Lon: c[0], Lat: c[1], Alt: math.NaN(), Time: parseT(t, f.Properties.Time), Dose: math.NaN()}
		if len(c) == 3 {
			p.Alt = c[2]
		}
		if f.Properties.Dose != nil {
			p.Dose = *f.Properties.Dose
		}
		got = append(got, p)
	}
	if nulls != 1 {
		t.Errorf("%d null geometries, want 1", nulls)
	}
	checkPoints(t, got)
}

func TestCSVRoundTripAndFormulaGuard(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(write(t, export.CSV, false))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != export.CSVHeader || len(rows) != 5 {
		t.Fatalf("header %q, %d rows", rows[0], len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var got []point
	for _, r := range rows[1:] {
		if r[col["gps_valid"]] != "true" {
			if r[col["lon"]] != "" || r[col["lat"]] != "" {
				t.Errorf("fixless row has a position: %q", r)
			}
			continue
		}
		got = append(got, point{parseF(t, r[col["lon"]]), parseF(t, r[col["lat"]]), parseF(t, r[col["altitude_m"]]),
			parseT(t, r[col["time"]]), parseF(t, r[col["dose_rate_usvh"]])})
	}
	checkPoints(t, got)
	if uid := rows[4][col["device_uid"]]; uid != "'=cmd()" {
		t.Errorf("formula-like uid written as %q, want it prefixed with '", uid)
	}
}

func TestSingleJSONShapeAndEmptyDocuments(t *testing.T) {
	var one struct {
		DeviceID int64               `json:"device_id"`
		Samples  []export.SampleJSON `json:"samples"`
	}
	if err := json.Unmarshal(write(t, export.JSON, true), &one); err != nil {
		t.Fatal(err)
	}
	if one.DeviceID != 7 || len(one.Samples) != 3 || one.Samples[1].Lon != nil || *one.Samples[0].DoseRate != 0.1+0.2 {
		t.Fatalf("single JSON %+v", one)
	}
	var many struct {
		Tracks []struct {
			DeviceID int64               `json:"device_id"`
			UID      string              `json:"uid"`
			Samples  []export.SampleJSON `json:"samples"`
		} `json:"tracks"`
	}
	if err := json.Unmarshal(write(t, export.JSON, false), &many); err != nil {
		t.Fatal(err)
	}
	if len(many.Tracks) != 2 || many.Tracks[1].UID != "=cmd()" || len(many.Tracks[1].Samples) != 1 {
		t.Fatalf("tracks JSON %+v", many)
	}
	// A writer closed without devices still writes a well-formed document.
	for _, f := range export.TrackFormats {
		var buf bytes.Buffer
		tw, _ := export.NewTrackWriter(f, &buf, false)
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		switch f {
		case export.JSON, export.GeoJSON:
			if !json.Valid(buf.Bytes()) {
				t.Errorf("%s empty document is not JSON: %s", f, buf.Bytes())
			}
		case export.KML, export.GPX:
			if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
				t.Errorf("%s empty document: %v", f, err)
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		param, accept string
		want          export.Format
		err           bool
	}{
		{"csv", "", export.CSV, false},
		{"GPX", "application/json", export.GPX, false},
		{"", "application/vnd.google-earth.kml+xml, */*", export.KML, false},
		{"", "text/html,*/*;q=0.8", export.JSON, false},
		{"", "application/xml", export.JSON, false}, // N42 is not a track format
		{"shp", "", "", true},
	} {
		got, err := export.Negotiate(tc.param, tc.accept, export.TrackFormats...)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %q, %v; want %q", tc.param, tc.accept, got, err, tc.want)
		}
	}
}
