package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/dose"
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Range caps of the accounting routes: each streams every sample of the
// range, and the minute route holds its answer in memory.
const (
	maxDoseRange    = 366 * 24 * time.Hour
	maxMinutesRange = 7 * 24 * time.Hour
	maxDailyRange   = 92 * 24 * time.Hour
)

func (s *Server) doseRoutes() {
	s.mux.HandleFunc("GET /api/v1/devices/{id}/dose", s.require(auth.RoleViewer, s.handleDeviceDose))
	s.mux.HandleFunc("GET /api/v1/devices/{id}/dose/minutes", s.require(auth.RoleViewer, s.handleDoseMinutes))
	s.mux.HandleFunc("GET /api/v1/devices/{id}/daily", s.require(auth.RoleViewer, s.handleDeviceDaily))
	s.mux.HandleFunc("GET /api/v1/groups/{group}/daily", s.require(auth.RoleViewer, s.handleGroupDaily))
	s.mux.HandleFunc("GET /api/v1/shifts", s.require(auth.RoleViewer, s.handleListShifts))
	s.mux.HandleFunc("POST /api/v1/shifts", s.require(auth.RoleOperator, s.handleCreateShift))
	s.mux.HandleFunc("GET /api/v1/shifts/{id}", s.require(auth.RoleViewer, s.handleGetShift))
	s.mux.HandleFunc("PUT /api/v1/shifts/{id}", s.require(auth.RoleOperator, s.handleUpdateShift))
	s.mux.HandleFunc("DELETE /api/v1/shifts/{id}", s.require(auth.RoleOperator, s.handleDeleteShift))
	s.mux.HandleFunc("GET /api/v1/shifts/{id}/dose", s.require(auth.RoleViewer, s.handleShiftDose))
}

// doseConfig reads max_gap (a Go duration, 1s to 1h) and levels (µSv/h,
// comma list); without levels, the thresholds of the enabled level rules.
func (s *Server) doseConfig(w http.ResponseWriter, r *http.Request) (dose.Config, bool) {
	cfg := dose.Config{MaxGap: dose.DefaultMaxGap}
	q := r.URL.Query()
	if v := q.Get("max_gap"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			writeError(w, http.StatusBadRequest, "max_gap", "must be a duration from 1s to 1h, such as 60s")
			return cfg, false
		}
		cfg.MaxGap = d
	}
	if v, ok := q["levels"]; ok {
		for _, p := range splitList(v[0]) {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || f < 0 || f > 1e6 {
				writeError(w, http.StatusBadRequest, "levels", "must be dose rates in µSv/h, comma-separated")
				return cfg, false
			}
			cfg.Levels = append(cfg.Levels, f)
		}
		if len(cfg.Levels) > 16 {
			writeError(w, http.StatusBadRequest, "levels", "at most 16 levels")
			return cfg, false
		}
	} else {
		list, err := s.store.ListRules(r.Context())
		if err != nil {
			s.internalError(w, r, "dose levels", err)
			return cfg, false
		}
		for _, ru := range list {
			if ru.Enabled && ru.Kind == rules.KindLevel && ru.Level != nil {
				cfg.Levels = append(cfg.Levels, ru.Level.ThresholdUSvH)
			}
		}
	}
	slices.Sort(cfg.Levels)
	cfg.Levels = slices.Compact(cfg.Levels)
	return cfg, true
}

// boundedRange is parseRange with a longest span.
func boundedRange(w http.ResponseWriter, r *http.Request, def, most time.Duration) (time.Time, time.Time, bool) {
	from, to, ok := parseRange(w, r, def)
	if ok && to.Sub(from) > most {
		writeError(w, http.StatusBadRequest, "from", "the range may span at most "+most.String())
		return from, to, false
	}
	return from, to, ok
}

// deviceOf reads the {id} device, answering 400/404/503 itself.
func (s *Server) deviceOf(w http.ResponseWriter, r *http.Request) (store.Device, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return store.Device{}, false
	}
	d, err := s.store.DeviceByID(r.Context(), id)
	if err == nil {
		// Outside the user's site subtree it does not exist for them.
		sc, ok := s.requestScope(w, r, credentialOf(r).user)
		if !ok {
			return d, false
		}
		if !sc.Site(d.SiteID) {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such device")
		return d, false
	}
	if err != nil {
		s.internalError(w, r, "device", err)
		return d, false
	}
	return d, true
}

// accumulate streams a device's samples in [from, to) into fn.
func (s *Server) accumulate(ctx context.Context, deviceID int64, from, to time.Time, add func(*sample.Sample)) error {
	return s.store.EachSample(ctx, store.StreamQuery{DeviceID: deviceID, From: from, To: to}, func(smp *sample.Sample) error {
		add(smp)
		return nil
	})
}

