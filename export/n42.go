package export

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// N42Doc describes an ANSI N42.42-2011 export: one instrument (the
// vehicle's detector) and its measurements.
type N42Doc struct {
	UUID    string // n42DocUUID
	Device  Device
	Remarks []string // document Remarks: what the file is about (the alarm)
}

// N42Writer writes a RadInstrumentData document with one RadMeasurement
// per sample that carries a dose rate or counts: StartDateTime, the dose
// rate (µSv/h) and gross counts of the gamma detector, the position,
// elevation and speed in RadInstrumentState. RealTimeDuration is the
// sample's count interval when it has one, else the time to the next
// sample (the previous interval for the last one, 1 s for a lone sample):
// the writer holds one sample back to know it.
type N42Writer struct {
	w       *bufio.Writer
	n       int
	held    *sample.Sample
	heldBuf sample.Sample
	lastDur float64
	buf     []byte
}

const (
	n42Instrument = "RadInstrumentInformation-1"
	n42Detector   = "RadDetectorInformation-Gamma"
)

// NewN42Writer writes the document head.
func NewN42Writer(w io.Writer, doc N42Doc) *N42Writer {
	n := &N42Writer{w: bufio.NewWriterSize(w, 64<<10), lastDur: 1}
	b := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<RadInstrumentData xmlns="http://physics.nist.gov/N42/2011/N42" n42DocUUID="`)
	b = xmlText(b, doc.UUID)
	b = append(b, "\">\n"...)
	for _, r := range doc.Remarks {
		b = append(b, "  <Remark>"...)
		b = xmlText(b, r)
		b = append(b, "</Remark>\n"...)
	}
	b = append(b, "  <RadInstrumentDataCreatorName>RadTrack</RadInstrumentDataCreatorName>\n"...)
	b = append(b, `  <RadInstrumentInformation id="`+n42Instrument+`">`+"\n    <RadInstrumentManufacturerName>Unknown</RadInstrumentManufacturerName>\n    <RadInstrumentIdentifier>"...)
	b = xmlText(b, doc.Device.UID)
	b = append(b, "</RadInstrumentIdentifier>\n    <RadInstrumentModelName>"...)
	name := doc.Device.Name
	if name == "" {
		name = "Unknown"
	}
	b = xmlText(b, name)
	b = append(b, "</RadInstrumentModelName>\n    <RadInstrumentClassCode>Mobile System</RadInstrumentClassCode>\n  </RadInstrumentInformation>\n"...)
	b = append(b, `  <RadDetectorInformation id="`+n42Detector+`">`+"\n    <RadDetectorCategoryCode>Gamma</RadDetectorCategoryCode>\n    <RadDetectorKindCode>Other</RadDetectorKindCode>\n  </RadDetectorInformation>\n"...)
	_, _ = n.w.Write(b)
	return n
}

// Sample adds the next sample (oldest first).
func (n *N42Writer) Sample(s *sample.Sample) error {
	if !has(s.DoseRate) && !has(s.Counts) {
		return nil // no radiation data: N42 readers skip such measurements
	}
	if n.held != nil {
		if d := s.Time.Sub(n.held.Time).Seconds(); d > 0 {
			n.lastDur = d
		}
		if err := n.measurement(n.held, n.lastDur); err != nil {
			return err
		}
	}
	n.heldBuf = *s
	n.held = &n.heldBuf
	return nil
}

func (n *N42Writer) measurement(s *sample.Sample, next float64) error {
	n.n++
	id := "RadMeasurement-" + strconv.Itoa(n.n)
	dur := next
	if has(s.CountInterval) && s.CountInterval > 0 {
		dur = s.CountInterval
	}
	b := n.buf[:0]
	b = append(b, `  <RadMeasurement id="`...)
	b = append(b, id...)
	b = append(b, "\">\n    <MeasurementClassCode>Foreground</MeasurementClassCode>\n    <StartDateTime>"...)
	b = s.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, "</StartDateTime>\n    <RealTimeDuration>PT"...)
	b = strconv.AppendFloat(b, dur, 'f', -1, 64)
	b = append(b, "S</RealTimeDuration>\n"...)
	if has(s.Counts) {
		b = append(b, `    <GrossCounts id="`...)
		b = append(b, id...)
		b = append(b, `-GrossCounts" radDetectorInformationReference="`+n42Detector+`">`+"\n"...)
		if has(s.CountInterval) && s.CountInterval > 0 {
			b = append(b, "      <LiveTimeDuration>PT"...)
			b = strconv.AppendFloat(b, s.CountInterval, 'f', -1, 64)
			b = append(b, "S</LiveTimeDuration>\n"...)
		}
		b = append(b, "      <CountData>"...)
		b = appendFloat(b, s.Counts)
		b = append(b, "</CountData>\n    </GrossCounts>\n"...)
	}
	if has(s.DoseRate) {
		b = append(b, `    <DoseRate id="`...)
		b = append(b, id...)
		b = append(b, `-DoseRate" radDetectorInformationReference="`+n42Detector+`">`+"\n      <DoseRateValue>"...)
		b = appendFloat(b, s.DoseRate)
		b = append(b, "</DoseRateValue>\n    </DoseRate>\n"...)
	}
	if s.GPSValid || (has(s.Speed) && s.Speed >= 0) {
		b = append(b, `    <RadInstrumentState radInstrumentInformationReference="`+n42Instrument+`">`+"\n      <StateVector>\n"...)
		if s.GPSValid {
			b = append(b, "        <GeographicPoint>\n          <LatitudeValue>"...)
			b = appendFloat(b, s.Lat)
			b = append(b, "</LatitudeValue>\n          <LongitudeValue>"...)
			b = appendFloat(b, s.Lon)
			b = append(b, "</LongitudeValue>\n"...)
			if has(s.Altitude) {
				b = append(b, "          <ElevationValue>"...)
				b = appendFloat(b, s.Altitude)
				b = append(b, "</ElevationValue>\n"...)
			}
			b = append(b, "        </GeographicPoint>\n"...)
		}
		if has(s.Speed) && s.Speed >= 0 {
			b = append(b, "        <SpeedValue>"...)
			b = appendFloat(b, s.Speed)
			b = append(b, "</SpeedValue>\n"...)
		}
		b = append(b, "      </StateVector>\n    </RadInstrumentState>\n"...)
	}
	b = append(b, "  </RadMeasurement>\n"...)
	n.buf = b
	_, err := n.w.Write(b)
	return err
}

// Close writes the held sample and ends the document.
func (n *N42Writer) Close() error {
	if n.held != nil {
		if err := n.measurement(n.held, n.lastDur); err != nil {
			return err
		}
		n.held = nil
	}
	_, _ = n.w.WriteString("</RadInstrumentData>\n")
	return n.w.Flush()
}
