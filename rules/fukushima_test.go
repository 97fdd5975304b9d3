package rules

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

const fukushimaLog = "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log"

// loadFukushima reads the real bGeigie classic drive from ../shared, or
// skips the test if it is absent.
func loadFukushima(t *testing.T) []sample.Sample {
	t.Helper()
	f, err := os.Open(testutil.RadiationFile(t, fukushimaLog))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample.Sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s, ok := parseBGRDD(strings.TrimSpace(sc.Text())); ok {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseBGRDD is a deliberately tiny reader for this one clean file (the real
// decoder lives in ingest): fields 2 time, 3 CPM, 4 counts/5 s, 7–10
// lat/lon ddmm.mmmm with hemisphere, 12 GPS valid. Checksums are ignored.
func parseBGRDD(line string) (sample.Sample, bool) {
	f := strings.Split(line, ",")
	if len(f) < 13 || f[0] != "$BGRDD" {
		return sample.Sample{}, false
	}
	tm, err1 := time.Parse(time.RFC3339, f[2])
	cpm, err2 := strconv.ParseFloat(f[3], 64)
	counts, err3 := strconv.ParseFloat(f[4], 64)
	lat, err4 := nmeaDegrees(f[7], f[8] == "S")
	lon, err5 := nmeaDegrees(f[9], f[10] == "W")
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return sample.Sample{}, false
		}
	}
	s := sample.New()
	s.DeviceID, s.Time, s.ReceivedAt, s.Source = 3, tm, tm, sample.SourceBGeigie
	s.Lat, s.Lon, s.GPSValid = lat, lon, f[12] == "A"
	s.CPM, s.Counts, s.CountInterval, s.RadValid = cpm, counts, 5, f[6] == "A"
	s.DoseRate = cpm / sample.DefaultCPMPerUSvH
	return s, true
}

// nmeaDegrees converts (d)ddmm.mmmm to signed decimal degrees.
func nmeaDegrees(v string, negative bool) (float64, error) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, err
	}
	deg := math.Floor(x / 100)
	d := deg + (x-deg*100)/60
	if negative {
		d = -d
	}
	return d, nil
}

// Replays the real Fukushima drive (1 046 samples) with a level rule at
// 1.0 µSv/h = 334 CPM. Expected numbers computed independently from the
// raw file, from the repo root:
//
//	awk -F, '/^\$BGRDD/{if($4/334>=1.0){n++; if(!hi)runs++; hi=1; if($4+0>max){max=$4+0;t=$3;lat=$8;lon=$10}} else {if(hi)ends++; hi=0}} END{print n, runs, ends, max, t, lat, lon}' ../shared/data/radiation/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log
//	→ 71 2 2 637 2012-07-01T01:52:26Z 3732.0751 14056.7233
//
// i.e. 71 samples over the level in 2 spells, both ending before the log
// does; one unresolved episode spans both; peak 637 CPM.
func TestFukushimaDriveLevelRule(t *testing.T) {
	samples := loadFukushima(t)
	if len(samples) != 1046 {
		t.Fatalf("parsed %d samples, want 1046", len(samples))
	}
	e := newEngine(t, levelRule(1, 1.0), backgroundRule(2))
	var events []Event
	for _, s := range samples {
		events = append(events, e.Evaluate(Input{Sample: s})...)
	}
	perRule := map[int64]map[EventType]int{1: {}, 2: {}}
	for _, ev := range events {
		perRule[ev.Key.RuleID][ev.Type]++
	}
	if got := perRule[1]; got[EventRaised] != 1 || got[EventUpdated] != 70 || got[EventConditionEnded] != 2 {
		t.Errorf("level rule events %v, want 1 raised, 70 updated, 2 condition_ended", got)
	}
	open := e.OpenEpisodes()
	if len(open) != 1 {
		t.Fatalf("%d open episodes, want 1: %+v", len(open), open)
	}
	ep := open[0]
	wantTime := time.Date(2012, 7, 1, 1, 52, 26, 0, time.UTC)
	wantLat, wantLon := 37+32.0751/60, 140+56.7233/60
	if ep.Samples != 71 || ep.PeakDose != 637.0/334 || !ep.PeakTime.Equal(wantTime) ||
		math.Abs(ep.PeakLat-wantLat) > 1e-12 || math.Abs(ep.PeakLon-wantLon) > 1e-12 || ep.ConditionActive {
		t.Errorf("episode %+v\nwant 71 samples, peak %v µSv/h at %v (%v, %v), condition ended", ep, 637.0/334, wantTime, wantLat, wantLon)
	}
	// The ×10 rise of the background along the road (≈ 5 → 46 counts/5 s
	// between 01:45 and 01:52) is followed, not mistaken for a source.
	if got := perRule[2]; len(got) != 0 {
		t.Errorf("background rule events %v on the real drive, want none", got)
	}
}
