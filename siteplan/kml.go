package siteplan

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// The KML subset read (OGC KML 2.2): Placemarks anywhere under Document
// and Folder, with a Point, LineString, Polygon (outer and inner
// boundaries) or MultiGeometry of those. A placemark's name becomes
// properties.name, its description properties.description, and its
// ExtendedData (Data/value and SchemaData/SimpleData) further properties —
// so a "kind" entry gives the map style. A MultiGeometry becomes one
// feature per part. Placemarks with no such geometry (a bare description,
// gx:Track, Model), ground and screen overlays, styles and network links
// are skipped and counted; nothing is fetched.

type kmlContainer struct {
	Documents  []kmlContainer `xml:"Document"`
	Folders    []kmlContainer `xml:"Folder"`
	Placemarks []kmlPlacemark `xml:"Placemark"`
}

type kmlDoc struct {
	XMLName xml.Name `xml:"kml"`
	kmlContainer
}

type kmlPlacemark struct {
	Name         string       `xml:"name"`
	Description  string       `xml:"description"`
	ExtendedData kmlExtended  `xml:"ExtendedData"`
	Point        *kmlCoords   `xml:"Point"`
	LineString   *kmlCoords   `xml:"LineString"`
	Polygon      *kmlPolygon  `xml:"Polygon"`
	Multi        *kmlGeometry `xml:"MultiGeometry"`
}

type kmlGeometry struct {
	Points      []kmlCoords   `xml:"Point"`
	LineStrings []kmlCoords   `xml:"LineString"`
	Polygons    []kmlPolygon  `xml:"Polygon"`
	Multi       []kmlGeometry `xml:"MultiGeometry"`
}

type kmlCoords struct {
	Coordinates string `xml:"coordinates"`
}

type kmlPolygon struct {
	Outer kmlCoords   `xml:"outerBoundaryIs>LinearRing"`
	Inner []kmlCoords `xml:"innerBoundaryIs>LinearRing"`
}

