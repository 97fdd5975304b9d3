package geo

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestGeoJSONRoundTrip(t *testing.T) {
	fences := []Fence{
		polygonFence(1, square(10, 50, 10.1, 50.1), square(10.04, 50.04, 10.06, 50.06)),
		{ID: 2, Name: "two parts", Kind: KindPatrol, Geometry: orb.MultiPolygon{{square(0, 0, 1, 1)}, {square(5, 5, 6, 6)}}},
		NewCircle(3, "Kremlin", KindMonitoring, 37.6204, 55.75414, 100.5),
		NewCorridor(4, "route 7", KindPatrol, orb.LineString{{60.59833, 56.83777}, {60.5968, 56.83766}}, 17.25),
		polygonFence(9007199254740993, orb.Ring{{179.9, -10}, {-179.9, -10}, {-179.9, -9}, {179.9, -9}, {179.9, -10}}),
	}
	data, err := MarshalGeoJSON(fences)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseGeoJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, fences) {
		t.Fatalf("round trip changed the fences:\n got %+v\nwant %+v", back, fences)
	}
	one, err := MarshalFeature(fences[2])
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"type":"Feature","id":3,"geometry":{"type":"Point","coordinates":[37.6204,55.75414]},` +
		`"properties":{"id":3,"name":"Kremlin","kind":"monitoring","radius_m":100.5}}`
	if string(one) != want {
		t.Fatalf("MarshalFeature:\n got %s\nwant %s", one, want)
	}
	single, err := ParseGeoJSON(one)
	if err != nil || len(single) != 1 || !reflect.DeepEqual(single[0], fences[2]) {
		t.Fatalf("single feature: %v %+v", err, single)
	}
}

func TestGeoJSONReadsForeignFeatures(t *testing.T) {
	// Feature id outside properties, an altitude, extra properties, a string id.
	data := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","id":12,"geometry":{"type":"LineString","coordinates":[[8.5,47.3,410],[8.6,47.4,420]]},
	  "properties":{"kind":"patrol","half_width_m":30,"colour":"red"}},
	 {"type":"Feature","geometry":{"type":"Point","coordinates":[8.5,47.3]},
	  "properties":{"id":"13","name":"depot","kind":"restricted","radius_m":250}}]}`
	fences, err := ParseGeoJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fence{
		NewCorridor(12, "", KindPatrol, orb.LineString{{8.5, 47.3}, {8.6, 47.4}}, 30),
		NewCircle(13, "depot", KindRestricted, 8.5, 47.3, 250),
	}
	if !reflect.DeepEqual(fences, want) {
		t.Fatalf("got %+v\nwant %+v", fences, want)
	}
}

func TestGeoJSONErrors(t *testing.T) {
	const ring = `[[0,0],[1,0],[1,1],[0,0]]`
	feature := func(geometry, props string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[` + ring +
			`]},"properties":{"id":1,"kind":"patrol"}},{"type":"Feature","geometry":` + geometry + `,"properties":` + props + `}]}`
	}
	for _, c := range []struct {
		name, doc, field, reason string
	}{
		{"point without radius", feature(`{"type":"Point","coordinates":[1,2]}`, `{"id":2,"kind":"patrol"}`), "features[1].properties.radius_m", "got 0"},
		{"line without half-width", feature(`{"type":"LineString","coordinates":[[1,2],[2,3]]}`, `{"id":2,"kind":"patrol"}`), "features[1].properties.half_width_m", "got 0"},
		{"bad kind", feature(`{"type":"Polygon","coordinates":[`+ring+`]}`, `{"id":2,"kind":"forbidden"}`), "features[1].properties.kind", "forbidden"},
		{"fractional id", feature(`{"type":"Polygon","coordinates":[`+ring+`]}`, `{"id":2.5,"kind":"patrol"}`), "features[1].properties.id", "not an integer"},
		{"radius is a string", feature(`{"type":"Point","coordinates":[1,2]}`, `{"id":2,"kind":"patrol","radius_m":"big"}`), "features[1].properties.radius_m", "wrong type"},
		{"no geometry", feature(`null`, `{"id":2,"kind":"patrol"}`), "features[1].geometry", "empty"},
		{"unsupported type", feature(`{"type":"MultiPoint","coordinates":[[1,2]]}`, `{"id":2,"kind":"patrol"}`), "features[1].geometry.type", `"MultiPoint" is not a fence geometry`},
		{"short position", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1],[0,0]]]}`, `{"id":2,"kind":"patrol"}`), "features[1].geometry.coordinates[0][2]", "longitude and a latitude"},
		{"open ring", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, `{"id":2,"kind":"patrol"}`), "features[1].geometry.coordinates[0]", "not closed"},
		{"out of range", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,100],[0,0]]]}`, `{"id":2,"kind":"patrol"}`), "features[1].geometry.coordinates[0][2]", "latitude 100"},
		{"wrong nesting", feature(`{"type":"Polygon","coordinates":[[0,0],[1,0]]}`, `{"id":2,"kind":"patrol"}`), "features[1].geometry.coordinates", "not Polygon coordinates"},
		{"not a feature", `{"type":"Polygon","coordinates":[` + ring + `]}`, "type", "want Feature or FeatureCollection"},
	} {
		_, err := ParseGeoJSON([]byte(c.doc))
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != c.field || !strings.Contains(verr.Reason, c.reason) {
			t.Errorf("%s: err = %v, want field %q reason containing %q", c.name, err, c.field, c.reason)
		}
	}
	if _, err := ParseGeoJSON([]byte(`{"type":`)); err == nil || !strings.HasPrefix(err.Error(), "geojson: ") {
		t.Errorf("syntax error: %v", err)
	}
	if _, err := MarshalGeoJSON([]Fence{NewCircle(1, "c", KindPatrol, 0, 0, 0)}); err == nil {
		t.Error("MarshalGeoJSON wrote an invalid fence")
	}
}

func TestGeoJSONFeatureWithoutIDIsNew(t *testing.T) {
	fs, err := ParseGeoJSON([]byte(`{"type":"Feature","properties":{"name":"new","kind":"patrol"},"geometry":{"type":"Point","coordinates":[4,52]},"id":null}`))
	if err == nil {
		t.Fatal("a point without radius_m must still be refused")
	}
	fs, err = ParseGeoJSON([]byte(`{"type":"Feature","properties":{"name":"new","kind":"patrol","radius_m":50},"geometry":{"type":"Point","coordinates":[4,52]}}`))
	if err != nil || len(fs) != 1 || fs[0].ID != 0 || fs[0].Name != "new" {
		t.Fatalf("feature without id = %+v, %v; want one fence with ID 0 (assigned when stored)", fs, err)
	}
}
