package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// TestResult is the outcome of one test notification.
type TestResult struct {
	Recipient string `json:"recipient"`
	Channel   string `json:"channel"`
	OK        bool   `json:"ok"`
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`
}

// testEvent is what "send a test notification" sends: marked Test, so every
// channel renders it as one (CAP status Test, "TEST" in titles).
func testEvent(now time.Time) notify.Event {
	v := now.UnixMicro()
	return notify.Event{Type: notify.EventRaised, Time: now, Test: true, Incident: notify.Incident{
		ID: 1, Version: v, State: rules.StateRaised, Severity: rules.SeverityInfo, Title: "Test notification",
		Rules: []string{"test"}, FirstSeen: now, LastSeen: now, Peak: notify.Peak{Time: now},
	}}
}

// SendTestEndpoint sends a test notification to one endpoint now, outside
// the outbox, and says how it went.
func (d *Dispatcher) SendTestEndpoint(ctx context.Context, id int64) (TestResult, error) {
	ep, err := d.endpoint(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	r := notify.Recipient{ID: "endpoint:" + strconv.FormatInt(id, 10), Name: ep.doc.Name, Email: ep.spec.Address}
	s, err := d.endpointSender(ctx, ep)
	return d.sendTest(ctx, s, err, r, ep.spec.Kind), nil
}

// SendTestUser sends a test notification to every contact of a user.
func (d *Dispatcher) SendTestUser(ctx context.Context, userID int64) ([]TestResult, error) {
	contacts, err := d.st.ListNotifyContacts(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []TestResult{}
	for _, c := range contacts {
		r := notify.Recipient{ID: c.Kind + ":" + strconv.FormatInt(c.ID, 10)}
		if c.Kind == store.ContactPush {
			var sub notify.PushSubscription
			if err := json.Unmarshal(c.Spec, &sub); err == nil {
				r.Push = &sub
			}
		} else {
			r.Email = c.Value
		}
		s, err := d.sender(ctx, c.Kind, 0, map[int64]store.NotifyDoc{})
		out = append(out, d.sendTest(ctx, s, err, r, c.Kind))
	}
	return out, nil
}

func (d *Dispatcher) sendTest(ctx context.Context, s notify.Sender, err error, r notify.Recipient, channel string) TestResult {
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = s.Send(sctx, notify.Delivery{Event: testEvent(d.now()), Recipient: r})
		cancel()
	}
	res := TestResult{Recipient: r.ID, Channel: channel, OK: err == nil}
	if err != nil {
		res.Error = err.Error()
		var ne *notify.Error
		if asErr(err, &ne) {
			res.Status = ne.Status
		}
	}
	return res
}

// Summary is the incident's notification trail in one line, e.g.
// "push to 3 phones, e-mail to 1 address, webhook accepted (2xx) by
// 1 endpoint; 2 pending;
// 1 failed: webhook 503". Each recipient counts once per channel; a
// stored digest counts each recipient of one of the incident's pages,
// and a page dropped from it (acknowledged first) as not sent.
func Summary(incident int64, items []store.OutboxItem) string {
	sent := map[string]map[string]bool{}
	pending, failed, cancelled := 0, 0, 0
	var failures []string
	for _, it := range trailEntries(incident, items) {
		base, _, _ := strings.Cut(it.Recipient, "#")
		switch it.State {
		case store.DeliverySent:
			if sent[it.Channel] == nil {
				sent[it.Channel] = map[string]bool{}
			}
			sent[it.Channel][base] = true
		case store.DeliveryPending:
			pending++
		case store.DeliveryCancelled:
			cancelled++
		case store.DeliveryFailed:
			failed++
			f := it.Channel
			if it.LastStatus != 0 {
				f += " " + strconv.Itoa(it.LastStatus)
			}
			failures = append(failures, f)
		}
	}
	var parts []string
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	channels := make([]string, 0, len(sent))
	for c := range sent {
		channels = append(channels, c)
	}
	sort.Strings(channels)
	for _, c := range channels {
		n := len(sent[c])
		switch c {
		case ChannelPush:
			parts = append(parts, "push to "+plural(n, "phone", "phones"))
		case ChannelEmail:
			parts = append(parts, "e-mail to "+plural(n, "address", "addresses"))
		case ChannelWebhook:
			parts = append(parts, "webhook accepted (2xx) by "+plural(n, "endpoint", "endpoints"))
		case ChannelMQTT:
			parts = append(parts, "MQTT to "+plural(n, "broker topic", "broker topics"))
		}
	}
	out := strings.Join(parts, ", ")
	if out == "" {
		out = "nothing sent"
	}
	if pending > 0 {
		out += fmt.Sprintf("; %d pending", pending)
	}
	if cancelled > 0 {
		out += fmt.Sprintf("; %d not sent (acknowledged first)", cancelled)
	}
	if failed > 0 {
		out += fmt.Sprintf("; %d failed: %s", failed, strings.Join(failures, ", "))
	}
	return out
}

func asErr(err error, target **notify.Error) bool { return errors.As(err, target) }

// trailEntries are items with every stored digest replaced by one entry
// per page of the incident it carries (its recipient, and its state:
// cancelled once dropped).
func trailEntries(incident int64, items []store.OutboxItem) []store.OutboxItem {
	var out []store.OutboxItem
	for _, it := range items {
		if len(it.Covers) == 0 {
			out = append(out, it)
			continue
		}
		pages, err := incidentPages(it, incident)
		if err != nil {
			out = append(out, it) // counted by its row: the trail still shows it
			continue
		}
		for _, dl := range pages {
			e := it
			e.Recipient = dl.Recipient.ID
			if slices.Contains(it.Dropped, incident) {
				e.State = store.DeliveryCancelled // its page did not go (a sent digest records what it carried)
			}
			out = append(out, e)
		}
	}
	return out
}
