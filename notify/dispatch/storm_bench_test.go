package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/emersion/go-smtp"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/internal/pushtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// BenchmarkAlarmStormChannels is the storm: incidents ×
// subscribers across every channel, through the outbox on PostgreSQL
// (SQLite without RADTRACK_TEST_DATABASE_URL): 40 % operators with a
// phone (Web Push to the RFC 8030 double, which checks VAPID and decrypts
// every message), 20 % with an e-mail address (an SMTP server in the
// test), 30 % webhook endpoints spread over 10 gateways (URL and secret
// each), 10 % clients of the real Mosquitto subscribed to the MQTT
// endpoint's topics (one publish per incident reaches them all). Raises are scheduled over RADTRACK_STORM_SPREAD (0: a burst),
// open loop. Latency is from each incident event reaching the dispatcher
// (its scheduled Handle; the hot sample's path to the event is ingest's
// and the alarm engine's, measured by `radtrack bench live`) to the
// arrival of each delivery at its receiver. "each-message" sends every
// delivery as its own message (NoDigests: the behaviour before digests),
// "digests" merges per receiver; both in the same run.
//
//	RADTRACK_STORM_INCIDENTS=100 RADTRACK_STORM_SUBSCRIBERS=1000 RADTRACK_STORM_SPREAD=0s \
//	go test -run '^$' -bench AlarmStormChannels -benchtime 1x ./notify/dispatch
func BenchmarkAlarmStormChannels(b *testing.B) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		b.Skip("no MQTT broker on 127.0.0.1:1883 (scripts/services.sh starts Mosquitto)")
	}
	conn.Close()
	incidents, subs := envInt("RADTRACK_STORM_INCIDENTS", 100), envInt("RADTRACK_STORM_SUBSCRIBERS", 1000)
	spread, _ := time.ParseDuration(os.Getenv("RADTRACK_STORM_SPREAD"))
	sched := schedule{n: incidents, spread: spread}
	for _, mode := range []struct {
		name      string
		noDigests bool
	}{{"each-message", true}, {"digests", false}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				var st Store
				if os.Getenv(pgtest.EnvURL) != "" {
					st = openPG(b, pgtest.NewDatabase(b))
				} else {
					st = openSQLite(b, b.TempDir())
				}
				stormChannels(b, st, sched, subs, mode.noDigests)
			}
		})
	}
}

// channelArrivals notes each key's first arrival and its channel.
type channelArrivals struct {
	*arrivals
	channel  map[string]string
	messages map[string]int // messages received, by channel
}