// doseAnswer is the accounting of one device over one range.
type doseAnswer struct {
	DeviceID int64     `json:"device_id"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	dose.Summary
}

// handleDeviceDose is GET /api/v1/devices/{id}/dose?from=&to=&max_gap=&levels=:
// the accumulated dose (µSv) of the device over [from, to) (default the
// last 24 h) and the rest of dose.Summary.
func (s *Server) handleDeviceDose(w http.ResponseWriter, r *http.Request, u store.User) {
	d, ok := s.deviceOf(w, r)
	if !ok {
		return
	}
	from, to, ok := boundedRange(w, r, 24*time.Hour, maxDoseRange)
	if !ok {
		return
	}
	cfg, ok := s.doseConfig(w, r)
	if !ok {
		return
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	acc := dose.New(cfg)
	if err := s.accumulate(r.Context(), d.ID, from, to, acc.Add); err != nil {
		s.internalError(w, r, "dose", err)
		return
	}
	writeJSON(w, http.StatusOK, doseAnswer{DeviceID: d.ID, From: from, To: to, Summary: acc.Summary()})
}

// handleDoseMinutes is GET /api/v1/devices/{id}/dose/minutes?from=&to=:
// the 1-minute dose statistics (dose_1m on PostgreSQL/TimescaleDB, the
// same grouping on the embedded store), at most 7 days (default 1 h).
func (s *Server) handleDoseMinutes(w http.ResponseWriter, r *http.Request, u store.User) {
	d, ok := s.deviceOf(w, r)
	if !ok {
		return
	}
	from, to, ok := boundedRange(w, r, time.Hour, maxMinutesRange)
	if !ok {
		return
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	mins, err := s.store.DoseMinutes(r.Context(), d.ID, from, to)
	if err != nil {
		s.internalError(w, r, "dose minutes", err)
		return
	}
	if mins == nil {
		mins = []store.DoseMinute{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "from": from, "to": to, "minutes": mins})
}

// daily accounts one device by UTC day and counts the alarms first seen
// on each day.
func (s *Server) daily(ctx context.Context, d store.Device, from, to time.Time, cfg dose.Config) ([]dose.Day, error) {
	acc := dose.NewDaily(cfg)
	if err := s.accumulate(ctx, d.ID, from, to, acc.Add); err != nil {
		return nil, err
	}
	days := acc.Days()
	eps, err := s.store.ListAlarms(ctx, store.AlarmFilter{DeviceID: d.ID, From: from, To: to})
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		date := ep.FirstSeen.UTC().Format(time.DateOnly)
		i := slices.IndexFunc(days, func(dd dose.Day) bool { return dd.Date == date })
		if i < 0 { // an alarm on a day without samples (silence)
			days = append(days, dose.Day{Date: date, Summary: dose.New(cfg).Summary()})
			i = len(days) - 1
		}
		days[i].Alarms++
	}
	slices.SortFunc(days, func(a, b dose.Day) int { return strings.Compare(a.Date, b.Date) })
	if days == nil {
		days = []dose.Day{}
	}
	return days, nil
}

// handleDeviceDaily is GET /api/v1/devices/{id}/daily?from=&to=: one
// summary per UTC day with samples or alarms (distance, reporting time,
// time above each level, maximum dose rate, dose, alarms), at most 92
// days (default the last 7).
func (s *Server) handleDeviceDaily(w http.ResponseWriter, r *http.Request, u store.User) {
	d, ok := s.deviceOf(w, r)
	if !ok {
		return
	}
	from, to, ok := boundedRange(w, r, 7*24*time.Hour, maxDailyRange)
	if !ok {
		return
	}
	cfg, ok := s.doseConfig(w, r)
	if !ok {
		return
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	days, err := s.daily(r.Context(), d, from, to, cfg)
	if err != nil {
		s.internalError(w, r, "daily summary", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "from": from, "to": to, "days": days})
}

// handleGroupDaily is GET /api/v1/groups/{group}/daily?from=&to=&format=json|csv:
// the daily summaries of every device of the group; CSV is one row per
// device and day, for a spreadsheet.
func (s *Server) handleGroupDaily(w http.ResponseWriter, r *http.Request, u store.User) {
	group := r.PathValue("group")
	f, err := export.Negotiate(r.URL.Query().Get("format"), r.Header.Get("Accept"), export.JSON, export.CSV)
	if err != nil {
		writeError(w, http.StatusBadRequest, "format", "must be json or csv")
		return
	}
	from, to, ok := boundedRange(w, r, 7*24*time.Hour, maxDailyRange)
	if !ok {
		return
	}
	cfg, ok := s.doseConfig(w, r)
	if !ok {
		return
	}
	all, err := s.store.ListDevices(r.Context())
	if err != nil {
		s.internalError(w, r, "group daily", err)
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	var devs []store.Device
	for _, d := range all {
		if d.Group == group && sc.Site(d.SiteID) {
			devs = append(devs, d)
		}
	}
	if len(devs) == 0 {
		writeError(w, http.StatusNotFound, "group", "no device in group "+strconv.Quote(group))
		return
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	type deviceDays struct {
		DeviceID int64      `json:"device_id"`
		UID      string     `json:"uid"`
		Name     string     `json:"name"`
		Days     []dose.Day `json:"days"`
	}
	out := make([]deviceDays, 0, len(devs))
	for _, d := range devs {
		days, err := s.daily(r.Context(), d, from, to, cfg)
		if err != nil {
			s.internalError(w, r, "group daily", err)
			return
		}
		out = append(out, deviceDays{DeviceID: d.ID, UID: d.UID, Name: d.Name, Days: days})
	}
	if f == export.JSON {
		writeJSON(w, http.StatusOK, map[string]any{"group": group, "from": from, "to": to, "levels_usvh": cfg.Levels, "devices": out})
		return
	}
	w.Header().Set("Content-Type", export.CSV.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="radtrack-daily-`+fileSafe(group)+`-`+from.UTC().Format("20060102")+`.csv"`)
	dw := export.NewDailyCSV(w, cfg.Levels)
	for _, dd := range out {
		for _, day := range dd.Days {
			if err := dw.Row(export.Device{ID: dd.DeviceID, UID: dd.UID, Name: dd.Name}, day); err != nil {
				return // the client went away
			}
		}
	}
	_ = dw.Close()
}
