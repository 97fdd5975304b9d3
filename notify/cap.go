package notify

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// CAP 1.2 (OASIS Common Alerting Protocol, also ITU-T X.1303): every
// incident event becomes one <alert>. The mapping is in doc.go and
// README.md; keep all three in step.

// CAPNamespace is the XML namespace of CAP 1.2.
const CAPNamespace = "urn:oasis:names:tc:emergency:cap:1.2"

// CAPConfig is what CAP needs beyond the incident.
type CAPConfig struct {
	// Sender identifies this system, e.g. "radtrack@cluster1.example.org"
	// (no spaces, commas, '<' or '&').
	Sender string
	// SenderName is the human-readable sender, e.g. "RadTrack, Prefecture
	// X radiation patrol" (optional).
	SenderName string
	// IDPrefix starts every identifier (default "radtrack"); give each
	// cluster its own so identifiers stay unique per sender.
	IDPrefix string
	// Scope is Public, Restricted (the default: unadjudicated radiation
	// alarms are for emergency staff, not the public) or Private.
	Scope string
	// Restriction explains a Restricted scope (a default text is used).
	Restriction string
	// Addresses lists the recipients of a Private scope (CAP syntax).
	Addresses string
	// CircleKm is the radius of the area around the peak (default 1 km).
	CircleKm float64
	// Language is the info language (default "en-US").
	Language string
}

func (c CAPConfig) check() error {
	if c.Sender == "" || strings.ContainsAny(c.Sender, " \t\r\n,<&") {
		return fmt.Errorf("notify: CAP sender %q: required, without spaces, commas, '<' or '&'", c.Sender)
	}
	if strings.ContainsAny(c.IDPrefix, " \t\r\n,<&") {
		return fmt.Errorf("notify: CAP id prefix %q: no spaces, commas, '<' or '&'", c.IDPrefix)
	}
	switch c.Scope {
	case "", "Public", "Restricted":
	case "Private":
		if strings.TrimSpace(c.Addresses) == "" {
			return errors.New("notify: CAP scope Private needs addresses")
		}
	default:
		return fmt.Errorf("notify: CAP scope %q: want Public, Restricted or Private", c.Scope)
	}
	if c.CircleKm < 0 || math.IsNaN(c.CircleKm) || math.IsInf(c.CircleKm, 0) {
		return fmt.Errorf("notify: CAP circle radius %v km", c.CircleKm)
	}
	return nil
}

func (c CAPConfig) withDefaults() CAPConfig {
	if c.IDPrefix == "" {
		c.IDPrefix = "radtrack"
	}
	if c.Scope == "" {
		c.Scope = "Restricted"
	}
	if c.Scope == "Restricted" && c.Restriction == "" {
		c.Restriction = "For emergency services and radiation protection staff; not adjudicated for public release."
	}
	if c.CircleKm == 0 {
		c.CircleKm = 1
	}
	if c.Language == "" {
		c.Language = "en-US"
	}
	return c
}

