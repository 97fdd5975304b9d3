package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Device names a track in an export.
type Device struct {
	ID   int64
	UID  string
	Name string
}

// TrackWriter writes the samples of one or more devices, one device after
// the other, each oldest first. Call Begin before each device's samples and
// Close once at the end (it completes the document and flushes).
type TrackWriter interface {
	Begin(d Device) error
	Sample(s *sample.Sample) error
	Close() error
}

// TrackFormats are the formats NewTrackWriter knows, JSON first (the
// default of the track route).
var TrackFormats = []Format{JSON, CSV, GeoJSON, KML, GPX}

// NewTrackWriter returns the writer of format f on w. single selects the
// JSON shape of one device ({"device_id":…,"samples":[…]}) rather than a
// list of tracks; other formats look the same either way. KML and GPX have
// no place for a sample without a position and leave it out; CSV and
// GeoJSON keep it (empty cells, a null geometry).
func NewTrackWriter(f Format, w io.Writer, single bool) (TrackWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch f {
	case JSON:
		return &jsonTrack{w: bw, single: single}, nil
	case CSV:
		return &csvTrack{w: bw}, nil
	case GeoJSON:
		return &geoJSONTrack{w: bw}, nil
	case KML:
		return &kmlTrack{w: bw}, nil
	case GPX:
		return &gpxTrack{w: bw}, nil
	}
	return nil, fmt.Errorf("%w: %q for tracks", ErrUnknownFormat, f)
}

// appendFloat writes the shortest text that parses back to the same float.
func appendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }

// appendOpt writes v, or nothing when it is absent (NaN).
func appendOpt(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b
	}
	return appendFloat(b, v)
}

func appendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, time.RFC3339Nano) }

// --- JSON

type jsonTrack struct {
	w      *bufio.Writer
	single bool
	n      int // devices begun
	rows   int // rows of the current device
	enc    []byte
}

func (j *jsonTrack) Begin(d Device) error {
	if j.single {
		if j.n > 0 {
			return fmt.Errorf("single-device JSON export given a second device %d", d.ID)
		}
		_, err := fmt.Fprintf(j.w, `{"device_id":%d,"samples":[`, d.ID)
		j.n++
		return err
	}
	sep := `{"tracks":[`
	if j.n > 0 {
		sep = `]},`
	}
	uid, _ := json.Marshal(d.UID)
	name, _ := json.Marshal(d.Name)
	_, err := fmt.Fprintf(j.w, `%s{"device_id":%d,"uid":%s,"name":%s,"samples":[`, sep, d.ID, uid, name)
	j.n++
	j.rows = 0
	return err
}

func (j *jsonTrack) Sample(s *sample.Sample) error {
	b, err := json.Marshal(ToSampleJSON(s))
	if err != nil {
		return fmt.Errorf("encode sample at %s: %w", s.Time.Format(time.RFC3339), err)
	}
	if j.rows > 0 {
		j.w.WriteByte(',')
	}
	j.rows++
	_, err = j.w.Write(b)
	return err
}

func (j *jsonTrack) Close() error {
	switch {
	case j.single && j.n == 0:
		j.w.WriteString(`{"samples":[]}` + "\n")
	case j.single:
		j.w.WriteString("]}\n")
	case j.n == 0:
		j.w.WriteString(`{"tracks":[]}` + "\n")
	default:
		j.w.WriteString("]}]}\n")
	}
	return j.w.Flush()
}

// --- CSV (RFC 4180; one header line; absent values are empty cells)

// CSVHeader is the first line of a track CSV.
const CSVHeader = "device_id,device_uid,time,lon,lat,gps_valid,altitude_m,speed_mps,heading_deg,hdop,satellites,dose_rate_usvh,cpm,counts,count_interval_s,battery_pct,source,imported"

type csvTrack struct {
	w      *bufio.Writer
	dev    Device
	uid    []byte // the device's quoted uid cell
	header bool
	buf    []byte
}

func (c *csvTrack) Begin(d Device) error {
	c.dev, c.uid = d, csvText(nil, d.UID)
	if !c.header {
		c.header = true
		_, err := c.w.WriteString(CSVHeader + "\r\n")
		return err
	}
	return nil
}

