package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// alarmN42Margin widens an alarm's window in its N42 export: the readings
// just before and after the episode are its background.
const alarmN42Margin = time.Minute

func (s *Server) exportRoutes() {
	s.mux.HandleFunc("GET /api/v1/alarms/{id}/n42", s.require(auth.RoleViewer, s.handleAlarmN42))
}

// streamAlarms answers GET /api/v1/alarms?format=csv|geojson: every alarm
// matching the filter (limit, if given, caps it), oldest first, streamed
// from the database.
func (s *Server) streamAlarms(w http.ResponseWriter, r *http.Request, u store.User, f export.Format, filter store.AlarmFilter) {
	devs, err := s.store.ListDevices(r.Context())
	if err != nil {
		s.internalError(w, r, "export alarms", err)
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	uid := make(map[int64]string, len(devs))
	for _, d := range devs {
		if sc.Site(d.SiteID) {
			uid[d.ID] = d.UID
		}
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), header: func(h http.Header) {
		h.Set("Content-Type", f.ContentType())
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="radtrack-alarms-%s.%s"`, time.Now().UTC().Format("20060102T150405Z"), f.Ext()))
	}}
	aw, err := export.NewAlarmWriter(f, sw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "format", err.Error())
		return
	}
	if err := s.store.EachAlarm(r.Context(), filter, func(ep *rules.Episode) error {
		if _, in := uid[ep.DeviceID]; !in { // outside the user's sites
			return nil
		}
		return aw.Alarm(ep, uid[ep.DeviceID])
	}); err != nil {
		s.streamFailed(w, r, sw, "export alarms", err)
		return
	}
	if err := aw.Close(); err != nil {
		s.streamFailed(w, r, sw, "export alarms", err)
	}
}

// handleAlarmN42 is GET /api/v1/alarms/{id}/n42: the alarm's readings as
// an ANSI N42.42-2011 RadInstrumentData document (one RadMeasurement per
// sample with a dose rate or counts, from a minute before the episode to a
// minute after it; the alarm described in Remarks), for spectroscopy and
// reach-back tools. Streamed from the database.
func (s *Server) handleAlarmN42(w http.ResponseWriter, r *http.Request, u store.User) {
	ep, ok := s.alarmOf(w, r)
	if !ok {
		return
	}
	d, err := s.store.DeviceByID(r.Context(), ep.DeviceID)
	if err != nil {
		s.internalError(w, r, "alarm n42 device", err)
		return
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	from, to := ep.FirstSeen.Add(-alarmN42Margin), ep.LastSeen.Add(alarmN42Margin)
	remarks := []string{
		fmt.Sprintf("RadTrack alarm %d: rule %q (%s, %s), state %s", ep.ID, ep.RuleName, ep.Kind, ep.Severity, ep.State),
		fmt.Sprintf("Episode %s to %s; measurements from %s to %s", ep.FirstSeen.UTC().Format(time.RFC3339Nano),
			ep.LastSeen.UTC().Format(time.RFC3339Nano), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)),
	}
	if sample.Has(ep.PeakDose) {
		remarks = append(remarks, fmt.Sprintf("Peak %g µSv/h at %s, lat %g lon %g", ep.PeakDose, ep.PeakTime.UTC().Format(time.RFC3339Nano), ep.PeakLat, ep.PeakLon))
	}
	if ep.Code != "" {
		remarks = append(remarks, fmt.Sprintf("Adjudicated %s by %s: %s", ep.Code, ep.ResolvedBy, ep.ResolveComment))
	}
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), header: func(h http.Header) {
		h.Set("Content-Type", export.N42.ContentType())
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="radtrack-alarm-%d.n42"`, ep.ID))
	}}
	nw := export.NewN42Writer(sw, export.N42Doc{UUID: uuid.NewString(), Device: export.Device{ID: d.ID, UID: d.UID, Name: d.Name}, Remarks: remarks})
	if err := s.store.EachSample(r.Context(), store.StreamQuery{DeviceID: d.ID, From: from, To: to}, nw.Sample); err != nil {
		s.streamFailed(w, r, sw, "alarm n42", err)
		return
	}
	if err := nw.Close(); err != nil {
		s.streamFailed(w, r, sw, "alarm n42", err)
	}
}
