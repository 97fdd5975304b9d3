// Package detection measures how well the default rules detect radiation
// sources on real drive logs (`radtrack eval detection`, README "Detection
// statistics"):
//
//   - false alarms per vehicle-hour, per rule, on the real background of
//     every log (Replay);
//   - detection probability and time to alarm for a point source injected
//     into those logs' real counts (Grid);
//   - the same for an ideal detector that knows where the source is and
//     uses the likelihood ratio of the expected count profile, with its
//     threshold at the rules' measured false-alarm rate (ideal.go).
//
// Everything is deterministic: fixed seeds, no clock.
package detection

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest/atomfast"
	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// Track is one log, decoded and prepared exactly as the pipeline prepares
// samples for the rules (device calibration applied by sample.FillDose).
type Track struct {
	Name    string
	Format  string
	Samples []sample.Sample // time order, every one with a time
	// CPMPerUSvH is the calibration the device is registered with (the
	// server's default, the bGeigie's LND 7317, unless a file says more).
	CPMPerUSvH float64
	// Hours of data: the sum of the gaps between consecutive samples that
	// are at most rules.LevelMaxGapS apart (vehicle-hours).
	Hours float64
	// Counting reports whether the samples carry counts that the level
	// statistic uses (sample.CPMPerUSvH set); injection needs them.
	Counting bool
}

// Skipped names a file that could not be evaluated and why.
type Skipped struct {
	Name, Reason string
}

// LoadDir loads every file of dir (the shared radiation logs) that holds a
// time series of radiation readings, in name order, and names the others.
func LoadDir(dir string) ([]Track, []Skipped, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("eval: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.EqualFold(e.Name(), "README.md") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return LoadFiles(paths)
}

// LoadFiles loads the given files; a file that is not a usable time series
// is skipped with its reason, an unreadable one is an error.
func LoadFiles(paths []string) ([]Track, []Skipped, error) {
	var (
		tracks  []Track
		skipped []Skipped
	)
	for _, p := range paths {
		t, err := LoadFile(p)
		var unusable *unusableError
		switch {
		case errors.As(err, &unusable):
			skipped = append(skipped, Skipped{Name: filepath.Base(p), Reason: unusable.reason})
		case err != nil:
			return nil, nil, err
		default:
			tracks = append(tracks, t)
		}
	}
	return tracks, skipped, nil
}

type unusableError struct{ reason string }

func (e *unusableError) Error() string { return e.reason }

// minReadings: fewer radiation readings than this are no time series.
const minReadings = 10

// LoadFile decodes one log with RadTrack's own decoders.
func LoadFile(path string) (Track, error) {
	f, err := os.Open(path)
	if err != nil {
		return Track{}, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	format, err := importer.Detect(rd, path)
	if err != nil {
		return Track{}, &unusableError{reason: err.Error()}
	}
	var samples []sample.Sample
	keep := func(_ int, s sample.Sample, err error) error {
		if err == nil && !s.Time.IsZero() { // no time: the importer skips it too
			samples = append(samples, s)
		}
		return nil
	}
	switch format {
	case importer.FormatBGeigie:
		err = bgeigie.DecodeLog(rd, keep)
	case importer.FormatAtomFast:
		err = atomfast.Decode(rd, keep)
	case importer.FormatN42:
		var doc *n42.Document
		if doc, err = n42.Decode(rd); err == nil {
			samples = doc.Samples
		} else {
			return Track{}, &unusableError{reason: "N42: " + err.Error()}
		}
	}
	if err != nil {
		return Track{}, fmt.Errorf("eval: %s: %w", path, err)
	}
	t := Track{Name: filepath.Base(path), Format: format, CPMPerUSvH: sample.DefaultCPMPerUSvH}
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].Time.Before(samples[j].Time) })
	samples = slices.CompactFunc(samples, func(a, b sample.Sample) bool { return a.Time.Equal(b.Time) }) // (device, time) is the stored key
	readings := 0
	for i := range samples {
		s := &samples[i]
		s.DeviceID, s.Imported = 1, false // evaluated as a live stream
		s.ReceivedAt = s.Time
		s.FillDose(t.CPMPerUSvH)
		if sample.Has(s.DoseRate) {
			readings++
		}
		t.Counting = t.Counting || s.CPMPerUSvH > 0
		if i > 0 {
			if gap := s.Time.Sub(samples[i-1].Time).Seconds(); gap <= rules.LevelMaxGapS {
				t.Hours += gap / 3600
			}
		}
	}
	if readings < minReadings {
		reason := fmt.Sprintf("%d radiation readings decoded, fewer than %d: no time series", readings, minReadings)
		if readings == 0 && format == importer.FormatN42 {
			reason += " (its gamma counts are only in spectra, which ingest/n42 does not read)"
		}
		return Track{}, &unusableError{reason: reason}
	}
	t.Samples = samples
	return t, nil
}
