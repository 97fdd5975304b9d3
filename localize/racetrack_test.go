package localize

import (
	"math"
	"os"
	"testing"

	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest/n42"
)

const racetrackPath = "../../shared/data/radiation/interspec_racetrack_drive_2024-10-20.n42"

// On the real race-track drive (a NaI system, 153 one-second spectra, a
// source pass peaking around readings 66–71), the estimate lies where the
// pass peaked: its nearest fix is one of the peak's, and the place the
// peak's width puts the source (a straight pass at distance d has a count
// excess of full width at half maximum 2·d·√(2^⅔ − 1) along the road) is
// inside its ellipse.
func TestRacetrackEstimateWherePassPeaked(t *testing.T) {
	f, err := os.Open(racetrackPath)
	if err != nil {
		t.Skipf("shared data not here: %v", err)
	}
	defer f.Close()
	doc, err := n42.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Gamma counts are only in the spectra.
	s := WithSpectrumCounts(doc.Samples, importer.Spectra(doc, 0, map[string]int{}))
	peak := 0
	for i := range s {
		if s[i].Counts > s[peak].Counts {
			peak = i
		}
	}
	fr := NewFrame(s[peak].Lat, s[peak].Lon)
	rs := fr.Readings(s, 0, 0)
	if len(rs) != 153 {
		t.Fatalf("%d readings, want 153", len(rs))
	}
	est, err := Fit(rs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("estimate (%.1f, %.1f) m from the peak fix, A %.3g±%.2g cps·m², ellipse %.1f×%.1f m az %.0f°, dispersion %.1f, ambiguous %v, TS %.0f, background %.0f cps",
		est.X, est.Y, est.Strength, est.StrengthSE(), est.Ellipse.SemiMajorM, est.Ellipse.SemiMinorM, est.Ellipse.AzimuthDeg, est.Dispersion, est.Ambiguous, est.TS, est.Background[0])
	// Over the whole drive one constant background would span two
	// stretches of road whose rates differ (~350 cps halved): read as an
	// excess, that step could mimic the source, and the fit was not
	// significant (TS / scale 16, then 18). The pass's background steps
	// there now (steps.go), and the source is significant again.
	t.Logf("whitened %v, scale %.1f, significance scale %.1f, significant %v, background step %v", est.Whitened, est.Scale(), est.SignificanceScale(), est.Significant(), est.f.hasStep(0))
	if !est.OK || !est.Significant() || !est.f.hasStep(0) {
		t.Fatalf("no significant source over a stepped background: %+v", est)
	}
	// The fixes whose counts exceed the background by half the peak's
	// excess.
	bkg := est.Background[0]
	half := bkg + (s[peak].Counts/s[peak].CountInterval-bkg)/2
	first, last := -1, -1
	for i := range s {
		if s[i].Counts/s[i].CountInterval >= half {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	nearest, nd := -1, math.Inf(1)
	for i := range s {
		x, y := fr.ToXY(s[i].Lat, s[i].Lon)
		if d := math.Hypot(est.X-x, est.Y-y); d < nd {
			nearest, nd = i, d
		}
	}
	t.Logf("half maximum over fixes %d–%d, nearest fix to the estimate %d at %.1f m", first, last, nearest, nd)
	if nearest < first || nearest > last {
		t.Errorf("nearest fix %d outside the peak %d–%d", nearest, first, last)
	}
	// Width: the path from the first to one past the last fix above half
	// maximum (each reading covers one second from its fix onwards).
	x0, y0 := fr.ToXY(s[first].Lat, s[first].Lon)
	x1, y1 := fr.ToXY(s[last+1].Lat, s[last+1].Lon)
	fwhm := math.Hypot(x1-x0, y1-y0)
	d := fwhm / (2 * math.Sqrt(math.Cbrt(4)-1))
	// The point at distance d from the estimate's foot on the road, on
	// the estimate's side.
	xn, yn := fr.ToXY(s[nearest].Lat, s[nearest].Lon)
	ux, uy := (est.X-xn)/nd, (est.Y-yn)/nd
	t.Logf("FWHM %.0f m → distance %.0f m; fit's distance %.0f m", fwhm, d, nd)
	if !est.Contains(xn+d*ux, yn+d*uy) {
		t.Errorf("the width's distance %.0f m is outside the ellipse (fit %.0f m)", d, nd)
	}
}
