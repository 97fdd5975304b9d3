package export

import (
	"bufio"
	"encoding/xml"
	"math"
	"strconv"

	"github.com/radtrack/radtrack/sample"
)

// xmlText appends s escaped for XML character data or attributes.
func xmlText(b []byte, s string) []byte {
	w := byteWriter{b}
	_ = xml.EscapeText(&w, []byte(s))
	return w.b
}

type byteWriter struct{ b []byte }

func (w *byteWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func has(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// --- KML 2.2: a Folder per device, a Placemark per sample with its time
// (TimeStamp) and dose (ExtendedData), so Google Earth's time slider and
// QGIS both read it.

const kmlHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>RadTrack export</name>` + "\n"

type kmlTrack struct {
	w     *bufio.Writer
	open  bool // a Folder is open
	begun bool
	buf   []byte
}

func (k *kmlTrack) Begin(d Device) error {
	b := k.buf[:0]
	if !k.begun {
		k.begun = true
		b = append(b, kmlHead...)
	}
	if k.open {
		b = append(b, "</Folder>\n"...)
	}
	k.open = true
	b = append(b, "<Folder><name>"...)
	name := d.Name
	if name == "" {
		name = d.UID
	}
	b = xmlText(b, name)
	b = append(b, "</name><description>"...)
	b = append(b, "device "...)
	b = strconv.AppendInt(b, d.ID, 10)
	b = append(b, " uid "...)
	b = xmlText(b, d.UID)
	b = append(b, "</description>\n"...)
	k.buf = b
	_, err := k.w.Write(b)
	return err
}

func (k *kmlTrack) Sample(s *sample.Sample) error {
	if !s.GPSValid {
		return nil
	}
	b := k.buf[:0]
	b = append(b, "<Placemark><TimeStamp><when>"...)
	b = appendTime(b, s.Time)
	b = append(b, "</when></TimeStamp>"...)
	if has(s.DoseRate) {
		b = append(b, `<ExtendedData><Data name="dose_rate_usvh"><value>`...)
		b = appendFloat(b, s.DoseRate)
		b = append(b, "</value></Data></ExtendedData>"...)
	}
	b = append(b, "<Point><coordinates>"...)
	b = appendFloat(b, s.Lon)
	b = append(b, ',')
	b = appendFloat(b, s.Lat)
	if has(s.Altitude) {
		b = append(b, ',')
		b = appendFloat(b, s.Altitude)
	}
	b = append(b, "</coordinates></Point></Placemark>\n"...)
	k.buf = b
	_, err := k.w.Write(b)
	return err
}

func (k *kmlTrack) Close() error {
	if !k.begun {
		k.w.WriteString(kmlHead)
	}
	if k.open {
		k.w.WriteString("</Folder>\n")
	}
	k.w.WriteString("</Document></kml>\n")
	return k.w.Flush()
}

// --- GPX 1.1: a trk per device with one trkseg; the dose rate goes in an
// extension element of RadTrack's namespace (GPX has none for it).

// GPXNamespace is the namespace of RadTrack's GPX extension elements.
const GPXNamespace = "urn:radtrack:gpx:1"

const gpxHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<gpx version="1.1" creator="RadTrack" xmlns="http://www.topografix.com/GPX/1/1" xmlns:rt="` + GPXNamespace + `">` + "\n"

type gpxTrack struct {
	w     *bufio.Writer
	open  bool
	begun bool
	buf   []byte
}

func (g *gpxTrack) Begin(d Device) error {
	b := g.buf[:0]
	if !g.begun {
		g.begun = true
		b = append(b, gpxHead...)
	}
	if g.open {
		b = append(b, "</trkseg></trk>\n"...)
	}
	g.open = true
	b = append(b, "<trk><name>"...)
	name := d.Name
	if name == "" {
		name = d.UID
	}
	b = xmlText(b, name)
	b = append(b, "</name><src>"...)
	b = xmlText(b, d.UID)
	b = append(b, "</src><trkseg>\n"...)
	g.buf = b
	_, err := g.w.Write(b)
	return err
}

func (g *gpxTrack) Sample(s *sample.Sample) error {
	if !s.GPSValid {
		return nil
	}
	b := g.buf[:0]
	b = append(b, `<trkpt lat="`...)
	b = appendFloat(b, s.Lat)
	b = append(b, `" lon="`...)
	b = appendFloat(b, s.Lon)
	b = append(b, `">`...)
	if has(s.Altitude) {
		b = append(b, "<ele>"...)
		b = appendFloat(b, s.Altitude)
		b = append(b, "</ele>"...)
	}
	b = append(b, "<time>"...)
	b = appendTime(b, s.Time)
	b = append(b, "</time>"...)
	if s.Satellites >= 0 {
		b = append(b, "<sat>"...)
		b = strconv.AppendInt(b, int64(s.Satellites), 10)
		b = append(b, "</sat>"...)
	}
	if has(s.HDOP) {
		b = append(b, "<hdop>"...)
		b = appendFloat(b, s.HDOP)
		b = append(b, "</hdop>"...)
	}
	if has(s.DoseRate) || has(s.CPM) {
		b = append(b, "<extensions>"...)
		if has(s.DoseRate) {
			b = append(b, "<rt:dose_rate_usvh>"...)
			b = appendFloat(b, s.DoseRate)
			b = append(b, "</rt:dose_rate_usvh>"...)
		}
		if has(s.CPM) {
			b = append(b, "<rt:cpm>"...)
			b = appendFloat(b, s.CPM)
			b = append(b, "</rt:cpm>"...)
		}
		b = append(b, "</extensions>"...)
	}
	b = append(b, "</trkpt>\n"...)
	g.buf = b
	_, err := g.w.Write(b)
	return err
}

func (g *gpxTrack) Close() error {
	if !g.begun {
		g.w.WriteString(gpxHead)
	}
	if g.open {
		g.w.WriteString("</trkseg></trk>\n")
	}
	g.w.WriteString("</gpx>\n")
	return g.w.Flush()
}
