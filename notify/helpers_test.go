package notify

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// unavailable skips the test outside CI and fails it in CI, where a skip
// would hide a gap.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func dose(v float64) *float64 { return &v }

var (
	t0 = time.Date(2025, 7, 25, 19, 4, 40, 0, time.UTC)
	// A fence around the hot stretch, GeoJSON [lon, lat], not closed on
	// purpose in one test; this one is closed.
	fenceGeometry = json.RawMessage(`{"type":"Polygon","coordinates":[[[136.15,34.47],[136.18,34.47],[136.18,34.49],[136.15,34.49],[136.15,34.47]],[[136.16,34.48],[136.17,34.48],[136.17,34.485],[136.16,34.48]]]}`)
)

// incident is a realistic open incident: two vehicles, OIL3 and the
// notice level, a peak at 2.55 µSv/h inside a restricted zone.
func incident() Incident {
	return Incident{
		ID: 42, Version: 1, State: rules.StateRaised, Severity: rules.SeverityAlarm,
		Title: "Dose rate above IAEA OIL3 near the harbour",
		Rules: []string{"IAEA OIL3 (1 µSv/h)", "Dose rate notice (0.5 µSv/h)"},
		Vehicles: []Vehicle{
			{ID: 7, UID: "bgeigie-5002", Name: "Patrol 7", Group: "North"},
			{ID: 9, UID: "osmand-abc", Name: "", Group: "North"},
		},
		Peak: Peak{
			DoseUSvh: dose(2.55), Time: t0.Add(30 * time.Second),
			LonLat: [2]float64{136.163018, 34.482648}, GPSValid: true,
		},
		FirstSeen: t0, LastSeen: t0.Add(90 * time.Second),
		Fence: &Fence{ID: 3, Name: "Restricted zone A", Geometry: fenceGeometry},
		URL:   "https://radtrack.example.org/#/incidents/42",
	}
}

// lifecycle is one incident's events: raised, updated, realarmed,
// acknowledged, resolved, each with the history before it.
func lifecycle() []Event {
	inc := incident()
	var evs []Event
	var hist []EventRef
	add := func(t EventType, at time.Time, change func(*Incident)) {
		inc.Version = int64(len(evs) + 1)
		change(&inc)
		e := Event{Type: t, Time: at, Incident: inc, History: append([]EventRef(nil), hist...)}
		evs = append(evs, e)
		hist = append(hist, e.Ref())
	}
	add(EventRaised, t0.Add(time.Second), func(*Incident) {})
	add(EventUpdated, t0.Add(2*time.Minute), func(i *Incident) { i.LastSeen = t0.Add(2 * time.Minute) })
	add(EventRealarmed, t0.Add(5*time.Minute), func(i *Incident) {
		i.Severity = rules.SeverityCritical
		i.Rules = append(i.Rules, "IAEA OIL2 (100 µSv/h), first-responder safety perimeter")
		i.Peak = Peak{DoseUSvh: dose(123.4), Time: t0.Add(5 * time.Minute), LonLat: [2]float64{136.17, 34.48}, GPSValid: true}
	})
	add(EventAcknowledged, t0.Add(7*time.Minute), func(i *Incident) {
		i.State, i.AckedBy, i.AckedAt = rules.StateAcknowledged, "duty.officer", t0.Add(7*time.Minute)
	})
	add(EventResolved, t0.Add(40*time.Minute), func(i *Incident) {
		i.State, i.ResolvedBy, i.ResolvedAt, i.Adjudication = rules.StateResolved, "rpo.kato", t0.Add(40*time.Minute), rules.CodeInnocentMedical
	})
	return evs
}

// xmllint finds the validator (Debian libxml2-utils).
func xmllint(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		unavailable(t, "xmllint not found (apt-get install libxml2-utils): the CAP XSD check cannot run")
	}
	return p
}

// validateCAP validates doc against the official CAP 1.2 schema and fails
// the test with xmllint's message if it does not conform.
func validateCAP(t testing.TB, doc []byte) {
	t.Helper()
	bin := xmllint(t)
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", filepath.Join("testdata", "CAP-v1.2.xsd"), f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Fatalf("CAP document does not validate against CAP-v1.2.xsd: %v\n%s\n%s", err, out, doc)
	}
}

// within runs send and fails the test if it does not return in limit: a
// missing deadline fails fast instead of hanging the suite.
func within(t *testing.T, limit time.Duration, send func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- send() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("send did not return within %v", limit)
	}
	return nil
}
