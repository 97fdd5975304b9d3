package notify

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
)

var testCAP = CAPConfig{Sender: "radtrack@test.example", SenderName: "RadTrack test"}

func renderCAP(t *testing.T, cfg CAPConfig, e Event) (*capAlert, []byte) {
	t.Helper()
	doc, err := RenderCAP(cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	validateCAP(t, doc)
	var a capAlert
	if err := xml.Unmarshal(doc, &a); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if a.XMLName.Space != CAPNamespace {
		t.Fatalf("namespace %q", a.XMLName.Space)
	}
	return &a, doc
}

func param(a *capAlert, name string) string {
	for _, p := range a.Info[0].Parameter {
		if p.ValueName == name {
			return p.Value
		}
	}
	return "<absent>"
}

// TestCAPLifecycle renders one incident's whole life, validates every
// message against the official schema and checks the fields that matter
// to a receiver exactly.
func TestCAPLifecycle(t *testing.T) {
	evs := lifecycle()
	const polygon = "34.47,136.15 34.47,136.18 34.49,136.18 34.49,136.15 34.47,136.15"
	want := []struct {
		id, sent, msgType, refs                string
		urgency, severity, certainty, response string
		circle, peak, note                     string
	}{
		{"radtrack-incident-42-v1", "2025-07-25T19:04:41-00:00", "Alert", "",
			"Immediate", "Severe", "Observed", "Monitor", "34.482648,136.163018 1", "2.55", ""},
		{"radtrack-incident-42-v2", "2025-07-25T19:06:40-00:00", "Update",
			"radtrack@test.example,radtrack-incident-42-v1,2025-07-25T19:04:41-00:00",
			"Immediate", "Severe", "Observed", "Monitor", "34.482648,136.163018 1", "2.55", ""},
		{"radtrack-incident-42-v3", "2025-07-25T19:09:40-00:00", "Update",
			"radtrack@test.example,radtrack-incident-42-v1,2025-07-25T19:04:41-00:00 radtrack@test.example,radtrack-incident-42-v2,2025-07-25T19:06:40-00:00",
			"Immediate", "Extreme", "Observed", "Avoid", "34.48,136.17 1", "123.4", ""},
		{"radtrack-incident-42-v4", "2025-07-25T19:11:40-00:00", "Update",
			"radtrack@test.example,radtrack-incident-42-v1,2025-07-25T19:04:41-00:00 radtrack@test.example,radtrack-incident-42-v2,2025-07-25T19:06:40-00:00 radtrack@test.example,radtrack-incident-42-v3,2025-07-25T19:09:40-00:00",
			"Immediate", "Extreme", "Observed", "Avoid", "34.48,136.17 1", "123.4", ""},
		{"radtrack-incident-42-v5", "2025-07-25T19:44:40-00:00", "Cancel",
			"radtrack@test.example,radtrack-incident-42-v1,2025-07-25T19:04:41-00:00 radtrack@test.example,radtrack-incident-42-v2,2025-07-25T19:06:40-00:00 radtrack@test.example,radtrack-incident-42-v3,2025-07-25T19:09:40-00:00 radtrack@test.example,radtrack-incident-42-v4,2025-07-25T19:11:40-00:00",
			"Past", "Extreme", "Observed", "AllClear", "34.48,136.17 1", "123.4", "Adjudication: innocent: medical"},
	}
	for i, e := range evs {
		a, doc := renderCAP(t, testCAP, e)
		w := want[i]
		got := []string{a.Identifier, a.Sender, a.Sent, a.Status, a.MsgType, a.Scope, a.References, a.Incidents, a.Note}
		exp := []string{w.id, "radtrack@test.example", w.sent, "Actual", w.msgType, "Restricted", w.refs, "radtrack-incident-42", w.note}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: alert fields\n got %q\nwant %q", e.Type, got, exp)
		}
		if a.Restriction == "" {
			t.Errorf("%s: Restricted scope without restriction", e.Type)
		}
		in := a.Info[0]
		got = []string{strings.Join(in.Category, ","), in.Urgency, in.Severity, in.Certainty, strings.Join(in.ResponseType, ","), in.Onset, in.Web}
		exp = []string{"CBRNE", w.urgency, w.severity, w.certainty, w.response, "2025-07-25T19:04:40-00:00", "https://radtrack.example.org/#/incidents/42"}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: info fields\n got %q\nwant %q", e.Type, got, exp)
		}
		if len(in.Area) != 2 || len(in.Area[0].Circle) != 1 || in.Area[0].Circle[0] != w.circle ||
			!reflect.DeepEqual(in.Area[1].Polygon, []string{polygon}) || in.Area[1].AreaDesc != "Fence Restricted zone A" {
			t.Errorf("%s: areas %+v", e.Type, in.Area)
		}
		if p := param(a, "peakDoseRate_uSv_h"); p != w.peak {
			t.Errorf("%s: peak parameter %q, want %q", e.Type, p, w.peak)
		}
		if p := param(a, "vehicles"); p != "Patrol 7 (bgeigie-5002), North; osmand-abc, North" {
			t.Errorf("%s: vehicles parameter %q", e.Type, p)
		}
		if !strings.Contains(in.Headline, "incident 42") || !strings.Contains(in.Description, "Place: Restricted zone A, ") {
			t.Errorf("%s: headline %q description %q", e.Type, in.Headline, in.Description)
		}
		if !bytes.HasPrefix(doc, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">`)) {
			t.Errorf("%s: document start %q", e.Type, doc[:100])
		}
	}
}

