package dispatch

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// mailbox is an SMTP server in the test that keeps every message.
type mailbox struct {
	mu    sync.Mutex
	mails map[string][]*mail.Message // by recipient
	addr  string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }

type mailSession struct {
	m  *mailbox
	to []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for _, to := range s.to {
		s.m.mails[to] = append(s.m.mails[to], msg)
	}
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

func (m *mailbox) count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mails[to])
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{mails: map[string][]*mail.Message{}}
	s := smtp.NewServer(m)
	s.Domain = "mx.test"
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return m
}

// Users are reached by role and by id through the contacts they manage;
// a step's channels choose which contacts; disabled users get nothing.
func TestUsersReachedThroughTheirContacts(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		box := startMailbox(t)
		host, port, _ := net.SplitHostPort(box.addr)
		p, _ := strconv.Atoi(port)
		email, err := notify.NewEmail(notify.EmailConfig{Host: host, Port: p, Security: notify.SMTPStartTLSOpportunistic, From: "RadTrack <radtrack@test>"})
		if err != nil {
			t.Fatal(err)
		}
		user := func(name, role string, disabled bool) store.User {
			u, err := st.(store.Users).CreateUser(ctx, store.User{Username: name, Role: role, PasswordHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if disabled {
				yes := true
				if _, err := st.(store.Users).UpdateUser(ctx, u.ID, store.UserUpdate{Disabled: &yes}); err != nil {
					t.Fatal(err)
				}
			}
			for _, addr := range []string{name + "@test", name + "2@test"} {
				if _, err := st.AddNotifyContact(ctx, store.NotifyContact{UserID: u.ID, Kind: store.ContactEmail, Value: addr}); err != nil {
					t.Fatal(err)
				}
			}
			return u
		}
		user("olga", auth.RoleOperator, false)
		user("otto", auth.RoleOperator, true)
		duty := user("dora", auth.RoleViewer, false)
		user("vic", auth.RoleViewer, false)
		pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{
			{DelayS: 0, Roles: []string{auth.RoleOperator}, Channels: []string{ChannelEmail}},
			{DelayS: 180, Users: []int64{duty.ID}, Channels: []string{ChannelEmail}},
		}})
		mustDoc(t, st, store.NotifyRule, "r", RuleSpec{Policy: pol})
		reg := prometheus.NewRegistry()
		c := &clock{t: t0}
		d, err := New(Config{Store: st, Node: "a", Now: c.Now, Email: email, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		handle(t, d, event(notify.EventRaised, 3, 1, t0, rules.SeverityCritical))
		tick(t, d)
		c.Set(t0.Add(3 * time.Minute))
		tick(t, d)
		want := map[string]int{"olga@test": 1, "olga2@test": 1, "dora@test": 1, "dora2@test": 1}
		for _, who := range []string{"olga", "otto", "dora", "vic"} {
			for _, addr := range []string{who + "@test", who + "2@test"} {
				if n := box.count(addr); n != want[addr] {
					t.Errorf("%s got %d mails, want %d", addr, n, want[addr])
				}
			}
		}
		box.mu.Lock()
		subj := box.mails["dora@test"][0].Header.Get("Subject")
		box.mu.Unlock()
		if subj == "" {
			t.Error("mail without a subject")
		}
		if n := counter(t, d.m.delivered.WithLabelValues(ChannelEmail, "sent")); n != 4 {
			t.Errorf("sent metric %v, want 4", n)
		}
		if n := counter(t, d.m.steps); n != 2 {
			t.Errorf("steps metric %v, want 2", n)
		}
		items, _ := st.IncidentDeliveries(ctx, 3)
		if s := Summary(3, items); s != "e-mail to 4 addresses" {
			t.Errorf("summary %q", s)
		}
	})
}

// An MQTT endpoint publishes to the real broker under its cluster.
func TestMQTTEndpoint(t *testing.T) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		t.Skip("no MQTT broker on 127.0.0.1:1883 (scripts/services.sh starts Mosquitto)")
	}
	got := make(chan *paho.Publish, 10)
	cli := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { got <- pr.Packet; return true, nil }}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cluster := "dispatch-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := cli.Connect(ctx, &paho.Connect{ClientID: cluster + "-sub", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer cli.Disconnect(&paho.Disconnect{})
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "radtrack/" + cluster + "/incidents/+/events", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	st := openSQLite(t, t.TempDir())
	pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: []int64{
		mustDoc(t, st, store.NotifyEndpoint, "broker", EndpointSpec{Kind: KindMQTT, Cluster: cluster})}}}})
	mustDoc(t, st, store.NotifyRule, "r", RuleSpec{Policy: pol})
	d, err := New(Config{Store: st, Node: "a", MQTT: notify.MQTTConfig{URL: "mqtt://127.0.0.1:1883"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	handle(t, d, event(notify.EventRaised, 11, 1, time.Now(), rules.SeverityAlarm))
	tick(t, d)
	select {
	case p := <-got:
		var env struct {
			Event    string `json:"event"`
			Incident struct {
				ID int64 `json:"id"`
			} `json:"incident"`
		}
		if err := json.Unmarshal(p.Payload, &env); err != nil || env.Event != "raised" || env.Incident.ID != 11 ||
			p.Topic != "radtrack/"+cluster+"/incidents/11/events" {
			t.Fatalf("got %s %s (%v)", p.Topic, p.Payload, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no MQTT message")
	}
}

func counter(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