type capAlert struct {
	XMLName     xml.Name  `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier  string    `xml:"identifier"`
	Sender      string    `xml:"sender"`
	Sent        string    `xml:"sent"`
	Status      string    `xml:"status"`
	MsgType     string    `xml:"msgType"`
	Source      string    `xml:"source,omitempty"`
	Scope       string    `xml:"scope"`
	Restriction string    `xml:"restriction,omitempty"`
	Addresses   string    `xml:"addresses,omitempty"`
	Note        string    `xml:"note,omitempty"`
	References  string    `xml:"references,omitempty"`
	Incidents   string    `xml:"incidents,omitempty"`
	Info        []capInfo `xml:"info"`
}

type capInfo struct {
	Language     string     `xml:"language,omitempty"`
	Category     []string   `xml:"category"`
	Event        string     `xml:"event"`
	ResponseType []string   `xml:"responseType,omitempty"`
	Urgency      string     `xml:"urgency"`
	Severity     string     `xml:"severity"`
	Certainty    string     `xml:"certainty"`
	Onset        string     `xml:"onset,omitempty"`
	SenderName   string     `xml:"senderName,omitempty"`
	Headline     string     `xml:"headline,omitempty"`
	Description  string     `xml:"description,omitempty"`
	Instruction  string     `xml:"instruction,omitempty"`
	Web          string     `xml:"web,omitempty"`
	Parameter    []capValue `xml:"parameter,omitempty"`
	Area         []capArea  `xml:"area,omitempty"`
}

type capValue struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

type capArea struct {
	AreaDesc string   `xml:"areaDesc"`
	Polygon  []string `xml:"polygon,omitempty"`
	Circle   []string `xml:"circle,omitempty"`
}

// capTime writes CAP's dateTime: seconds, numeric offset, and UTC as
// "-00:00" (CAP 1.2 §3.3.2 forbids "Z").
func capTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05") + "-00:00"
}

// capIdentifier is stable per incident and version, so a re-sent event
// carries the same identifier and earlier ones can be referenced.
func capIdentifier(cfg CAPConfig, incident int64, version int64) string {
	return fmt.Sprintf("%s-incident-%d-v%d", cfg.IDPrefix, incident, version)
}

// capMsgType: a raise is an Alert, a resolve cancels the thread, every
// other change (re-alarm, update, acknowledgement) updates it.
func capMsgType(t EventType) string {
	switch t {
	case EventRaised:
		return "Alert"
	case EventResolved:
		return "Cancel"
	}
	return "Update"
}

// capStatus: Test for test notifications, Exercise during exercises, else
// Actual. A resolve with adjudication "test" (a check source, a drill
// nobody declared) stays Actual: receivers discard Test messages, and the
// Cancel must reach everyone who got the earlier Actual alerts; the
// adjudication is in <note>.
func capStatus(e Event) string {
	switch {
	case e.Test:
		return "Test"
	case e.Incident.Exercise:
		return "Exercise"
	}
	return "Actual"
}

// capSeverity maps our severity to CAP urgency, severity and response.
func capSeverity(s rules.Severity) (urgency, severity, response string) {
	switch s {
	case rules.SeverityCritical:
		return "Immediate", "Extreme", "Avoid"
	case rules.SeverityAlarm:
		return "Immediate", "Severe", "Monitor"
	case rules.SeverityWarning:
		return "Expected", "Moderate", "Monitor"
	case rules.SeverityNotice:
		return "Future", "Minor", "Monitor"
	}
	return "Unknown", "Minor", "None"
}

// capCertainty: Observed when a dose was measured (a reading above a level
// is an observation), Likely for incidents without a dose reading (a fence
// crossing, a statistical background test), Unlikely once adjudicated a
// false alarm.
func capCertainty(inc Incident) string {
	switch {
	case inc.Adjudication == rules.CodeFalseAlarm:
		return "Unlikely"
	case inc.Peak.DoseUSvh != nil:
		return "Observed"
	}
	return "Likely"
}

// RenderCAP renders e as one CAP 1.2 alert document (UTF-8, with the XML
// declaration).
func RenderCAP(cfg CAPConfig, e Event) ([]byte, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	a, err := capAlertOf(cfg.withDefaults(), e)
	if err != nil {
		return nil, err
	}
	out, err := xml.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("notify: CAP: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

func capAlertOf(cfg CAPConfig, e Event) (*capAlert, error) {
	if !e.Type.Valid() || e.Time.IsZero() || e.Incident.ID <= 0 || e.Incident.Version <= 0 {
		return nil, fmt.Errorf("%w: CAP needs an event type, time, incident id and version", ErrInvalid)
	}
	inc := e.Incident
	urgency, severity, response := capSeverity(inc.Severity)
	if e.Type == EventResolved {
		urgency, response = "Past", "AllClear"
	}
	a := &capAlert{
		Identifier: capIdentifier(cfg, inc.ID, inc.Version),
		Sender:     cfg.Sender,
		Sent:       capTime(e.Time),
		Status:     capStatus(e),
		MsgType:    capMsgType(e.Type),
		Scope:      cfg.Scope,
		Incidents:  fmt.Sprintf("%s-incident-%d", cfg.IDPrefix, inc.ID),
	}
	switch cfg.Scope {
	case "Restricted":
		a.Restriction = cfg.Restriction
	case "Private":
		a.Addresses = cfg.Addresses
	}
	if e.Type == EventResolved && inc.Adjudication != "" {
		a.Note = "Adjudication: " + adjudicationLabel(inc.Adjudication)
	}
	if a.MsgType != "Alert" {
		refs := make([]string, 0, len(e.History))
		for _, r := range e.History {
			if r.Version >= inc.Version {
				continue // only earlier messages
			}
			refs = append(refs, cfg.Sender+","+capIdentifier(cfg, inc.ID, r.Version)+","+capTime(r.Time))
		}
		a.References = strings.Join(refs, " ")
	}
	info := capInfo{
		Language:     cfg.Language,
		Category:     []string{"CBRNE"},
		Event:        "Radiation alarm",
		ResponseType: []string{response},
		Urgency:      urgency,
		Severity:     severity,
		Certainty:    capCertainty(inc),
		SenderName:   cfg.SenderName,
		Headline:     title(e),
		Description:  description(e),
		Instruction:  instruction(e),
		Web:          inc.URL,
		Parameter:    capParameters(inc),
	}
	if !inc.FirstSeen.IsZero() {
		info.Onset = capTime(inc.FirstSeen)
	}
	info.Area = capAreas(cfg, inc)
	a.Info = []capInfo{info}
	return a, nil
}

func capParameters(inc Incident) []capValue {
	var ps []capValue
	add := func(n, v string) { ps = append(ps, capValue{n, v}) }
	if d := inc.Peak.DoseUSvh; d != nil && !math.IsNaN(*d) && !math.IsInf(*d, 0) {
		add("peakDoseRate_uSv_h", strconv.FormatFloat(*d, 'f', -1, 64))
	}
	if !inc.Peak.Time.IsZero() {
		add("peakTime", capTime(inc.Peak.Time))
	}
	if len(inc.Vehicles) > 0 {
		add("vehicles", vehicleDetails(inc.Vehicles))
	}
	if len(inc.Rules) > 0 {
		add("rules", strings.Join(inc.Rules, "; "))
	}
	add("incidentState", string(inc.State))
	add("radtrackSeverity", string(inc.Severity))
	if inc.AckedBy != "" {
		add("acknowledgedBy", inc.AckedBy)
	}
	if inc.Adjudication != "" {
		add("adjudication", string(inc.Adjudication))
	}
	return ps
}

// capAreas: a circle around the peak ("lat,lon radius_km", lat first),
// the fence's polygons ("lat,lon" pairs, closed) and the estimated source
// position's 95 % ellipse as a polygon. Holes of a fence cannot
// be said in CAP and are left out (the area is then larger, never
// smaller). A fence geometry that does not parse is left out with a word
// in areaDesc: a broken fence must not stop an alarm.
func capAreas(cfg CAPConfig, inc Incident) []capArea {
	var areas []capArea
	lon, lat := inc.Peak.LonLat[0], inc.Peak.LonLat[1]
	known := inc.Peak.GPSValid || lon != 0 || lat != 0
	if known && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
		desc := fmt.Sprintf("Within %s km of the peak dose rate at %s", capNumber(cfg.CircleKm), formatPlace(inc.Peak.LonLat))
		if !inc.Peak.GPSValid {
			desc += " (last known GPS fix)"
		}
		areas = append(areas, capArea{
			AreaDesc: desc,
			Circle:   []string{capPoint(lon, lat) + " " + capNumber(cfg.CircleKm)},
		})
	} else {
		areas = append(areas, capArea{AreaDesc: "Position of the peak dose rate unknown (no GPS fix)"})
	}
	if inc.Fence != nil {
		desc := "Fence " + inc.Fence.Name
		polys, err := capPolygons(inc.Fence.Geometry)
		if err != nil {
			desc += " (geometry unavailable: " + err.Error() + ")"
		}
		areas = append(areas, capArea{AreaDesc: desc, Polygon: polys})
	}
	if src := inc.Source; src != nil {
		if poly, err := capRing(src.Ring); err == nil {
			desc := "Estimated source position (95 %)"
			if src.Ambiguous {
				desc += "; a mirror position across the road is as likely"
			}
			areas = append(areas, capArea{AreaDesc: desc, Polygon: []string{poly}})
		}
	}
	return areas
}

// capRing is a CAP polygon ("lat,lon" pairs, closed) of a ring of
// [lon, lat].
func capRing(ring [][2]float64) (string, error) {
	pts := make([]string, 0, len(ring)+1)
	for _, c := range ring {
		if c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
			return "", errors.New("coordinate outside WGS84")
		}
		pts = append(pts, capPoint(c[0], c[1]))
	}
	if len(pts) > 0 && pts[0] != pts[len(pts)-1] {
		pts = append(pts, pts[0]) // CAP polygons are closed
	}
	if len(pts) < 4 {
		return "", errors.New("ring with fewer than 4 points")
	}
	return strings.Join(pts, " "), nil
}

func capNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// capPoint writes "lat,lon" (CAP order, WGS84) with 6 decimals trimmed.
func capPoint(lon, lat float64) string {
	f := func(v float64) string {
		s := strconv.FormatFloat(v, 'f', 6, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		if s == "-0" {
			s = "0"
		}
		return s
	}
	return f(lat) + "," + f(lon)
}

// capPolygons turns a GeoJSON Polygon or MultiPolygon ([lon, lat]) into CAP
// polygons, one per outer ring.
func capPolygons(geometry json.RawMessage) ([]string, error) {
	if len(geometry) == 0 {
		return nil, errors.New("no geometry")
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(geometry, &g); err != nil {
		return nil, errors.New("not GeoJSON")
	}
	var outer [][][]float64
	switch g.Type {
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil || len(rings) == 0 {
			return nil, errors.New("bad Polygon coordinates")
		}
		outer = append(outer, rings[0])
	case "MultiPolygon":
		var polys [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil || len(polys) == 0 {
			return nil, errors.New("bad MultiPolygon coordinates")
		}
		for _, p := range polys {
			if len(p) == 0 {
				return nil, errors.New("bad MultiPolygon coordinates")
			}
			outer = append(outer, p[0])
		}
	default:
		return nil, fmt.Errorf("geometry type %q is not a polygon", g.Type)
	}
	out := make([]string, 0, len(outer))
	for _, ring := range outer {
		pts := make([][2]float64, len(ring))
		for i, c := range ring {
			if len(c) < 2 {
				return nil, errors.New("coordinate outside WGS84")
			}
			pts[i] = [2]float64{c[0], c[1]}
		}
		poly, err := capRing(pts)
		if err != nil {
			return nil, err
		}
		out = append(out, poly)
	}
	return out, nil
}
