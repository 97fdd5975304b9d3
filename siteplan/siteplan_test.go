package siteplan

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/google_kml_samples.kml is Google's "KML Samples" document from
// the KML tutorial (developers.google.com/kml), as copied into the public
// repository Nipuni/Data-visualization (commit 940be10, KML_Samples.kml),
// sha256 fc9c1852…eefc4b: 20 placemarks — 4 points, 6 paths, 9 polygons
// (the Pentagon with an inner ring), one with no geometry — plus ground
// and screen overlays, styles and nested Documents/Folders.
func TestParseKMLRealSample(t *testing.T) {
	data, err := os.ReadFile("testdata/google_kml_samples.kml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ParseKML(data)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range res.Plan.Features {
		count[f.Geometry.Type]++
	}
	if want := map[string]int{"Point": 4, "LineString": 6, "Polygon": 9}; !equalCounts(count, want) {
		t.Fatalf("geometry counts %v, want %v", count, want)
	}
	if res.Skipped != 1 {
		t.Fatalf("skipped %d placemarks, want 1 (the placemark with only a description)", res.Skipped)
	}
	first := res.Plan.Features[0]
	if first.Properties["name"] != "Simple placemark" {
		t.Fatalf("first feature name %v", first.Properties["name"])
	}
	if p := first.Geometry.Coordinates.([]float64); p[0] != -122.0822035425683 || p[1] != 37.42228990140251 || len(p) != 2 {
		t.Fatalf("first point %v, want [-122.0822035425683 37.42228990140251] (altitude dropped)", p)
	}
	var pentagon *Feature
	for i, f := range res.Plan.Features {
		if f.Properties["name"] == "The Pentagon" {
			pentagon = &res.Plan.Features[i]
		}
	}
	if pentagon == nil {
		t.Fatal("no Pentagon")
	}
	rings := pentagon.Geometry.Coordinates.([][][]float64)
	if len(rings) != 2 || len(rings[0]) != 6 || len(rings[1]) != 6 {
		t.Fatalf("Pentagon rings %d (%d, %d positions), want outer and inner of 6", len(rings), len(rings[0]), len(rings[1]))
	}
	if rings[0][0][0] != -77.05788457660967 || rings[1][0][1] != 38.87154239798456 {
		t.Fatalf("Pentagon positions %v / %v", rings[0][0], rings[1][0])
	}
	// What the KML yields is valid GeoJSON by our own rules.
	b, err := json.Marshal(res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseGeoJSON(b)
	if err != nil || len(again.Features) != 19 {
		t.Fatalf("round trip through GeoJSON: %d features, %v", len(again.Features), err)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseKMLExtendedDataAndMultiGeometry(t *testing.T) {
	kml := `<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder>
<Placemark><name>Quay 7</name><ExtendedData><Data name="kind"><value>Quay</value></Data></ExtendedData>
<MultiGeometry><LineString><coordinates>4.01,51.95 4.02,51.95</coordinates></LineString>
<Polygon><outerBoundaryIs><LinearRing><coordinates>4,51 4.1,51 4.1,51.1</coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry></Placemark>
<Placemark><name>码头 B</name><ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="kind">bay</SimpleData></SchemaData></ExtendedData>
<Point><coordinates>4.03,51.96,0</coordinates></Point></Placemark>
</Folder></Document></kml>`
	res, err := ParseKML([]byte(kml))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Features) != 3 {
		t.Fatalf("%d features, want 3 (two parts of the MultiGeometry, one point)", len(res.Plan.Features))
	}
	if k := res.Plan.Features[0].Properties["kind"]; k != "quay" {
		t.Fatalf("kind %v, want quay (lower-cased)", k)
	}
	ring := res.Plan.Features[1].Geometry.Coordinates.([][][]float64)[0]
	if len(ring) != 4 || ring[3][0] != 4 || ring[3][1] != 51 {
		t.Fatalf("unclosed KML ring not closed: %v", ring)
	}
	if p := res.Plan.Features[2].Properties; p["kind"] != "bay" || p["name"] != "码头 B" {
		t.Fatalf("properties %v", p)
	}
}

func TestParseKMLErrorsNameThePlacemark(t *testing.T) {
	for _, tc := range []struct{ kml, want string }{
		{`<kml><Placemark><name>A</name><Point><coordinates>4,51</coordinates></Point></Placemark><Placemark><name>Bad</name><LineString><coordinates>4,51 200,51</coordinates></LineString></Placemark></kml>`,
			`Placemark 2 ("Bad") LineString coordinates[1]: longitude 200 outside [-180, 180]`},
		{`<kml><Placemark><Point><coordinates>4;51</coordinates></Point></Placemark></kml>`, `Placemark 1 Point coordinates[0]: "4;51" is not lon,lat[,alt]`},
		{`<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>4,51 4.1,51</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`, `Placemark 1 Polygon outerBoundaryIs: a ring needs at least 3 distinct positions`},
		{`<kml><Placemark>`, `not KML`},
	} {
		_, err := ParseKML([]byte(tc.kml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKML(%.60s…) = %v, want %q", tc.kml, err, tc.want)
		}
	}
}

func TestParseGeoJSONFieldErrors(t *testing.T) {
	for _, tc := range []struct{ in, field, reason string }{
		{`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[4,51]},"properties":{}},{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4,51],[5,51],[5,52],[4,51.5]]]},"properties":{"kind":"quay"}}]}`,
			"features[1].geometry.coordinates[0]", "not closed"},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4,51],[4,95]]}}]}`,
			"features[0].geometry.coordinates[1]", "latitude 95"},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Circle","coordinates":[4,51]}}]}`,
			"features[0].geometry.type", "must be Point"},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[4,51]},"properties":{"kind":7}}]}`,
			"features[0].properties.kind", "must be a string"},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null}]}`, "features[0].geometry", "required"},
		{`{"type":"Topology"}`, "type", "must be FeatureCollection"},
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4,51]]}}`, "geometry.coordinates", "at least 2"},
		{`[1,2`, "", "not GeoJSON"},
	} {
		_, err := ParseGeoJSON([]byte(tc.in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
			t.Errorf("ParseGeoJSON(%.70s…) = %v, want field %q reason ~%q", tc.in, err, tc.field, tc.reason)
		}
	}
}

func TestParseGeoJSONKeepsPropertiesAndDropsAltitude(t *testing.T) {
	fc, err := ParseGeoJSON([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[4,51,3],[4.1,51,4]]]},"properties":{"kind":" Road ","name":"Quay road","lanes":2}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := fc.Features[0]
	if f.Properties["kind"] != "road" || f.Properties["lanes"] != float64(2) {
		t.Fatalf("properties %v", f.Properties)
	}
	if l := f.Geometry.Coordinates.([][][]float64)[0][1]; len(l) != 2 {
		t.Fatalf("altitude kept: %v", l)
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[`)
	for i := 0; i <= MaxPositions; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("[4,51]")
	}
	b.WriteString(`]}}`)
	_, err := ParseGeoJSON([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 500000 positions") {
		t.Fatalf("err = %v, want the position limit", err)
	}
}

func FuzzParseGeoJSON(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4,51],[5,51],[5,52],[4,51]]]},"properties":{"kind":"quay"}}]}`))
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,2],[3,4,5]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseGeoJSON(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(fc)
		if err != nil {
			t.Fatalf("a valid plan does not marshal: %v", err)
		}
		if _, err := ParseGeoJSON(b); err != nil {
			t.Fatalf("a valid plan is not valid again: %v\n%s", err, b)
		}
	})
}

func FuzzParseKML(f *testing.F) {
	if data, err := os.ReadFile("testdata/google_kml_samples.kml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`<kml><Placemark><name>x</name><MultiGeometry><Point><coordinates>4,51</coordinates></Point></MultiGeometry></Placemark></kml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseKML(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(res.Plan)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ParseGeoJSON(b); err != nil {
			t.Fatalf("KML gave invalid GeoJSON: %v\n%s", err, b)
		}
	})
}
