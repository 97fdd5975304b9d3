// Package sample defines the one measurement type that flows from every
// protocol decoder through rules, live push and storage.
//
// Units are fixed at the edge (design.md §3): UTC time, WGS84 lon/lat,
// dose rate in µSv/h, speed in m/s. Optional numeric fields use NaN for
// "not reported" so that a sample stays a flat value type; use Has to test.
package sample

import (
	"math"
	"time"
)

// Source names the path a sample came in on.
const (
	SourceHTTP    = "http"
	SourceOsmAnd  = "osmand"
	SourceBGeigie = "bgeigie"
	SourceTraccar = "traccar"
	SourceImport  = "import"
)

// Sample is one position + radiation reading of one device.
type Sample struct {
	// DeviceID is the internal device id, set by the pipeline once the
	// reporting device has been authenticated. Decoders leave it 0.
	DeviceID int64
	// DeviceUID is the identifier the device itself reports (OsmAnd id,
	// bGeigie serial). Decoders fill it when the protocol carries one.
	DeviceUID string

	Time       time.Time // device time, UTC
	ReceivedAt time.Time // server receive time, UTC

	Lon, Lat float64 // WGS84 degrees; meaningful only when GPSValid
	GPSValid bool    // a fix the map and fences may use

	Altitude   float64 // metres, NaN if absent
	Speed      float64 // m/s, NaN if absent
	Heading    float64 // degrees from north, NaN if absent
	HDOP       float64 // NaN if absent
	Accuracy   float64 // horizontal accuracy in metres, NaN if absent
	Satellites int     // -1 if absent

	DoseRate      float64 // µSv/h, NaN if absent
	CPM           float64 // counts per minute, NaN if absent
	Counts        float64 // counts in the last interval, NaN if absent
	CountInterval float64 // seconds the Counts were taken over, NaN if absent
	RadValid      bool    // the detector flagged the reading as valid

	Battery float64 // percent 0–100, NaN if absent

	Source     string         // one of the Source constants
	Imported   bool           // from a log import: rules run, nobody is paged
	Attributes map[string]any // everything else the device sent
}

// New returns a sample with every optional field marked absent.
func New() Sample {
	nan := math.NaN()
	return Sample{
		Altitude: nan, Speed: nan, Heading: nan, HDOP: nan, Accuracy: nan,
		Satellites: -1,
		DoseRate:   nan, CPM: nan, Counts: nan, CountInterval: nan,
		Battery: nan,
	}
}

// Has reports whether an optional numeric field was reported.
func Has(v float64) bool { return !math.IsNaN(v) }

// KnotsToMS converts a speed in knots to metres per second (1 kn = 1852 m/h).
func KnotsToMS(knots float64) float64 { return knots * 1852.0 / 3600.0 }

// DefaultCPMPerUSvH is the calibration of the LND 7317 tube used in Safecast
// bGeigie units (design.md §3).
const DefaultCPMPerUSvH = 334.0

// FillDose derives DoseRate from raw counts when the device did not send a
// dose itself. cpmPerUSvH is the detector calibration of the device. Counts
// over a known interval are preferred to CPM because CPM is a rolling
// one-minute sum that lags a moving vehicle by up to a minute.
func (s *Sample) FillDose(cpmPerUSvH float64) {
	if Has(s.DoseRate) || cpmPerUSvH <= 0 {
		return
	}
	switch {
	case Has(s.Counts) && Has(s.CountInterval) && s.CountInterval > 0:
		s.DoseRate = s.Counts * (60 / s.CountInterval) / cpmPerUSvH
	case Has(s.CPM):
		s.DoseRate = s.CPM / cpmPerUSvH
	}
}
