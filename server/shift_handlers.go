package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/radtrack/radtrack/dose"
	"github.com/radtrack/radtrack/store"
)

// maxShift is the longest shift accepted: longer is a typing error.
const maxShift = 7 * 24 * time.Hour

type shiftRequest struct {
	DeviceID int64     `json:"device_id"`
	Crew     string    `json:"crew"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Note     string    `json:"note"`
}

// validShift checks a shift request and answers 400 naming the field.
func (s *Server) validShift(w http.ResponseWriter, r *http.Request, req shiftRequest) bool {
	crew := strings.TrimSpace(req.Crew)
	switch {
	case req.DeviceID <= 0:
		writeError(w, http.StatusBadRequest, "device_id", "must be a device id")
	case crew == "" || utf8.RuneCountInString(crew) > 100:
		writeError(w, http.StatusBadRequest, "crew", "must be a crew name of 1 to 100 characters")
	case req.Start.IsZero():
		writeError(w, http.StatusBadRequest, "start", "must be an RFC 3339 time")
	case !req.End.After(req.Start):
		writeError(w, http.StatusBadRequest, "end", "must be after start")
	case req.End.Sub(req.Start) > maxShift:
		writeError(w, http.StatusBadRequest, "end", "a shift lasts at most "+maxShift.String())
	case utf8.RuneCountInString(req.Note) > 2000:
		writeError(w, http.StatusBadRequest, "note", "at most 2000 characters")
	default:
		d, err := s.store.DeviceByID(r.Context(), req.DeviceID)
		if err == nil {
			sc, ok := s.requestScope(w, r, credentialOf(r).user)
			if !ok {
				return false
			}
			if !sc.Site(d.SiteID) {
				err = store.ErrNotFound // a device of another site does not exist here
			}
		}
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusBadRequest, "device_id", "no such device")
			return false
		} else if err != nil {
			s.internalError(w, r, "shift device", err)
			return false
		}
		return true
	}
	return false
}

// handleListShifts is GET /api/v1/shifts?device=&crew=&from=&to=: shifts
// overlapping [from, to), oldest first.
func (s *Server) handleListShifts(w http.ResponseWriter, r *http.Request, u store.User) {
	var f store.ShiftFilter
	q := r.URL.Query()
	if v := q.Get("device"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, "device", "must be a device id")
			return
		}
		f.DeviceID = id
	}
	f.Crew = q.Get("crew")
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name, "must be an RFC 3339 time")
				return
			}
			*dst = t
		}
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	list, err := s.store.ListShifts(r.Context(), f)
	if err != nil {
		s.internalError(w, r, "list shifts", err)
		return
	}
	if list == nil {
		list = []store.Shift{}
	}
	list = slices.DeleteFunc(list, func(sh store.Shift) bool { return !sc.Device(sh.DeviceID) })
	writeJSON(w, http.StatusOK, map[string]any{"shifts": list})
}

// handleCreateShift is POST /api/v1/shifts (operator).
func (s *Server) handleCreateShift(w http.ResponseWriter, r *http.Request, u store.User) {
	var req shiftRequest
	if !decodeJSON(w, r, &req) || !s.validShift(w, r, req) {
		return
	}
	sh, err := s.store.CreateShift(r.Context(), store.Shift{DeviceID: req.DeviceID, Crew: strings.TrimSpace(req.Crew),
		Start: req.Start.UTC(), End: req.End.UTC(), Note: req.Note, CreatedBy: u.Username})
	if err != nil {
		s.internalError(w, r, "create shift", err)
		return
	}
	s.audit(r.Context(), &u, "shift.create", "shift/"+itoa64(sh.ID), req)
	writeJSON(w, http.StatusCreated, sh)
}

// handleGetShift is GET /api/v1/shifts/{id}.
func (s *Server) handleGetShift(w http.ResponseWriter, r *http.Request, _ store.User) {
	sh, ok := s.shiftOf(w, r)
	if ok {
		writeJSON(w, http.StatusOK, sh)
	}
}

func (s *Server) shiftOf(w http.ResponseWriter, r *http.Request) (store.Shift, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return store.Shift{}, false
	}
	sh, err := s.store.Shift(r.Context(), id)
	if err == nil {
		sc, ok := s.requestScope(w, r, credentialOf(r).user)
		if !ok {
			return sh, false
		}
		if !sc.Device(sh.DeviceID) {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such shift")
		return sh, false
	}
	if err != nil {
		s.internalError(w, r, "shift", err)
		return sh, false
	}
	return sh, true
}

// handleUpdateShift is PUT /api/v1/shifts/{id} (operator): the whole shift.
func (s *Server) handleUpdateShift(w http.ResponseWriter, r *http.Request, u store.User) {
	old, ok := s.shiftOf(w, r) // 404 outside the user's sites
	if !ok {
		return
	}
	id := old.ID
	var req shiftRequest
	if !decodeJSON(w, r, &req) || !s.validShift(w, r, req) {
		return
	}
	sh, err := s.store.UpdateShift(r.Context(), store.Shift{ID: id, DeviceID: req.DeviceID, Crew: strings.TrimSpace(req.Crew),
		Start: req.Start.UTC(), End: req.End.UTC(), Note: req.Note})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such shift")
		return
	}
	if err != nil {
		s.internalError(w, r, "update shift", err)
		return
	}
	s.audit(r.Context(), &u, "shift.update", "shift/"+itoa64(id), req)
	writeJSON(w, http.StatusOK, sh)
}

// handleDeleteShift is DELETE /api/v1/shifts/{id} (operator).
func (s *Server) handleDeleteShift(w http.ResponseWriter, r *http.Request, u store.User) {
	old, ok := s.shiftOf(w, r) // 404 outside the user's sites
	if !ok {
		return
	}
	id := old.ID
	err := s.store.DeleteShift(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such shift")
		return
	}
	if err != nil {
		s.internalError(w, r, "delete shift", err)
		return
	}
	s.audit(r.Context(), &u, "shift.delete", "shift/"+itoa64(id), nil)
	w.WriteHeader(http.StatusNoContent)
}

// handleShiftDose is GET /api/v1/shifts/{id}/dose?max_gap=&levels=: the
// dose the crew took in the vehicle during the shift (the vehicle's
// accumulated dose over [start, end)).
func (s *Server) handleShiftDose(w http.ResponseWriter, r *http.Request, u store.User) {
	sh, ok := s.shiftOf(w, r)
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
	if err := s.accumulate(r.Context(), sh.DeviceID, sh.Start, sh.End, acc.Add); err != nil {
		s.internalError(w, r, "shift dose", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"shift": sh, "dose": acc.Summary()})
}