// TestCAPValidatorRejects proves the schema check can fail: the same
// alert with the "Z" CAP forbids, and with an unknown category, is
// rejected by xmllint.
func TestCAPValidatorRejects(t *testing.T) {
	doc, err := RenderCAP(testCAP, lifecycle()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{
		{"-00:00</sent>", "Z</sent>"},
		{"<category>CBRNE</category>", "<category>Radiation</category>"},
	} {
		broken := bytes.Replace(doc, []byte(bad[0]), []byte(bad[1]), 1)
		if bytes.Equal(broken, doc) {
			t.Fatalf("%q not in the document", bad[0])
		}
		ft := &fakeT{TB: t}
		func() {
			defer func() { recover() }()
			validateCAP(ft, broken)
		}()
		if !ft.failed {
			t.Errorf("xmllint accepted a document with %q", bad[1])
		}
	}
}

// fakeT captures a Fatal without ending the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Helper()               {}

// TestCAPSeverityTable is the mapping documented in doc.go and README.md.
func TestCAPSeverityTable(t *testing.T) {
	for sev, want := range map[rules.Severity][3]string{
		rules.SeverityCritical: {"Immediate", "Extreme", "Avoid"},
		rules.SeverityAlarm:    {"Immediate", "Severe", "Monitor"},
		rules.SeverityWarning:  {"Expected", "Moderate", "Monitor"},
		rules.SeverityNotice:   {"Future", "Minor", "Monitor"},
		rules.SeverityInfo:     {"Unknown", "Minor", "None"},
	} {
		u, s, r := capSeverity(sev)
		if [3]string{u, s, r} != want {
			t.Errorf("%s: %s/%s/%s, want %v", sev, u, s, r, want)
		}
		e := lifecycle()[0]
		e.Incident.Severity = sev
		renderCAP(t, testCAP, e) // every severity validates
	}
}

func TestCAPStatusAndCertainty(t *testing.T) {
	raised := lifecycle()[0]

	test := raised
	test.Test = true
	if a, _ := renderCAP(t, testCAP, test); a.Status != "Test" || !strings.HasPrefix(a.Info[0].Headline, "[TEST] ") {
		t.Errorf("test notification: status %q headline %q", a.Status, a.Info[0].Headline)
	}
	exercise := raised
	exercise.Incident.Exercise = true
	if a, _ := renderCAP(t, testCAP, exercise); a.Status != "Exercise" {
		t.Errorf("exercise: status %q", a.Status)
	}
	// A resolve adjudicated "test" must still cancel the Actual alerts.
	resolved := lifecycle()[4]
	resolved.Incident.Adjudication = rules.CodeTest
	if a, _ := renderCAP(t, testCAP, resolved); a.Status != "Actual" || a.MsgType != "Cancel" || a.Note != "Adjudication: test" {
		t.Errorf("resolved as test: %s %s %q", a.Status, a.MsgType, a.Note)
	}
	resolved.Incident.Adjudication = rules.CodeFalseAlarm
	if a, _ := renderCAP(t, testCAP, resolved); a.Info[0].Certainty != "Unlikely" {
		t.Errorf("false alarm certainty %q", a.Info[0].Certainty)
	}
	noDose := raised
	noDose.Incident.Peak.DoseUSvh = nil
	if a, _ := renderCAP(t, testCAP, noDose); a.Info[0].Certainty != "Likely" || param(a, "peakDoseRate_uSv_h") != "<absent>" {
		t.Errorf("no dose: certainty %q", a.Info[0].Certainty)
	}
}

func TestCAPAreas(t *testing.T) {
	e := lifecycle()[0]

	// An open ring is closed; a MultiPolygon gives one polygon per part;
	// southern and western coordinates keep their signs, lat first.
	e.Incident.Fence.Geometry = json.RawMessage(`{"type":"MultiPolygon","coordinates":[
		[[[-70.1,-33.4],[-70.0,-33.4],[-70.0,-33.3]]],
		[[[10,50],[11,50],[11,51],[10,51],[10,50]]]]}`)
	e.Incident.Peak.LonLat = [2]float64{-70.05, -33.35}
	a, _ := renderCAP(t, testCAP, e)
	want := []string{"-33.4,-70.1 -33.4,-70 -33.3,-70 -33.4,-70.1", "50,10 50,11 51,11 51,10 50,10"}
	if got := a.Info[0].Area[1].Polygon; !reflect.DeepEqual(got, want) {
		t.Errorf("polygons %q, want %q", got, want)
	}
	if got := a.Info[0].Area[0].Circle; !reflect.DeepEqual(got, []string{"-33.35,-70.05 1"}) {
		t.Errorf("circle %q", got)
	}

	// A fence geometry that cannot be used does not stop the alert.
	e.Incident.Fence.Geometry = json.RawMessage(`{"type":"LineString","coordinates":[[1,2],[3,4]]}`)
	a, _ = renderCAP(t, CAPConfig{Sender: "x@y", CircleKm: 0.25}, e)
	if ar := a.Info[0].Area[1]; len(ar.Polygon) != 0 || ar.AreaDesc != `Fence Restricted zone A (geometry unavailable: geometry type "LineString" is not a polygon)` {
		t.Errorf("bad fence area %+v", ar)
	}
	if got := a.Info[0].Area[0].Circle; !reflect.DeepEqual(got, []string{"-33.35,-70.05 0.25"}) {
		t.Errorf("circle with 0.25 km %q", got)
	}

	// The estimated source position: its ellipse as a closed polygon
	// after the other areas; the document still validates.
	e.Incident.Source = &Source{LonLat: [2]float64{-70.05, -33.35}, Ambiguous: true,
		Ring: [][2]float64{{-70.05, -33.36}, {-70.04, -33.35}, {-70.05, -33.34}, {-70.06, -33.35}}}
	a, _ = renderCAP(t, testCAP, e)
	if ar := a.Info[0].Area[2]; !strings.HasPrefix(ar.AreaDesc, "Estimated source position (95 %)") || !strings.Contains(ar.AreaDesc, "mirror") ||
		!reflect.DeepEqual(ar.Polygon, []string{"-33.36,-70.05 -33.35,-70.04 -33.34,-70.05 -33.35,-70.06 -33.36,-70.05"}) {
		t.Errorf("source area %+v", ar)
	}
	// A ring outside WGS84 is left out rather than stopping the alert.
	e.Incident.Source.Ring[1][1] = 95
	if a, _ = renderCAP(t, testCAP, e); len(a.Info[0].Area) != 2 {
		t.Errorf("areas with a broken source ring: %+v", a.Info[0].Area)
	}
	e.Incident.Source = nil

	// No fix ever: no circle at 0,0.
	e.Incident.Fence = nil
	e.Incident.Peak.LonLat, e.Incident.Peak.GPSValid = [2]float64{0, 0}, false
	a, _ = renderCAP(t, testCAP, e)
	if len(a.Info[0].Area) != 1 || len(a.Info[0].Area[0].Circle) != 0 || !strings.Contains(a.Info[0].Area[0].AreaDesc, "unknown") {
		t.Errorf("no-fix area %+v", a.Info[0].Area)
	}
}

func TestCAPConfigErrors(t *testing.T) {
	for _, c := range []CAPConfig{
		{},
		{Sender: "has space@x"},
		{Sender: "a,b"},
		{Sender: "ok@x", Scope: "Everyone"},
		{Sender: "ok@x", Scope: "Private"},
		{Sender: "ok@x", CircleKm: -1},
		{Sender: "ok@x", IDPrefix: "a b"},
	} {
		if _, err := RenderCAP(c, lifecycle()[0]); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := RenderCAP(testCAP, Event{Type: EventRaised}); !IsPermanent(err) {
		t.Errorf("empty event: %v", err)
	}
	// Private scope with addresses validates and carries them.
	a, _ := renderCAP(t, CAPConfig{Sender: "ok@x", Scope: "Private", Addresses: "ops@fire.example"}, lifecycle()[0])
	if a.Scope != "Private" || a.Addresses != "ops@fire.example" || a.Restriction != "" {
		t.Errorf("private scope: %+v", a)
	}
}

// TestAtomFeed renders a feed of three alerts of two incidents and checks
// its structure and that every embedded alert is valid CAP.
func TestAtomFeed(t *testing.T) {
	evs := lifecycle()
	other := evs[0]
	other.Incident.ID, other.Time = 43, t0.Add(20*time.Minute)
	other.Incident.URL = ""
	list := []Event{evs[0], other, evs[2]}
	doc, err := RenderAtom(FeedConfig{SelfURL: "https://radtrack.example.org/api/v1/cap.atom"}, testCAP, list)
	if err != nil {
		t.Fatal(err)
	}
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  string   `xml:"author>name"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Links   []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Content struct {
				Type  string `xml:"type,attr"`
				Inner []byte `xml:",innerxml"`
			} `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(doc, &feed); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if feed.ID != "https://radtrack.example.org/api/v1/cap.atom" || feed.Title != "RadTrack radiation alerts" ||
		feed.Author != "RadTrack test" || feed.Updated != "2025-07-25T19:24:40Z" ||
		len(feed.Links) != 1 || feed.Links[0].Rel != "self" || feed.Links[0].Href != feed.ID {
		t.Errorf("feed head: %+v", feed)
	}
	if len(feed.Entries) != 3 {
		t.Fatalf("%d entries", len(feed.Entries))
	}
	wantUpdated := []string{"2025-07-25T19:24:40Z", "2025-07-25T19:09:40Z", "2025-07-25T19:04:41Z"}
	ids := map[string]bool{}
	for i, en := range feed.Entries {
		if en.Updated != wantUpdated[i] {
			t.Errorf("entry %d updated %s, want %s (newest first)", i, en.Updated, wantUpdated[i])
		}
		if !strings.HasPrefix(en.ID, "urn:uuid:") || ids[en.ID] {
			t.Errorf("entry %d id %q", i, en.ID)
		}
		ids[en.ID] = true
		if en.Content.Type != "application/cap+xml" {
			t.Errorf("entry %d content type %q", i, en.Content.Type)
		}
		validateCAP(t, append([]byte(xml.Header), en.Content.Inner...))
	}
	if len(feed.Entries[0].Links) != 0 || len(feed.Entries[1].Links) != 1 || feed.Entries[1].Links[0].Href != "https://radtrack.example.org/#/incidents/42" {
		t.Errorf("entry links: %+v / %+v", feed.Entries[0].Links, feed.Entries[1].Links)
	}
	// Same input, same ids: a reader does not see an old alert as new.
	again, _ := RenderAtom(FeedConfig{SelfURL: "https://radtrack.example.org/api/v1/cap.atom"}, testCAP, list)
	if !bytes.Equal(doc, again) {
		t.Error("rendering is not deterministic")
	}

	empty, err := RenderAtom(FeedConfig{SelfURL: "https://x.example/cap.atom"}, testCAP, nil)
	if err != nil || !bytes.Contains(empty, []byte("<updated>1970-01-01T00:00:00Z</updated>")) || bytes.Contains(empty, []byte("<entry>")) {
		t.Errorf("empty feed: %v\n%s", err, empty)
	}
	if _, err := RenderAtom(FeedConfig{SelfURL: "/relative"}, testCAP, nil); err == nil {
		t.Error("relative self URL accepted")
	}
}
