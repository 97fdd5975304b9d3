package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// GeoJSON exchange. A fence is a Feature whose properties carry id, name and
// kind; a circle is a Point with properties.radius_m, a corridor a
// LineString with properties.half_width_m. Other properties are ignored.
// The codec is written here on encoding/json rather than orb/geojson, whose
// BSON support would pull the MongoDB driver into the module.

type featureIn struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Geometry   *geometryIn                `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type geometryIn struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

type featureOut struct {
	Type       string        `json:"type"`
	ID         int64         `json:"id"` // also at the top: MapLibre's numeric feature id
	Geometry   geometryOut   `json:"geometry"`
	Properties propertiesOut `json:"properties"`
}

type geometryOut struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

type propertiesOut struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Kind       Kind    `json:"kind"`
	RadiusM    float64 `json:"radius_m,omitempty"`
	HalfWidthM float64 `json:"half_width_m,omitempty"`
}

// ParseGeoJSON reads fences from a Feature or a FeatureCollection and
// validates them. A *ValidationError's Field is the JSON path, e.g.
// "features[2].properties.radius_m".
func ParseGeoJSON(data []byte) ([]Fence, error) {
	var head struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("geojson: %w", err)
	}
	switch head.Type {
	case "Feature":
		f, err := parseFeature(data, "")
		if err != nil {
			return nil, err
		}
		return []Fence{f}, nil
	case "FeatureCollection":
		fences := make([]Fence, 0, len(head.Features))
		for i, raw := range head.Features {
			f, err := parseFeature(raw, fmt.Sprintf("features[%d].", i))
			if err != nil {
				return nil, err
			}
			fences = append(fences, f)
		}
		return fences, nil
	}
	return nil, fail("type", fmt.Sprintf("%q: want Feature or FeatureCollection", head.Type))
}

func parseFeature(data []byte, path string) (Fence, error) {
	var in featureIn
	if err := json.Unmarshal(data, &in); err != nil {
		return Fence{}, fail(strings.TrimSuffix(path, "."), err.Error())
	}
	f, verr := decodeFeature(in)
	if verr == nil {
		if verr = f.validate(); verr != nil && !strings.HasPrefix(verr.Field, "geometry") {
			verr.Field = "properties." + verr.Field // radius_m, half_width_m, kind
		}
	}
	if verr != nil {
		verr.Field = path + verr.Field
		verr.FenceID = f.ID
		return Fence{}, verr
	}
	return f, nil
}

// decodeFeature reads a feature; error fields are relative to the feature.
func decodeFeature(in featureIn) (Fence, *ValidationError) {
	var f Fence
	if in.Type != "Feature" {
		return f, fail("type", fmt.Sprintf("%q: want Feature", in.Type))
	}
	p := in.Properties
	idRaw, idField := p["id"], "properties.id"
	if idRaw == nil && in.ID != nil {
		idRaw, idField = in.ID, "id" // the feature's own id, outside properties
	}
	id, err := parseID(idRaw)
	if err != nil {
		return f, fail(idField, err.Error())
	}
	f.ID = id
	for _, o := range []struct {
		key string
		v   any
	}{{"name", &f.Name}, {"kind", &f.Kind}, {"radius_m", &f.RadiusM}, {"half_width_m", &f.HalfWidthM}} {
		if err := decodeOptional(p, o.key, o.v); err != nil {
			return f, err
		}
	}
	if in.Geometry == nil {
		return f, fail("geometry", "empty")
	}
	g, verr := decodeGeometry(in.Geometry)
	f.Geometry = g
	return f, verr
}

func parseID(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		// A fence not stored yet has no id; storage assigns one.
		return 0, nil
	}
	id, err := strconv.ParseInt(string(bytes.Trim(raw, `"`)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer fence id", raw)
	}
	return id, nil
}

