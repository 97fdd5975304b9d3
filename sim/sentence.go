package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/sample"
)

// Sentence renders a sample as the $BNRDD line a bGeigie Nano would send
// (without the line ending): counts in the last 5 s, the rolling CPM and
// the running total, never a dose — the server derives it with the
// device's calibration. total is the device's count total so far.
//
// The sample must carry counts over bgeigie.CountInterval (5 s): the
// protocol has no field for another interval.
func Sentence(uid string, s sample.Sample, total float64) (string, error) {
	if uid == "" || strings.ContainsAny(uid, ",*$\r\n") {
		return "", fmt.Errorf("bgeigie sentence: device id %q cannot go in a sentence", uid)
	}
	if !sample.Has(s.Counts) || math.Abs(s.CountInterval-bgeigie.CountInterval) > 1e-6 {
		return "", fmt.Errorf("bgeigie sentence: needs counts over %g s, sample has %g over %g s", bgeigie.CountInterval, s.Counts, s.CountInterval)
	}
	lat, ns := nmea(s.Lat, 2, 'N', 'S')
	lon, ew := nmea(s.Lon, 3, 'E', 'W')
	hdop := ""
	if sample.Has(s.HDOP) {
		hdop = strconv.Itoa(int(math.Round(s.HDOP * 100))) // Nano firmware writes HDOP×100
	}
	sats := ""
	if s.Satellites >= 0 {
		sats = strconv.Itoa(s.Satellites)
	}
	body := strings.Join([]string{
		"BNRDD", uid, s.Time.UTC().Format("2006-01-02T15:04:05Z"),
		integer(s.CPM), integer(s.Counts), integer(total), av(s.RadValid),
		lat, ns, lon, ew, decimal1(s.Altitude), av(s.GPSValid), sats, hdop,
	}, ",")
	return fmt.Sprintf("$%s*%02X", body, bgeigie.Checksum([]byte(body))), nil
}

// nmea formats decimal degrees as NMEA d…dmm.mmmm with degDigits degree
// digits. Rounding is done on whole 1/10000 minutes so 59.99995' carries
// into the next degree instead of printing 60.0000.
func nmea(deg float64, degDigits int, pos, neg byte) (string, string) {
	hemi := pos
	if deg < 0 {
		hemi, deg = neg, -deg
	}
	if math.IsNaN(deg) {
		deg = 0
	}
	units := int64(math.Round(deg * 60 * 10000)) // 1/10000 minute
	d, rem := units/600000, units%600000
	return fmt.Sprintf("%0*d%02d.%04d", degDigits, d, rem/10000, rem%10000), string(hemi)
}

func integer(v float64) string {
	if !sample.Has(v) {
		return ""
	}
	return strconv.FormatInt(int64(math.Round(v)), 10)
}

func decimal1(v float64) string {
	if !sample.Has(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func av(ok bool) string {
	if ok {
		return "A"
	}
	return "V"
}
