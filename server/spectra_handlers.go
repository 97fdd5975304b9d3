package server

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spectra"
	"github.com/radtrack/radtrack/store"
)

// n42Result answers POST /api/v1/n42: the pipeline's result for the
// document's samples, plus what became of its spectra.
type n42Result struct {
	ingest.Result
	Spectra  int            `json:"spectra"`           // stored (a stored key is kept as it was)
	Nuclides int            `json:"nuclides"`          // instrument nuclide IDs stored with them
	Skipped  map[string]int `json:"skipped,omitempty"` // spectra or nuclide IDs not kept, by reason
	Notes    []string       `json:"notes,omitempty"`   // what the decoder ignored or assumed
}

// handleN42 is POST /api/v1/n42: one ANSI N42.42 document (2011
// RadInstrumentData or 2006 N42InstrumentData) from an instrument,
// authenticated with its device's bearer token. The samples take the
// measurements route's path (gate, per-device limit, pipeline); the
// spectra and the instrument's nuclide IDs are stored after them. It
// answers only after both are committed. The document's own instrument
// identifier is not checked: the token names the device.
func (s *Server) handleN42(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceHTTP
	up, ok := s.admitUpload(w, r, []string{"application/xml", "text/xml", "application/n42+xml"}, "application/xml for an N42.42 document")
	if !ok {
		return
	}
	pass := up.pass
	doc, err := n42.Decode(bytes.NewReader(up.body))
	if err != nil {
		s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonMalformed, "body", err.Error(), nil))
		return
	}
	// Live from the instrument: not an import.
	for i := range doc.Samples {
		doc.Samples[i].Source, doc.Samples[i].Imported = protocol, false
	}
	res := n42Result{Skipped: map[string]int{}, Notes: doc.Notes}
	if len(doc.Samples) > 0 {
		if res.Result, err = pass.Ingest(r.Context(), doc.Samples); err != nil {
			s.writeRefusal(w, r, err)
			return
		}
		// Rejections index the document's RadMeasurements (Measurements
		// for 2006), like the decoder's own errors.
		for i := range res.Rejected {
			res.Rejected[i].Index = doc.SampleMeasurement[res.Rejected[i].Index]
		}
	}
	if res.Rejected == nil {
		res.Rejected = []ingest.Rejection{}
	}
	for _, e := range doc.Errors {
		var me *n42.MeasurementError
		var fe *sample.FieldError
		field := "body"
		if errors.As(e, &fe) {
			field = fe.Field
		}
		idx := -1
		if errors.As(e, &me) {
			idx = me.Index
		}
		s.gate.CountRejected(protocol, field)
		res.Rejected = append(res.Rejected, ingest.Rejection{Index: idx, Field: field, Error: e.Error()})
	}
	spectra := importer.Spectra(doc, pass.Device.ID, res.Skipped)
	if len(spectra) > 0 {
		if err := s.store.WriteSpectra(r.Context(), spectra); err != nil {
			// The samples are stored; a retry of the whole document stores
			// nothing twice ((device, time) and (device, time, detector) keys).
			s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonStorage, "spectra", "spectra not stored, retry", err))
			return
		}
	}
	res.Spectra = len(spectra)
	for _, sp := range spectra {
		res.Nuclides += len(sp.Nuclides)
	}
	slices.SortStableFunc(res.Rejected, func(a, b ingest.Rejection) int { return a.Index - b.Index })
	status := http.StatusOK
	if res.Accepted == 0 && res.Spectra == 0 && len(res.Rejected) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// Windows of an incident's spectrum: the foreground is the peak vehicle's
// spectra from the incident's first to last alarm (with a margin for the
// rule's reaction); the background is the same vehicle's spectra in the
// ten minutes before, ending a little before the incident so that the
// source's approach is not in it.
const (
	spectrumMargin     = 5 * time.Second
	backgroundSpan     = 10 * time.Minute
	backgroundClearing = 30 * time.Second
	// maxIncidentSpectra bounds each window (an hour of 1-s spectra).
	maxIncidentSpectra = 3600
)

// summedSpectrum is a window's spectra summed channel by channel.
type summedSpectrum struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Spectra     int       `json:"spectra"`     // summed
	LiveTime    float64   `json:"live_time_s"` // their live (else real) time
	Calibration []float64 `json:"calibration"` // keV polynomial of the first spectrum
	Counts      []uint64  `json:"counts"`
	Omitted     int       `json:"omitted,omitempty"` // spectra with another channel count, analysed but not summed here
}

// handleIncidentSpectrum is GET /api/v1/incidents/{id}/spectrum (viewer):
// the peak vehicle's summed spectrum during the incident against its
// recent background, and nuclide hints (suggestions only; package
// spectra). 404 when the incident or its spectra do not exist.
func (s *Server) handleIncidentSpectrum(w http.ResponseWriter, r *http.Request, u store.User) {
	// The spectrum is the peak vehicle's: of the user's own alarms'.
	inc, sc, ok := s.incidentOf(w, r, u)
	if !ok {
		return
	}
	if !sc.Device(inc.PeakDeviceID) {
		writeError(w, http.StatusNotFound, "id", "no such incident")
		return
	}
	fgFrom, fgTo := inc.FirstSeen.Add(-spectrumMargin), inc.LastSeen.Add(spectrumMargin+time.Microsecond) // inclusive; stores keep microseconds
	bgTo := inc.FirstSeen.Add(-backgroundClearing)
	bgFrom := bgTo.Add(-backgroundSpan)
	fg, err := s.store.SpectraRange(r.Context(), store.SpectrumQuery{DeviceID: inc.PeakDeviceID, From: fgFrom, To: fgTo, Limit: maxIncidentSpectra})
	if err != nil {
		s.internalError(w, r, "incident spectra", err)
		return
	}
	if len(fg) == 0 {
		writeError(w, http.StatusNotFound, "id", "the incident's vehicle sent no spectra during it")
		return
	}
	bg, err := s.store.SpectraRange(r.Context(), store.SpectrumQuery{DeviceID: inc.PeakDeviceID, From: bgFrom, To: bgTo, Limit: maxIncidentSpectra})
	if err != nil {
		s.internalError(w, r, "background spectra", err)
		return
	}
	res := spectra.Analyze(fg, bg, nil)
	var nuclides []store.NuclideID
	for _, sp := range fg {
		nuclides = append(nuclides, sp.Nuclides...)
	}
	if res.Lines == nil {
		res.Lines = []spectra.Line{}
	}
	if res.Hints == nil {
		res.Hints = []spectra.Hint{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"incident_id": inc.ID, "device_id": inc.PeakDeviceID,
		"foreground": sumSpectra(fg, fgFrom, fgTo), "background": sumSpectra(bg, bgFrom, bgTo),
		"lines": res.Lines, "hints": res.Hints, "instrument_nuclides": nuclides,
	})
}

func sumSpectra(sp []store.Spectrum, from, to time.Time) summedSpectrum {
	out := summedSpectrum{From: from, To: to, Counts: []uint64{}, Calibration: []float64{}}
	for _, s := range sp {
		if out.Spectra == 0 {
			out.Counts = make([]uint64, len(s.Counts))
			if s.Calibration != nil {
				out.Calibration = s.Calibration
			}
		}
		if len(s.Counts) != len(out.Counts) {
			out.Omitted++
			continue
		}
		for i, c := range s.Counts {
			out.Counts[i] += uint64(c)
		}
		out.Spectra++
		switch {
		case s.LiveTime > 0:
			out.LiveTime += s.LiveTime
		case s.RealTime > 0:
			out.LiveTime += s.RealTime
		}
	}
	return out
}
