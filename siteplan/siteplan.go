// Package siteplan reads site plans — the roads, lanes, quays, buildings
// and inspection bays of a port drawn over the basemap — from GeoJSON or
// KML into one validated GeoJSON FeatureCollection. Pure: no I/O, no
// storage; the server stores what it returns and the map draws it.
//
// Every feature keeps its properties; properties.kind (road, lane, quay,
// building, bay, stack, yard, …) picks its style on the map and
// properties.name its label. Geometries are Point, LineString, Polygon and
// their Multi forms, [lon, lat] (RFC 7946); a third coordinate (altitude)
// is dropped.
package siteplan

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Limits bound what one plan may hold, so a mistaken upload cannot make
// every viewer's map draw millions of vertices.
const (
	MaxFeatures  = 20_000
	MaxPositions = 500_000
	MaxKindLen   = 40
	MaxNameLen   = 200
)

// FeatureCollection is a validated plan, ready to store and to draw.
type FeatureCollection struct {
	Type     string    `json:"type"` // always "FeatureCollection"
	Features []Feature `json:"features"`
}

// Feature is one drawn element.
type Feature struct {
	Type       string         `json:"type"` // always "Feature"
	Geometry   Geometry       `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

// Geometry is a GeoJSON geometry whose coordinates were checked.
type Geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// FieldError names what is wrong and where (a JSON path such as
// features[3].geometry.coordinates[0][2], or a KML placemark).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Kinds lists the kinds the map has a style for; other kinds are kept and
// drawn in a neutral style.
var Kinds = []string{"road", "lane", "quay", "building", "bay", "stack", "yard", "rail", "gate", "water", "label"}

// counter enforces MaxPositions across a whole plan.
type counter struct{ positions int }

func (c *counter) add(n int, field string) *FieldError {
	c.positions += n
	if c.positions > MaxPositions {
		return fieldErr(field, "the plan has more than %d positions", MaxPositions)
	}
	return nil
}

// ParseGeoJSON reads a FeatureCollection (or a single Feature) and
// validates every feature. Field paths in errors start at the document.
func ParseGeoJSON(data []byte) (FeatureCollection, error) {
	var doc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return FeatureCollection{}, fieldErr("", "not GeoJSON: %v", err)
	}
	raws := doc.Features
	prefix := "features"
	switch doc.Type {
	case "FeatureCollection":
	case "Feature":
		raws, prefix = []json.RawMessage{data}, ""
	default:
		return FeatureCollection{}, fieldErr("type", "must be FeatureCollection or Feature, not %q", doc.Type)
	}
	if len(raws) > MaxFeatures {
		return FeatureCollection{}, fieldErr("features", "%d features, at most %d", len(raws), MaxFeatures)
	}
	fc := FeatureCollection{Type: "FeatureCollection", Features: make([]Feature, 0, len(raws))}
	var c counter
	for i, raw := range raws {
		path := prefix
		if prefix != "" {
			path = fmt.Sprintf("%s[%d]", prefix, i)
		}
		f, err := parseFeature(raw, path, &c)
		if err != nil {
			return FeatureCollection{}, err
		}
		fc.Features = append(fc.Features, f)
	}
	return fc, nil
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func parseFeature(raw json.RawMessage, path string, c *counter) (Feature, *FieldError) {
	var in struct {
		Type       string          `json:"type"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return Feature{}, fieldErr(path, "not a GeoJSON Feature: %v", err)
	}
	if in.Type != "Feature" {
		return Feature{}, fieldErr(join(path, "type"), "must be \"Feature\"")
	}
	props := map[string]any{}
	if len(in.Properties) > 0 && string(in.Properties) != "null" {
		if err := json.Unmarshal(in.Properties, &props); err != nil {
			return Feature{}, fieldErr(join(path, "properties"), "must be an object")
		}
	}
	if err := checkProperties(props, join(path, "properties")); err != nil {
		return Feature{}, err
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if len(in.Geometry) == 0 || string(in.Geometry) == "null" {
		return Feature{}, fieldErr(join(path, "geometry"), "required")
	}
	if err := json.Unmarshal(in.Geometry, &g); err != nil {
		return Feature{}, fieldErr(join(path, "geometry"), "not a geometry: %v", err)
	}
	gpath := join(path, "geometry.coordinates")
	var (
		coords any
		ferr   *FieldError
	)
	switch g.Type {
	case "Point":
		coords, ferr = decodeAs[[]float64](g.Coordinates, gpath, func(p []float64) *FieldError { return checkPosition(p, gpath, c) })
	case "MultiPoint", "LineString":
		coords, ferr = decodeAs[[][]float64](g.Coordinates, gpath, func(l [][]float64) *FieldError { return checkLine(l, gpath, g.Type == "LineString", c) })
	case "MultiLineString":
		coords, ferr = decodeAs[[][][]float64](g.Coordinates, gpath, func(ls [][][]float64) *FieldError {
			for i, l := range ls {
				if err := checkLine(l, fmt.Sprintf("%s[%d]", gpath, i), true, c); err != nil {
					return err
				}
			}
			return nil
		})
	case "Polygon":
		coords, ferr = decodeAs[[][][]float64](g.Coordinates, gpath, func(p [][][]float64) *FieldError { return checkPolygon(p, gpath, c) })
	case "MultiPolygon":
		coords, ferr = decodeAs[[][][][]float64](g.Coordinates, gpath, func(ps [][][][]float64) *FieldError {
			for i, p := range ps {
				if err := checkPolygon(p, fmt.Sprintf("%s[%d]", gpath, i), c); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		return Feature{}, fieldErr(join(path, "geometry.type"), "must be Point, LineString, Polygon or a Multi form, not %q", g.Type)
	}
	if ferr != nil {
		return Feature{}, ferr
	}
	return Feature{Type: "Feature", Geometry: Geometry{Type: g.Type, Coordinates: coords}, Properties: props}, nil
}

// decodeAs unmarshals coordinates into T and checks them.
func decodeAs[T any](raw json.RawMessage, path string, check func(T) *FieldError) (T, *FieldError) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fieldErr(path, "wrong nesting or not numbers: %v", err)
	}
	if err := check(v); err != nil {
		return v, err
	}
	return v, nil
}

func checkProperties(p map[string]any, path string) *FieldError {
	for _, key := range []string{"kind", "name"} {
		v, ok := p[key]
		if !ok || v == nil {
			continue
		}
		s, isString := v.(string)
		if !isString {
			return fieldErr(path+"."+key, "must be a string")
		}
		limit := MaxNameLen
		if key == "kind" {
			limit = MaxKindLen
			p[key] = strings.ToLower(strings.TrimSpace(s))
		}
		if len(s) > limit {
			return fieldErr(path+"."+key, "longer than %d bytes", limit)
		}
	}
	return nil
}

// checkPosition validates and trims one position to [lon, lat].
func checkPosition(p []float64, path string, c *counter) *FieldError {
	if len(p) < 2 || len(p) > 3 {
		return fieldErr(path, "a position is [lon, lat] or [lon, lat, altitude]")
	}
	for _, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fieldErr(path, "not a finite number")
		}
	}
	if p[0] < -180 || p[0] > 180 {
		return fieldErr(path, "longitude %g outside [-180, 180]", p[0])
	}
	if p[1] < -90 || p[1] > 90 {
		return fieldErr(path, "latitude %g outside [-90, 90]", p[1])
	}
	return c.add(1, path)
}

func checkLine(l [][]float64, path string, isLine bool, c *counter) *FieldError {
	if isLine && len(l) < 2 {
		return fieldErr(path, "a line needs at least 2 positions")
	}
	if len(l) == 0 {
		return fieldErr(path, "empty")
	}
	for i := range l {
		if err := checkPosition(l[i], fmt.Sprintf("%s[%d]", path, i), c); err != nil {
			return err
		}
		l[i] = l[i][:2]
	}
	return nil
}

func checkPolygon(p [][][]float64, path string, c *counter) *FieldError {
	if len(p) == 0 {
		return fieldErr(path, "a polygon needs an outer ring")
	}
	for i, ring := range p {
		rpath := fmt.Sprintf("%s[%d]", path, i)
		if len(ring) < 4 {
			return fieldErr(rpath, "a ring needs at least 4 positions (closed)")
		}
		if err := checkLine(ring, rpath, true, c); err != nil {
			return err
		}
		first, last := ring[0], ring[len(ring)-1]
		if first[0] != last[0] || first[1] != last[1] {
			return fieldErr(rpath, "the ring is not closed (first and last positions differ)")
		}
	}
	return nil
}
