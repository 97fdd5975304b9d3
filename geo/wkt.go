package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// TraccarGeofence is a geofence as Traccar keeps it. Area is Traccar's WKT,
// latitude first: "CIRCLE (lat lon, radius)", "POLYGON ((lat lon, ...))"
// (ring usually left open), "LINESTRING (lat lon, ...)". PolylineDistance
// is Traccar's "polylineDistance" attribute: for a LINESTRING the distance
// in metres from the line, i.e. the corridor half-width.
type TraccarGeofence struct {
	ID               int64
	Name             string
	Area             string
	PolylineDistance float64
}

// FromTraccar converts a Traccar geofence to a validated fence in [lon, lat]
// order. Open polygon rings are closed. Longitudes just past ±180 (Traccar
// accepts -180.0014) are wrapped into [-180, 180].
func FromTraccar(g TraccarGeofence, kind Kind) (Fence, error) {
	f := Fence{ID: g.ID, Name: g.Name, Kind: kind}
	if err := f.readArea(g.Area, g.PolylineDistance); err != nil {
		err.FenceID = g.ID
		return Fence{}, err
	}
	if err := f.validate(); err != nil {
		if strings.HasPrefix(err.Field, "geometry") || err.Field == "radius_m" {
			err.Field = "area"
		} else if err.Field == "half_width_m" {
			err.Field = "polylineDistance"
		}
		err.FenceID = g.ID
		return Fence{}, err
	}
	return f, nil
}

func (f *Fence) readArea(area string, polylineDistance float64) *ValidationError {
	kw, body, ok := strings.Cut(strings.TrimSpace(area), "(")
	if !ok {
		return fail("area", fmt.Sprintf("%q: want CIRCLE, POLYGON or LINESTRING followed by coordinates", area))
	}
	body = "(" + body
	switch strings.ToUpper(strings.TrimSpace(kw)) {
	case "CIRCLE":
		inner, err := stripParens(body, 1)
		if err != nil {
			return err
		}
		centre, radius, found := strings.Cut(inner, ",")
		if !found {
			return fail("area", "CIRCLE wants (lat lon, radius)")
		}
		ps, err := readLatLons(centre)
		if err != nil {
			return err
		}
		r, perr := strconv.ParseFloat(strings.TrimSpace(radius), 64)
		if perr != nil || len(ps) != 1 {
			return fail("area", "CIRCLE wants (lat lon, radius)")
		}
		f.Geometry, f.RadiusM = ps[0], r
	case "POLYGON":
		inner, err := stripParens(body, 2)
		if err != nil {
			return err
		}
		if strings.ContainsAny(inner, "()") {
			return fail("area", "a Traccar POLYGON has one ring and no holes")
		}
		ps, err := readLatLons(inner)
		if err != nil {
			return err
		}
		if len(ps) > 0 && ps[0] != ps[len(ps)-1] {
			ps = append(ps, ps[0])
		}
		f.Geometry = orb.Polygon{orb.Ring(ps)}
	case "LINESTRING":
		inner, err := stripParens(body, 1)
		if err != nil {
			return err
		}
		ps, err := readLatLons(inner)
		if err != nil {
			return err
		}
		f.Geometry, f.HalfWidthM = orb.LineString(ps), polylineDistance
	default:
		return fail("area", fmt.Sprintf("%q is not CIRCLE, POLYGON or LINESTRING", strings.TrimSpace(kw)))
	}
	return nil
}

func stripParens(s string, depth int) (string, *ValidationError) {
	for range depth {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
			return "", fail("area", "unbalanced parentheses")
		}
		s = s[1 : len(s)-1]
	}
	return s, nil
}

// readLatLons reads "lat lon, lat lon, ..." into [lon, lat] points.
func readLatLons(s string) ([]orb.Point, *ValidationError) {
	parts := strings.Split(s, ",")
	ps := make([]orb.Point, 0, len(parts))
	for i, part := range parts {
		fields := strings.Fields(part)
		if len(fields) != 2 {
			return nil, fail("area", fmt.Sprintf("position %d: want \"lat lon\", got %q", i, strings.TrimSpace(part)))
		}
		lat, err1 := strconv.ParseFloat(fields[0], 64)
		lon, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fail("area", fmt.Sprintf("position %d: %q is not two numbers", i, strings.TrimSpace(part)))
		}
		ps = append(ps, orb.Point{wrapTraccarLon(lon), lat})
	}
	return ps, nil
}

// wrapTraccarLon wraps a longitude past ±180 and rounds away the binary
// noise of adding 360, so -180.0014 reads as 179.9986, not 179.99859999999998.
func wrapTraccarLon(lon float64) float64 {
	if !finite(lon) || (lon >= -180 && lon <= 180) {
		return lon
	}
	return math.Round(wrapLon(lon)*1e9) / 1e9
}

// ToTraccar converts a fence to Traccar's form. Traccar has no multipolygons,
// holes or corridors of other shapes, so those are an error. Polygon rings
// are written open, as Traccar writes them.
func ToTraccar(f Fence) (TraccarGeofence, error) {
	if err := f.Validate(); err != nil {
		return TraccarGeofence{}, err
	}
	g := TraccarGeofence{ID: f.ID, Name: f.Name}
	var b strings.Builder
	switch geom := f.Geometry.(type) {
	case orb.Point:
		b.WriteString("CIRCLE (")
		writeLatLons(&b, []orb.Point{geom})
		b.WriteString(", " + formatNumber(f.RadiusM) + ")")
	case orb.LineString:
		b.WriteString("LINESTRING (")
		writeLatLons(&b, geom)
		b.WriteString(")")
		g.PolylineDistance = f.HalfWidthM
	case orb.Polygon:
		if len(geom) > 1 {
			return TraccarGeofence{}, &ValidationError{f.ID, "geometry.coordinates", "Traccar polygons cannot have holes"}
		}
		b.WriteString("POLYGON ((")
		writeLatLons(&b, geom[0][:len(geom[0])-1])
		b.WriteString("))")
	default:
		return TraccarGeofence{}, &ValidationError{f.ID, "geometry.type", f.Geometry.GeoJSONType() + " has no Traccar form"}
	}
	g.Area = b.String()
	return g, nil
}

func writeLatLons(b *strings.Builder, ps []orb.Point) {
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatNumber(p[1]) + " " + formatNumber(p[0]))
	}
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
