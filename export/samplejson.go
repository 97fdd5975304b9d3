package export

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// SampleJSON is a stored sample as the API renders it: absent values are
// null (JSON has no NaN), units as in the ingest format.
type SampleJSON struct {
	Time          time.Time      `json:"time"`
	ReceivedAt    time.Time      `json:"received_at"`
	Lon           *float64       `json:"lon"`
	Lat           *float64       `json:"lat"`
	GPSValid      bool           `json:"gps_valid"`
	Altitude      *float64       `json:"altitude"`
	Speed         *float64       `json:"speed"`
	Heading       *float64       `json:"heading"`
	HDOP          *float64       `json:"hdop,omitempty"`
	Satellites    *int           `json:"satellites,omitempty"`
	DoseRate      *float64       `json:"dose_rate"`
	CPM           *float64       `json:"cpm,omitempty"`
	Counts        *float64       `json:"counts,omitempty"`
	CountInterval *float64       `json:"count_interval,omitempty"`
	Battery       *float64       `json:"battery,omitempty"`
	Source        string         `json:"source"`
	Imported      bool           `json:"imported,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
}

// ToSampleJSON converts s for the JSON API.
func ToSampleJSON(s *sample.Sample) SampleJSON {
	out := SampleJSON{
		Time: s.Time, ReceivedAt: s.ReceivedAt, GPSValid: s.GPSValid,
		Altitude: ptr(s.Altitude), Speed: ptr(s.Speed), Heading: ptr(s.Heading), HDOP: ptr(s.HDOP),
		DoseRate: ptr(s.DoseRate), CPM: ptr(s.CPM), Counts: ptr(s.Counts), CountInterval: ptr(s.CountInterval),
		Battery: ptr(s.Battery), Source: s.Source, Imported: s.Imported, Attributes: s.Attributes,
	}
	if s.GPSValid {
		out.Lon, out.Lat = ptr(s.Lon), ptr(s.Lat)
	}
	if s.Satellites >= 0 {
		n := s.Satellites
		out.Satellites = &n
	}
	return out
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
