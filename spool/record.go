package spool

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// record is a sample as spooled: JSON has no NaN, so absent values are
// null pointers.
type record struct {
	DeviceID      int64          `json:"d"`
	DeviceUID     string         `json:"u,omitempty"`
	Time          time.Time      `json:"t"`
	ReceivedAt    time.Time      `json:"r"`
	Lon           float64        `json:"lon"`
	Lat           float64        `json:"lat"`
	GPSValid      bool           `json:"g"`
	Altitude      *float64       `json:"alt,omitempty"`
	Speed         *float64       `json:"spd,omitempty"`
	Heading       *float64       `json:"hdg,omitempty"`
	HDOP          *float64       `json:"hdop,omitempty"`
	Accuracy      *float64       `json:"acc,omitempty"`
	Satellites    int            `json:"sat"`
	DoseRate      *float64       `json:"dose,omitempty"`
	CPM           *float64       `json:"cpm,omitempty"`
	Counts        *float64       `json:"cnt,omitempty"`
	CountInterval *float64       `json:"ci,omitempty"`
	RadValid      bool           `json:"rv"`
	Battery       *float64       `json:"bat,omitempty"`
	Source        string         `json:"src"`
	Imported      bool           `json:"imp,omitempty"`
	Attributes    map[string]any `json:"a,omitempty"`
}

func opt(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func toRecords(in []sample.Sample) []record {
	out := make([]record, len(in))
	for i, s := range in {
		out[i] = record{
			DeviceID: s.DeviceID, DeviceUID: s.DeviceUID, Time: s.Time, ReceivedAt: s.ReceivedAt,
			Lon: s.Lon, Lat: s.Lat, GPSValid: s.GPSValid,
			Altitude: opt(s.Altitude), Speed: opt(s.Speed), Heading: opt(s.Heading), HDOP: opt(s.HDOP), Accuracy: opt(s.Accuracy),
			Satellites: s.Satellites, DoseRate: opt(s.DoseRate), CPM: opt(s.CPM), Counts: opt(s.Counts),
			CountInterval: opt(s.CountInterval), RadValid: s.RadValid, Battery: opt(s.Battery),
			Source: s.Source, Imported: s.Imported, Attributes: s.Attributes,
		}
	}
	return out
}

func fromRecords(in []record) []sample.Sample {
	out := make([]sample.Sample, len(in))
	for i, r := range in {
		out[i] = sample.Sample{
			DeviceID: r.DeviceID, DeviceUID: r.DeviceUID, Time: r.Time, ReceivedAt: r.ReceivedAt,
			Lon: r.Lon, Lat: r.Lat, GPSValid: r.GPSValid,
			Altitude: val(r.Altitude), Speed: val(r.Speed), Heading: val(r.Heading), HDOP: val(r.HDOP), Accuracy: val(r.Accuracy),
			Satellites: r.Satellites, DoseRate: val(r.DoseRate), CPM: val(r.CPM), Counts: val(r.Counts),
			CountInterval: val(r.CountInterval), RadValid: r.RadValid, Battery: val(r.Battery),
			Source: r.Source, Imported: r.Imported, Attributes: r.Attributes,
		}
	}
	return out
}
