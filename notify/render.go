package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// The wording every channel shares lives here, so a push, an e-mail and a
// CAP headline say the same thing.

// formatDose writes a dose rate with about three significant digits and no
// exponent: 0.512, 2.55, 12.3, 123, 4560 µSv/h.
func formatDose(d *float64) string {
	if d == nil || math.IsNaN(*d) || math.IsInf(*d, 0) {
		return "no dose reading"
	}
	v := *d
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	}
	return s + " µSv/h"
}

// formatPlace writes a position as degrees with hemispheres (5 decimals,
// about a metre), lat first as people read it.
func formatPlace(lonlat [2]float64) string {
	lon, lat := lonlat[0], lonlat[1]
	ns, ew := "N", "E"
	if lat < 0 {
		ns, lat = "S", -lat
	}
	if lon < 0 {
		ew, lon = "W", -lon
	}
	return fmt.Sprintf("%.5f°%s %.5f°%s", lat, ns, lon, ew)
}

// place is formatPlace plus the fence name when one applies.
func place(inc Incident) string {
	p := formatPlace(inc.Peak.LonLat)
	if !inc.Peak.GPSValid {
		p += " (last known fix)"
	}
	if inc.Fence != nil && inc.Fence.Name != "" {
		p = inc.Fence.Name + ", " + p
	}
	return p
}

// vehicleList names up to limit vehicles and counts the rest.
func vehicleList(vs []Vehicle, limit int) string {
	if len(vs) == 0 {
		return "no vehicle"
	}
	names := make([]string, 0, min(len(vs), limit))
	for i, v := range vs {
		if i == limit {
			break
		}
		names = append(names, v.Label())
	}
	s := strings.Join(names, ", ")
	if len(vs) > limit {
		s += fmt.Sprintf(" +%d more", len(vs)-limit)
	}
	return s
}

// severityLabel is the severity in capitals, as subjects and titles show it.
func severityLabel(s rules.Severity) string { return strings.ToUpper(string(s)) }

// eventPhrase says what happened, for titles and subjects.
func eventPhrase(e Event) string {
	inc := e.Incident
	switch e.Type {
	case EventRaised:
		return "raised"
	case EventRealarmed:
		return "RE-ALARM"
	case EventUpdated:
		return "updated"
	case EventAcknowledged:
		if inc.AckedBy != "" {
			return "acknowledged by " + inc.AckedBy
		}
		return "acknowledged"
	case EventResolved:
		s := "resolved"
		if inc.Adjudication != "" {
			s += " (" + adjudicationLabel(inc.Adjudication) + ")"
		}
		if inc.ResolvedBy != "" {
			s += " by " + inc.ResolvedBy
		}
		return s
	}
	return string(e.Type)
}

func adjudicationLabel(c rules.Code) string {
	switch c {
	case rules.CodeReal:
		return "real"
	case rules.CodeInnocentMedical:
		return "innocent: medical"
	case rules.CodeInnocentNORM:
		return "innocent: NORM"
	case rules.CodeDeclaredShipment:
		return "declared shipment"
	case rules.CodeFalseAlarm:
		return "false alarm"
	case rules.CodeTest:
		return "test"
	}
	return string(c)
}

// title is the one-line summary: subject, push title, CAP headline.
// "[TEST] CRITICAL incident 42 raised: Car 7 — peak 123 µSv/h"
func title(e Event) string {
	var b strings.Builder
	if e.Test {
		b.WriteString("[TEST] ")
	}
	fmt.Fprintf(&b, "%s incident %d %s: %s — peak %s",
		severityLabel(e.Incident.Severity), e.Incident.ID, eventPhrase(e),
		vehicleList(e.Incident.Vehicles, 2), formatDose(e.Incident.Peak.DoseUSvh))
	return b.String()
}

// description is the multi-line plain-text body: e-mail text part, CAP
// description.
func description(e Event) string {
	inc := e.Incident
	var b strings.Builder
	if inc.Title != "" {
		b.WriteString(inc.Title + "\n\n")
	}
	fmt.Fprintf(&b, "Severity: %s\n", inc.Severity)
	fmt.Fprintf(&b, "State: %s\n", inc.State)
	fmt.Fprintf(&b, "Peak dose rate: %s at %s\n", formatDose(inc.Peak.DoseUSvh), formatTime(inc.Peak.Time))
	fmt.Fprintf(&b, "Place: %s\n", place(inc))
	fmt.Fprintf(&b, "Vehicles: %s\n", vehicleDetails(inc.Vehicles))
	if len(inc.Rules) > 0 {
		fmt.Fprintf(&b, "Rules: %s\n", strings.Join(inc.Rules, "; "))
	}
	fmt.Fprintf(&b, "First seen: %s, last seen: %s\n", formatTime(inc.FirstSeen), formatTime(inc.LastSeen))
	if inc.AckedBy != "" {
		fmt.Fprintf(&b, "Acknowledged by %s at %s\n", inc.AckedBy, formatTime(inc.AckedAt))
	}
	if inc.State == rules.StateResolved {
		fmt.Fprintf(&b, "Resolved by %s at %s: %s\n", inc.ResolvedBy, formatTime(inc.ResolvedAt), adjudicationLabel(inc.Adjudication))
	}
	return b.String()
}

func vehicleDetails(vs []Vehicle) string {
	if len(vs) == 0 {
		return "none"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		s := v.Label()
		if v.UID != "" && v.UID != s {
			s += " (" + v.UID + ")"
		}
		if v.Group != "" {
			s += ", " + v.Group
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// instruction is what a recipient should do, by severity.
func instruction(e Event) string {
	switch {
	case e.Type == EventResolved:
		return "No action needed: the incident is closed."
	case e.Incident.Severity == rules.SeverityCritical:
		return "Keep out of the area around the peak (first-responder safety perimeter) until a radiation protection officer clears it. Acknowledge in RadTrack when you take charge."
	case e.Incident.Severity == rules.SeverityAlarm:
		return "Check the vehicle and the area with a survey meter. Acknowledge in RadTrack when you take charge."
	}
	return "Review the incident in RadTrack."
}

// envelope is the JSON of an event as webhooks and MQTT carry it.
type envelope struct {
	V   int    `json:"v"`
	Key string `json:"key"`
	eventBody
}

// eventBody is what every JSON rendering of one event carries (an
// envelope, each event of a webhook digest).
type eventBody struct {
	Event EventType `json:"event"`
	Time  time.Time `json:"time"`
	// Pages tells the receiver to alert a person now (raise, re-alarm).
	Pages    bool     `json:"pages"`
	Test     bool     `json:"test,omitempty"`
	Title    string   `json:"title"`
	Incident Incident `json:"incident"`
}

func bodyOf(e Event) eventBody {
	return eventBody{Event: e.Type, Time: e.Time.UTC(), Pages: e.Type.Pages(), Test: e.Test, Title: title(e), Incident: e.Incident}
}

// eventJSON renders d as the channel-neutral JSON document (version 1).
func eventJSON(d Delivery) ([]byte, error) {
	return json.Marshal(envelope{V: 1, Key: d.Key(), eventBody: bodyOf(d.Event)})
}