func (c *channelArrivals) note(channel string, at time.Time, keys ...string) {
	c.arrivals.note(at, keys...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages[channel]++
	for _, k := range keys {
		if _, ok := c.channel[k]; !ok {
			c.channel[k] = channel
		}
	}
}

func stormChannels(b *testing.B, st Store, sched schedule, subs int, noDigests bool) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nPush, nMail, nHook := subs*4/10, subs*2/10, subs*3/10
	nMQTT := subs - nPush - nMail - nHook
	a := &channelArrivals{arrivals: &arrivals{at: make(map[string]time.Time, sched.n*subs), done: make(chan struct{}), want: sched.n * subs},
		channel: map[string]string{}, messages: map[string]int{}}

	// Web Push: the push service double, one subscription per operator.
	keys, err := notify.GenerateVAPID()
	if err != nil {
		b.Fatal(err)
	}
	const subject = "mailto:storm@radtrack.example.org"
	ps := pushtest.New(b, keys.Public, subject)
	tr := ps.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	push, err := notify.NewWebPush(notify.WebPushConfig{Keys: keys, Subject: subject, Client: &http.Client{Transport: tr}})
	if err != nil {
		b.Fatal(err)
	}
	users := st.(store.Users)
	for i := range nPush + nMail {
		u, err := users.CreateUser(ctx, store.User{Username: fmt.Sprint("op", i), Role: "operator", PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		c := store.NotifyContact{UserID: u.ID, Kind: store.ContactEmail, Value: fmt.Sprintf("op%d@storm.test", i)}
		if i < nPush {
			var sub notify.PushSubscription
			sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth = ps.Subscribe(b, fmt.Sprint("/p/", i))
			spec, _ := json.Marshal(sub)
			c = store.NotifyContact{UserID: u.ID, Kind: store.ContactPush, Value: sub.Endpoint, Spec: spec}
		}
		if _, err := st.AddNotifyContact(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	go func() { // the double keeps what it decrypted; collect it as it comes
		seen := 0
		for ctx.Err() == nil {
			got := ps.Received()
			for _, p := range got[seen:] {
				var pl struct {
					Key  string   `json:"key"`
					Keys []string `json:"keys"`
				}
				if err := json.Unmarshal(p.Payload, &pl); err != nil {
					b.Error(err)
				}
				if len(pl.Keys) == 0 {
					pl.Keys = []string{pl.Key}
				}
				a.note(ChannelPush, p.At, pl.Keys...)
			}
			seen = len(got)
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// E-mail: an SMTP server in the test.
	mb := &stormMailbox{a: a}
	smtpSrv := smtp.NewServer(mb)
	smtpSrv.Domain, smtpSrv.ErrorLog = "mx.storm.test", log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go smtpSrv.Serve(ln)
	defer smtpSrv.Close()
	email, err := notify.NewEmail(notify.EmailConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		Security: notify.SMTPStartTLSOpportunistic, From: "RadTrack <radtrack@storm.test>"})
	if err != nil {
		b.Fatal(err)
	}

	// Webhooks: 10 gateways, each its own path and secret.
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		keys, err := webhookKeys(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.note(ChannelWebhook, now, keys...)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hooks.Close()
	var endpoints []int64
	for i := range nHook {
		g := i % 10
		endpoints = append(endpoints, mustDoc(b, st, store.NotifyEndpoint, fmt.Sprint("hook", i),
			EndpointSpec{Kind: KindWebhook, URL: fmt.Sprintf("%s/gw%d", hooks.URL, g), Secret: fmt.Sprintf("%s-gateway-%d", secret, g)}))
	}

	// MQTT: one endpoint (the installation's cluster) on the real broker,
	// and its subscribers as clients of the broker, each counted when the
	// broker hands it the event.
	cluster := "storm-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	endpoints = append(endpoints, mustDoc(b, st, store.NotifyEndpoint, "broker", EndpointSpec{Kind: KindMQTT, Cluster: cluster}))
	for i := range nMQTT {
		sub := mqttSubscriber(b, ctx, fmt.Sprintf("%s-sub%d", cluster, i), "radtrack/"+cluster+"/incidents/+/events", func(p *paho.Publish) {
			now := time.Now()
			var env struct {
				Key string `json:"key"`
			}
			if err := json.Unmarshal(p.Payload, &env); err != nil {
				b.Error(err)
			}
			a.note(KindMQTT, now, fmt.Sprintf("%s#sub%d", env.Key, i))
		})
		defer sub.Disconnect(&paho.Disconnect{})
	}

	pol := mustDoc(b, st, store.NotifyPolicy, "storm", PolicySpec{Steps: []Step{{Roles: []string{"operator"},
		Channels: []string{ChannelPush, ChannelEmail}, Endpoints: endpoints}}})
	mustDoc(b, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
	d, err := New(Config{Store: st, Node: "storm", Push: push, Email: email, MQTT: notify.MQTTConfig{URL: "mqtt://127.0.0.1:1883"},
		NoDigests: noDigests, Log: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close(context.Background()) }) // after Run stops
	runDispatcher(b, d)
	b.StartTimer()
	start := time.Now()
	sevs := []rules.Severity{rules.SeverityAlarm, rules.SeverityCritical, rules.SeverityWarning}
	// RADTRACK_STORM_HANDLERS events are handled at once (default 1, as
	// the node's notifier does).
	events := make(chan notify.Event, sched.n)
	var handlers sync.WaitGroup
	for range envInt("RADTRACK_STORM_HANDLERS", 1) {
		handlers.Go(func() {
			for ev := range events {
				if err := d.Handle(ctx, ev); err != nil {
					b.Error(err)
				}
			}
		})
	}
	handled := sched.run(start, func(i int, at time.Time) {
		events <- event(notify.EventRaised, int64(i+1), 1, at, sevs[i%len(sevs)])
	})
	close(events)
	handlers.Wait()
	b.Logf("handled %d incidents in %s", sched.n, time.Since(start))
	report(b, a.arrivals, start, handled, incidentOfKey)
	b.StopTimer()
	a.mu.Lock()
	defer a.mu.Unlock()
	if sched.spread == 0 {
		// In a burst: when each receiver had its first page (anyone
		// woken needs one buzz; the rest of the storm follows in
		// digests), p99 over receivers, from the storm's start.
		first := map[string]time.Time{}
		for k, t := range a.at {
			parts := strings.SplitN(k, "-", 4) // i<incident>-v<version>-<type>-<receiver>
			if f, ok := first[parts[len(parts)-1]]; !ok || t.Before(f) {
				first[parts[len(parts)-1]] = t
			}
		}
		var lat []time.Duration
		for _, t := range first {
			lat = append(lat, t.Sub(start))
		}
		slices.Sort(lat)
		b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "first-page-p99-ms")
	}
	for _, ch := range []string{ChannelPush, ChannelEmail, ChannelWebhook, KindMQTT} {
		var lat []time.Duration
		for k, t := range a.at {
			if a.channel[k] == ch {
				lat = append(lat, t.Sub(handled[incidentOfKey(k)]))
			}
		}
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "p99-ms-"+ch)
		b.ReportMetric(float64(a.messages[ch]), "msgs-"+ch)
	}
}

// stormMailbox is the storm's SMTP receiver: the keys of each mail (its
// header's, or a digest's from its text) arrive when DATA ends.
type stormMailbox struct{ a *channelArrivals }

func (m *stormMailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &stormMail{m: m}, nil }

type stormMail struct{ m *stormMailbox }

func (s *stormMail) Mail(string, *smtp.MailOptions) error { return nil }
func (s *stormMail) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *stormMail) Reset()                               {}
func (s *stormMail) Logout() error                        { return nil }
func (s *stormMail) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	now := time.Now()
	if msg.Header.Get("X-RadTrack-Event") != "digest" {
		s.m.a.note(ChannelEmail, now, msg.Header.Get("X-RadTrack-Idempotency-Key"))
		return nil
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart() // text/plain, decoded
	if err != nil {
		return err
	}
	text, err := io.ReadAll(part)
	if err != nil {
		return err
	}
	_, list, ok := strings.Cut(string(text), "Idempotency keys: ")
	if !ok {
		return fmt.Errorf("digest mail without its keys")
	}
	list, _, _ = strings.Cut(list, "\n")
	s.m.a.note(ChannelEmail, now, strings.Fields(list)...)
	return nil
}

// mqttSubscriber connects a subscriber to the loopback broker.
func mqttSubscriber(b *testing.B, ctx context.Context, clientID, topic string, got func(*paho.Publish)) *paho.Client {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		b.Fatal(err)
	}
	cli := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { got(pr.Packet); return true, nil }}})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Connect(cctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}); err != nil {
		b.Fatal(err)
	}
	if _, err := cli.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		b.Fatal(err)
	}
	return cli
}

// quietLog keeps a benchmark's output to its figures.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