func decodeOptional(p map[string]json.RawMessage, key string, v any) *ValidationError {
	raw, ok := p[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fail("properties."+key, fmt.Sprintf("%s has the wrong type", raw))
	}
	return nil
}

func decodeGeometry(g *geometryIn) (orb.Geometry, *ValidationError) {
	const field = "geometry.coordinates"
	if len(g.Coordinates) == 0 || string(g.Coordinates) == "null" {
		return nil, fail(field, "empty")
	}
	var err error
	var geom orb.Geometry
	switch g.Type {
	case "Point":
		var c []float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			var p orb.Point
			p, err = toPoint(c)
			geom = p
		}
	case "LineString":
		var c [][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			var l orb.LineString
			l, err = toPoints(c)
			geom = l
		}
	case "Polygon":
		var c [][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			geom, err = toPolygon(c)
		}
	case "MultiPolygon":
		var c [][][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			mp := make(orb.MultiPolygon, len(c))
			for i := range c {
				if mp[i], err = toPolygon(c[i]); err != nil {
					err = fmt.Errorf("[%d]%w", i, err)
					break
				}
			}
			geom = mp
		}
	default:
		return nil, fail("geometry.type", fmt.Sprintf("%q is not a fence geometry (Polygon, MultiPolygon, Point, LineString)", g.Type))
	}
	if err != nil {
		var pe *positionError
		if errors.As(err, &pe) {
			return nil, fail(field+pe.path, pe.reason)
		}
		return nil, fail(field, fmt.Sprintf("not %s coordinates: %v", g.Type, err))
	}
	return geom, nil
}

// positionError locates a malformed position: path is like "[0][3]".
type positionError struct{ path, reason string }

func (e *positionError) Error() string { return e.path + ": " + e.reason }

func toPoint(c []float64) (orb.Point, error) {
	if len(c) < 2 {
		return orb.Point{}, &positionError{"", "a position needs a longitude and a latitude"}
	}
	return orb.Point{c[0], c[1]}, nil // an altitude is dropped
}

func toPoints(c [][]float64) ([]orb.Point, error) {
	ps := make([]orb.Point, len(c))
	for i := range c {
		p, err := toPoint(c[i])
		if err != nil {
			return nil, &positionError{fmt.Sprintf("[%d]", i), err.(*positionError).reason}
		}
		ps[i] = p
	}
	return ps, nil
}

func toPolygon(c [][][]float64) (orb.Polygon, error) {
	poly := make(orb.Polygon, len(c))
	for i := range c {
		ps, err := toPoints(c[i])
		if err != nil {
			pe := err.(*positionError)
			return nil, &positionError{fmt.Sprintf("[%d]%s", i, pe.path), pe.reason}
		}
		poly[i] = orb.Ring(ps)
	}
	return poly, nil
}

// MarshalFeature writes one valid fence as a GeoJSON Feature.
func MarshalFeature(f Fence) ([]byte, error) {
	out, err := featureOf(f)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MarshalGeoJSON writes valid fences as a GeoJSON FeatureCollection.
func MarshalGeoJSON(fences []Fence) ([]byte, error) {
	fc := struct {
		Type     string       `json:"type"`
		Features []featureOut `json:"features"`
	}{Type: "FeatureCollection", Features: make([]featureOut, 0, len(fences))}
	for _, f := range fences {
		out, err := featureOf(f)
		if err != nil {
			return nil, err
		}
		fc.Features = append(fc.Features, out)
	}
	return json.Marshal(fc)
}

func featureOf(f Fence) (featureOut, error) {
	if err := f.Validate(); err != nil {
		return featureOut{}, err
	}
	return featureOut{
		Type:     "Feature",
		ID:       f.ID,
		Geometry: geometryOut{Type: f.Geometry.GeoJSONType(), Coordinates: f.Geometry},
		Properties: propertiesOut{
			ID: f.ID, Name: f.Name, Kind: f.Kind, RadiusM: f.RadiusM, HalfWidthM: f.HalfWidthM,
		},
	}, nil
}