func (c *csvTrack) Sample(s *sample.Sample) error {
	b := c.buf[:0]
	b = strconv.AppendInt(b, c.dev.ID, 10)
	b = append(b, ',')
	b = append(b, c.uid...)
	b = append(b, ',')
	b = appendTime(b, s.Time)
	b = append(b, ',')
	if s.GPSValid {
		b = appendFloat(b, s.Lon)
		b = append(b, ',')
		b = appendFloat(b, s.Lat)
	} else {
		b = append(b, ',')
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, s.GPSValid)
	for _, v := range []float64{s.Altitude, s.Speed, s.Heading, s.HDOP} {
		b = append(b, ',')
		b = appendOpt(b, v)
	}
	b = append(b, ',')
	if s.Satellites >= 0 {
		b = strconv.AppendInt(b, int64(s.Satellites), 10)
	}
	for _, v := range []float64{s.DoseRate, s.CPM, s.Counts, s.CountInterval, s.Battery} {
		b = append(b, ',')
		b = appendOpt(b, v)
	}
	b = append(b, ',')
	b = csvText(b, s.Source)
	b = append(b, ',')
	b = strconv.AppendBool(b, s.Imported)
	b = append(b, '\r', '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

func (c *csvTrack) Close() error {
	if !c.header {
		c.w.WriteString(CSVHeader + "\r\n")
	}
	return c.w.Flush()
}

// csvText appends a text cell: quoted when it holds a separator, quote or
// line break, and prefixed with ' when a spreadsheet would run it as a
// formula (=, +, -, @, tab, CR at the start: OWASP CSV injection).
func csvText(b []byte, s string) []byte {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// --- GeoJSON (RFC 7946): one Point feature per sample, [lon, lat(, alt)];
// a sample without a fix has a null geometry.

type geoJSONTrack struct {
	w   *bufio.Writer
	dev Device
	n   int
	uid []byte
	buf []byte
}

func (g *geoJSONTrack) Begin(d Device) error {
	g.dev = d
	g.uid, _ = json.Marshal(d.UID)
	if g.n == 0 && g.buf == nil {
		g.buf = make([]byte, 0, 512)
		_, err := g.w.WriteString(`{"type":"FeatureCollection","features":[`)
		return err
	}
	return nil
}

func (g *geoJSONTrack) Sample(s *sample.Sample) error {
	b := g.buf[:0]
	if g.n > 0 {
		b = append(b, ',')
	}
	g.n++
	b = append(b, `{"type":"Feature","geometry":`...)
	if s.GPSValid {
		b = append(b, `{"type":"Point","coordinates":[`...)
		b = appendFloat(b, s.Lon)
		b = append(b, ',')
		b = appendFloat(b, s.Lat)
		if !math.IsNaN(s.Altitude) && !math.IsInf(s.Altitude, 0) {
			b = append(b, ',')
			b = appendFloat(b, s.Altitude)
		}
		b = append(b, "]}"...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"properties":{"device_id":`...)
	b = strconv.AppendInt(b, g.dev.ID, 10)
	b = append(b, `,"device_uid":`...)
	b = append(b, g.uid...)
	b = append(b, `,"time":"`...)
	b = appendTime(b, s.Time)
	b = append(b, '"')
	for _, f := range []struct {
		k string
		v float64
	}{{"dose_rate_usvh", s.DoseRate}, {"cpm", s.CPM}, {"speed_mps", s.Speed}, {"heading_deg", s.Heading}, {"battery_pct", s.Battery}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			continue
		}
		b = append(b, `,"`...)
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = appendFloat(b, f.v)
	}
	b = append(b, "}}\n"...)
	g.buf = b
	_, err := g.w.Write(b)
	return err
}

func (g *geoJSONTrack) Close() error {
	if g.buf == nil {
		g.w.WriteString(`{"type":"FeatureCollection","features":[`)
	}
	g.w.WriteString("]}\n")
	return g.w.Flush()
}