type kmlExtended struct {
	Data []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value"`
	} `xml:"Data"`
	SchemaData []struct {
		SimpleData []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"SimpleData"`
	} `xml:"SchemaData"`
}

// KMLResult is a parsed KML plan and what was left out.
type KMLResult struct {
	Plan    FeatureCollection
	Skipped int // placemarks without a supported geometry
}

// ParseKML reads a KML document into a validated plan. Errors name the
// placemark (its 1-based number in document order and its name).
func ParseKML(data []byte) (KMLResult, error) {
	var doc kmlDoc
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		return KMLResult{}, fieldErr("", "not KML: %v", err)
	}
	var (
		res = KMLResult{Plan: FeatureCollection{Type: "FeatureCollection", Features: []Feature{}}}
		c   counter
		n   int
	)
	var walk func(k kmlContainer) *FieldError
	walk = func(k kmlContainer) *FieldError {
		for _, pm := range k.Placemarks {
			n++
			where := fmt.Sprintf("Placemark %d", n)
			if pm.Name != "" {
				where += fmt.Sprintf(" (%q)", strings.TrimSpace(pm.Name))
			}
			geoms, err := placemarkGeometries(pm, where, &c)
			if err != nil {
				return err
			}
			if len(geoms) == 0 {
				res.Skipped++
				continue
			}
			props := placemarkProperties(pm)
			if err := checkProperties(props, where); err != nil {
				return err
			}
			for _, g := range geoms {
				res.Plan.Features = append(res.Plan.Features, Feature{Type: "Feature", Geometry: g, Properties: props})
				if len(res.Plan.Features) > MaxFeatures {
					return fieldErr(where, "the plan has more than %d features", MaxFeatures)
				}
			}
		}
		for _, d := range k.Documents {
			if err := walk(d); err != nil {
				return err
			}
		}
		for _, f := range k.Folders {
			if err := walk(f); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc.kmlContainer); err != nil {
		return KMLResult{}, err
	}
	return res, nil
}

func placemarkProperties(pm kmlPlacemark) map[string]any {
	props := map[string]any{}
	for _, d := range pm.ExtendedData.Data {
		if d.Name != "" {
			props[d.Name] = strings.TrimSpace(d.Value)
		}
	}
	for _, sd := range pm.ExtendedData.SchemaData {
		for _, s := range sd.SimpleData {
			if s.Name != "" {
				props[s.Name] = strings.TrimSpace(s.Value)
			}
		}
	}
	if name := strings.TrimSpace(pm.Name); name != "" {
		props["name"] = name
	}
	if d := strings.TrimSpace(pm.Description); d != "" {
		props["description"] = d
	}
	return props
}

func placemarkGeometries(pm kmlPlacemark, where string, c *counter) ([]Geometry, *FieldError) {
	g := kmlGeometry{}
	if pm.Point != nil {
		g.Points = append(g.Points, *pm.Point)
	}
	if pm.LineString != nil {
		g.LineStrings = append(g.LineStrings, *pm.LineString)
	}
	if pm.Polygon != nil {
		g.Polygons = append(g.Polygons, *pm.Polygon)
	}
	if pm.Multi != nil {
		g.Multi = append(g.Multi, *pm.Multi)
	}
	var out []Geometry
	var add func(g kmlGeometry) *FieldError
	add = func(g kmlGeometry) *FieldError {
		for _, p := range g.Points {
			pos, err := parseCoordinates(p.Coordinates, where+" Point", c)
			if err != nil {
				return err
			}
			if len(pos) != 1 {
				return fieldErr(where+" Point", "a point has exactly one position, not %d", len(pos))
			}
			out = append(out, Geometry{Type: "Point", Coordinates: pos[0]})
		}
		for _, l := range g.LineStrings {
			pos, err := parseCoordinates(l.Coordinates, where+" LineString", c)
			if err != nil {
				return err
			}
			if len(pos) < 2 {
				return fieldErr(where+" LineString", "a line needs at least 2 positions")
			}
			out = append(out, Geometry{Type: "LineString", Coordinates: pos})
		}
		for _, p := range g.Polygons {
			rings := [][][]float64{}
			for i, r := range append([]kmlCoords{p.Outer}, p.Inner...) {
				w := where + " Polygon outerBoundaryIs"
				if i > 0 {
					w = fmt.Sprintf("%s Polygon innerBoundaryIs[%d]", where, i-1)
				}
				pos, err := parseCoordinates(r.Coordinates, w, c)
				if err != nil {
					return err
				}
				// KML rings should repeat the first position; close them if not.
				if len(pos) >= 3 && (pos[0][0] != pos[len(pos)-1][0] || pos[0][1] != pos[len(pos)-1][1]) {
					pos = append(pos, pos[0])
				}
				if len(pos) < 4 {
					return fieldErr(w, "a ring needs at least 3 distinct positions")
				}
				rings = append(rings, pos)
			}
			out = append(out, Geometry{Type: "Polygon", Coordinates: rings})
		}
		for _, m := range g.Multi {
			if err := add(m); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(g); err != nil {
		return nil, err
	}
	return out, nil
}

// parseCoordinates reads KML's "lon,lat[,alt]" tuples separated by
// whitespace.
func parseCoordinates(s, where string, c *counter) ([][]float64, *FieldError) {
	tuples := strings.Fields(s)
	out := make([][]float64, 0, len(tuples))
	for i, t := range tuples {
		parts := strings.Split(t, ",")
		path := fmt.Sprintf("%s coordinates[%d]", where, i)
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fieldErr(path, "%q is not lon,lat[,alt]", t)
		}
		p := make([]float64, len(parts))
		for k, v := range parts {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fieldErr(path, "%q is not a number", v)
			}
			p[k] = f
		}
		if err := checkPosition(p, path, c); err != nil {
			return nil, err
		}
		out = append(out, p[:2])
	}
	return out, nil
}
