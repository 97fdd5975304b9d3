package live

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Position is the latest map state of one vehicle. Optional floats use NaN
// for "absent" like sample.Sample and are encoded as JSON null.
type Position struct {
	DeviceID int64
	UID      string // identifier the device reports
	Name     string // display name
	Time     time.Time
	Lon, Lat float64 // WGS84 degrees
	DoseRate float64 // µSv/h, NaN if absent
	Speed    float64 // m/s, NaN if absent
	Heading  float64 // degrees from north, NaN if absent
	Battery  float64 // percent 0–100, NaN if absent
	Alarm    bool    // the device has an open alarm (set by the server)
}

// PositionFromSample returns the map position a sample gives its vehicle.
// ok is false for samples without a valid GPS fix (design.md §4: they are
// stored but never move the vehicle) or with coordinates out of range.
func PositionFromSample(s sample.Sample, name string) (p Position, ok bool) {
	if !s.GPSValid || !validLonLat(s.Lon, s.Lat) {
		return Position{}, false
	}
	return Position{
		DeviceID: s.DeviceID,
		UID:      s.DeviceUID,
		Name:     name,
		Time:     s.Time.UTC(),
		Lon:      s.Lon,
		Lat:      s.Lat,
		DoseRate: s.DoseRate,
		Speed:    s.Speed,
		Heading:  s.Heading,
		Battery:  s.Battery,
	}, true
}

func validLonLat(lon, lat float64) bool {
	return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// newerThan reports whether p should replace old as the latest position:
// device time decides, so a late, buffered sample never moves a vehicle back.
// At equal time only a change of the display fields counts (a duplicate
// sample is not news).
func (p *Position) newerThan(old *Position) bool {
	if p.Time.After(old.Time) {
		return true
	}
	if p.Time.Before(old.Time) {
		return false
	}
	return p.Alarm != old.Alarm || p.Name != old.Name || p.UID != old.UID ||
		p.Lon != old.Lon || p.Lat != old.Lat
}

// MarshalJSON encodes p as an object with NaN fields as null. It is the
// form kept in Redis; clients get the columnar frames of frames.go.
func (p Position) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 160)
	b = append(b, `{"device_id":`...)
	b = strconv.AppendInt(b, p.DeviceID, 10)
	b = append(b, `,"uid":`...)
	b = appendJSONString(b, p.UID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"time":"`...)
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lon":`...)
	b = appendFloat(b, p.Lon, -1)
	b = append(b, `,"lat":`...)
	b = appendFloat(b, p.Lat, -1)
	b = append(b, `,"dose":`...)
	b = appendFloat(b, p.DoseRate, -1)
	b = append(b, `,"speed":`...)
	b = appendFloat(b, p.Speed, -1)
	b = append(b, `,"heading":`...)
	b = appendFloat(b, p.Heading, -1)
	b = append(b, `,"battery":`...)
	b = appendFloat(b, p.Battery, -1)
	if p.Alarm {
		b = append(b, `,"alarm":true`...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON is the inverse of MarshalJSON: null becomes NaN.
func (p *Position) UnmarshalJSON(data []byte) error {
	var w struct {
		DeviceID int64     `json:"device_id"`
		UID      string    `json:"uid"`
		Name     string    `json:"name"`
		Time     time.Time `json:"time"`
		Lon      *float64  `json:"lon"`
		Lat      *float64  `json:"lat"`
		Dose     *float64  `json:"dose"`
		Speed    *float64  `json:"speed"`
		Heading  *float64  `json:"heading"`
		Battery  *float64  `json:"battery"` // absent in entries of older nodes: NaN
		Alarm    bool      `json:"alarm"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decode position: %w", err)
	}
	if w.Lon == nil || w.Lat == nil {
		return fmt.Errorf("decode position of device %d: lon and lat are required", w.DeviceID)
	}
	*p = Position{
		DeviceID: w.DeviceID, UID: w.UID, Name: w.Name, Time: w.Time.UTC(),
		Lon: *w.Lon, Lat: *w.Lat,
		DoseRate: orNaN(w.Dose), Speed: orNaN(w.Speed), Heading: orNaN(w.Heading),
		Battery: orNaN(w.Battery), Alarm: w.Alarm,
	}
	return nil
}

func orNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
