package importer

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/store"
)

// spectraBatch is how many spectra are written at once (a 16 384-channel
// HPGe spectrum packs to ~20 KB).
const spectraBatch = 200

// Spectra converts a decoded document's spectra for one device, attaching
// the instrument's nuclide IDs to the first spectrum of the measurement
// they cover. skipped counts what could not be kept, by reason.
func Spectra(doc *n42.Document, deviceID int64, skipped map[string]int) []store.Spectrum {
	var out []store.Spectrum
	first := map[string]int{} // measurement id → index in out
	for _, sp := range doc.Spectra {
		counts := make([]uint32, len(sp.Channels))
		ok := true
		for i, c := range sp.Channels {
			if c != math.Trunc(c) || c > math.MaxUint32 {
				ok = false
				break
			}
			counts[i] = uint32(c)
		}
		if !ok {
			skipped["spectrum_counts_not_whole"]++
			continue
		}
		if _, seen := first[sp.MeasurementID]; !seen && sp.MeasurementID != "" {
			first[sp.MeasurementID] = len(out)
		}
		out = append(out, store.Spectrum{
			DeviceID: deviceID, Time: sp.Time, Detector: sp.Detector, RealTime: sp.RealTime, LiveTime: sp.LiveTime,
			Calibration: slices.Clone(sp.Calibration), Counts: counts,
		})
	}
	for _, nu := range doc.Nuclides {
		id := store.NuclideID{Name: nu.Name, Identified: nu.Identified, Text: nu.ConfidenceText, Algorithm: nu.Algorithm}
		if !math.IsNaN(nu.Confidence) {
			c := nu.Confidence
			id.Confidence = &c
		}
		placed := false
		for _, m := range nu.MeasurementIDs {
			if i, ok := first[m]; ok {
				out[i].Nuclides = append(out[i].Nuclides, id)
				placed = true
				break
			}
		}
		if !placed {
			skipped["nuclide_without_spectrum"]++
		}
	}
	return out
}

// writeSpectra stores spectra in batches.
func (im *Importer) writeSpectra(ctx context.Context, spectra []store.Spectrum) error {
	for start := 0; start < len(spectra); start += spectraBatch {
		chunk := spectra[start:min(start+spectraBatch, len(spectra))]
		if err := im.Spectra.WriteSpectra(ctx, chunk); err != nil {
			return fmt.Errorf("spectra: %w", err)
		}
	}
	return nil
}
