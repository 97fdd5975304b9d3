package server

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/store"
)

// metresPerDegreeLat is the length of one degree of latitude.
const metresPerDegreeLat = 111_195.0

// handleHeatmap is GET /api/v1/heatmap?from=&to=&bbox=w,s,e,n&cell_m=200:
// max and mean dose per grid cell, computed in the database so the
// browser never receives raw samples. Defaults: the last 24 h, 200 m cells.
// The answer's cells are cell_m rounded to whole base cells of the store's
// grid; cell_lon and cell_lat give their size in degrees.
func (s *Server) handleHeatmap(w http.ResponseWriter, r *http.Request, u store.User) {
	q := r.URL.Query()
	hq := store.HeatmapQuery{To: time.Now().Add(time.Minute), BBox: [4]float64{-180, -90, 180, 90}}
	hq.From = hq.To.Add(-24 * time.Hour)
	for name, dst := range map[string]*time.Time{"from": &hq.From, "to": &hq.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name, "must be an RFC 3339 time")
				return
			}
			*dst = t
		}
	}
	if v := q.Get("bbox"); v != "" {
		b, ok := parseBBox(v)
		if !ok {
			writeError(w, http.StatusBadRequest, "bbox", "must be west,south,east,north in degrees")
			return
		}
		hq.BBox = b
	}
	cellM := 200.0
	if v := q.Get("cell_m"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 10 || f > 100_000 {
			writeError(w, http.StatusBadRequest, "cell_m", "must be a number of metres in [10, 100000]")
			return
		}
		cellM = f
	}
	midLat := (hq.BBox[1] + hq.BBox[3]) / 2
	hq.CellLat = cellM / metresPerDegreeLat
	hq.CellLon = cellM / (metresPerDegreeLat * math.Max(math.Cos(midLat*math.Pi/180), 0.01))
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	if !sc.all {
		hq.DeviceIDs = sc.deviceIDs()
	}
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	cells, err := s.store.Heatmap(r.Context(), hq)
	if err != nil {
		s.internalError(w, r, "heatmap", err)
		return
	}
	// Cells are whole base cells (store.HeatGridDeg): say what they are.
	lonDeg, latDeg := hq.SnappedCell()
	writeJSON(w, http.StatusOK, map[string]any{"cell_m": math.Round(latDeg * metresPerDegreeLat),
		"cell_lon": lonDeg, "cell_lat": latDeg, "cells": cells})
}
