package notify

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Atom 1.0 (RFC 4287) feed of CAP alerts, for GET /api/v1/cap.atom: each
// entry carries one CAP alert inline (content type application/cap+xml), as
// CAP feed readers expect.

// FeedConfig describes the feed itself.
type FeedConfig struct {
	// SelfURL is the feed's own absolute URL (its id and rel="self").
	SelfURL string
	Title   string // default "RadTrack radiation alerts"
	Author  string // default the CAP SenderName, else the CAP Sender
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string       `xml:"id"`
	Title     string       `xml:"title"`
	Updated   string       `xml:"updated"`
	Published string       `xml:"published"`
	Link      []atomLink   `xml:"link,omitempty"`
	Category  []atomCat    `xml:"category"`
	Summary   string       `xml:"summary"`
	Content   atomCAPAlert `xml:"content"`
}

type atomCat struct {
	Term string `xml:"term,attr"`
}

type atomCAPAlert struct {
	Type  string    `xml:"type,attr"`
	Alert *capAlert `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// RenderAtom renders events (the latest CAP alerts, any order) as an Atom
// feed, newest first. An empty list gives a valid empty feed.
func RenderAtom(feed FeedConfig, cfg CAPConfig, events []Event) ([]byte, error) {
	u, err := url.Parse(feed.SelfURL)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("notify: Atom self URL %q must be absolute", feed.SelfURL)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if feed.Title == "" {
		feed.Title = "RadTrack radiation alerts"
	}
	if feed.Author == "" {
		feed.Author = cfg.SenderName
	}
	if feed.Author == "" {
		feed.Author = cfg.Sender
	}
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b Event) int { return b.Time.Compare(a.Time) })

	f := atomFeed{
		ID: feed.SelfURL, Title: feed.Title, Author: atomPerson{feed.Author},
		Link:    []atomLink{{Rel: "self", Type: "application/atom+xml", Href: feed.SelfURL}},
		Updated: atomTime(time.Unix(0, 0)),
	}
	if len(sorted) > 0 {
		f.Updated = atomTime(sorted[0].Time)
	}
	for _, e := range sorted {
		a, err := capAlertOf(cfg, e)
		if err != nil {
			return nil, err
		}
		entry := atomEntry{
			// A name-based UUID of (sender, identifier): stable, and a
			// valid IRI whatever the sender looks like.
			ID:        "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(cfg.Sender+","+a.Identifier)).String(),
			Title:     a.Info[0].Headline,
			Updated:   atomTime(e.Time),
			Published: atomTime(e.Time),
			Category:  []atomCat{{Term: a.Info[0].Severity}, {Term: a.MsgType}},
			Summary:   fmt.Sprintf("%s, %s, %s", place(e.Incident), a.Info[0].Urgency, a.Status),
			Content:   atomCAPAlert{Type: "application/cap+xml", Alert: a},
		}
		if e.Incident.URL != "" {
			entry.Link = []atomLink{{Rel: "alternate", Type: "text/html", Href: e.Incident.URL}}
		}
		f.Entries = append(f.Entries, entry)
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, errors.Join(errors.New("notify: Atom"), err)
	}
	return append([]byte(xml.Header), out...), nil
}
