package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/radtrack/radtrack/internal/faultproxy"
)

const brokerAddr = "127.0.0.1:1883"

// needMosquitto returns the broker address, starting the system's
// Mosquitto when nothing listens on 1883.
func needMosquitto(t *testing.T) string {
	t.Helper()
	if c, err := net.DialTimeout("tcp", brokerAddr, time.Second); err == nil {
		c.Close()
		return brokerAddr
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		unavailable(t, "no MQTT broker on %s and no mosquitto binary (apt-get install mosquitto)", brokerAddr)
	}
	if out, err := exec.Command(bin, "-d", "-c", "/etc/mosquitto/mosquitto.conf").CombinedOutput(); err != nil {
		unavailable(t, "starting mosquitto: %v: %s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", brokerAddr, 200*time.Millisecond); err == nil {
			c.Close()
			return brokerAddr
		}
		time.Sleep(100 * time.Millisecond)
	}
	unavailable(t, "mosquitto started but %s does not answer", brokerAddr)
	return ""
}

type mqttMsg struct {
	topic   string
	payload []byte
	retain  bool
	qos     byte
	key     string
}

// subscriber is a real MQTT 5 client on the broker, independent of the
// sender's connection manager.
func subscriber(t *testing.T, filter string) <-chan mqttMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := net.DialTimeout("tcp", brokerAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan mqttMsg, 100)
	cli := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			m := mqttMsg{topic: pr.Packet.Topic, payload: pr.Packet.Payload, retain: pr.Packet.Retain, qos: pr.Packet.QoS}
			if pr.Packet.Properties != nil {
				m.key = pr.Packet.Properties.User.Get("idempotency-key")
			}
			ch <- m
			return true, nil
		}},
	})
	if _, err := cli.Connect(ctx, &paho.Connect{ClientID: "test-sub-" + randHex(4), CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Disconnect(&paho.Disconnect{}) })
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: filter, QoS: 1, RetainAsPublished: true},
	}}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func expectMsg(t *testing.T, ch <-chan mqttMsg, topic string, retain bool) mqttMsg {
	t.Helper()
	select {
	case m := <-ch:
		if m.topic != topic || m.retain != retain || m.qos != 1 {
			t.Fatalf("got %s retain=%v qos=%d, want %s retain=%v qos=1", m.topic, m.retain, m.qos, topic, retain)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("no message on %s", topic)
	}
	return mqttMsg{}
}

func expectNothing(t *testing.T, ch <-chan mqttMsg, wait time.Duration) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("unexpected message on %s: %s", m.topic, m.payload)
	case <-time.After(wait):
	}
}

func newTestMQTT(t *testing.T, url, cluster string) *MQTT {
	t.Helper()
	m, err := NewMQTT(context.Background(), MQTTConfig{URL: url, Cluster: cluster, ReconnectMax: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

// TestMQTTEventsAndRetainedState: every event arrives QoS 1 on the
// incident's events topic; the state topic holds the open incidents
// (retained) and forgets a resolved one, as a subscriber that connects
// afterwards sees.
func TestMQTTEventsAndRetainedState(t *testing.T) {
	needMosquitto(t)
	cluster := "test-" + randHex(4)
	m := newTestMQTT(t, "mqtt://"+brokerAddr, cluster)
	live := subscriber(t, "radtrack/"+cluster+"/incidents/#")
	ctx := context.Background()
	send := func(e Event) Delivery {
		t.Helper()
		d := Delivery{Event: e, Recipient: Recipient{ID: "mqtt:broker-1"}}
		if err := m.Send(ctx, d); err != nil {
			t.Fatalf("%s of %d: %v", e.Type, e.Incident.ID, err)
		}
		return d
	}
	base := "radtrack/" + cluster + "/incidents/"

	// Incident 43 stays open; remove its retained state when done so the
	// broker's persistence keeps nothing of this test.
	other := lifecycle()[0]
	other.Incident.ID = 43
	t.Cleanup(func() {
		closed := lifecycle()[4]
		closed.Incident.ID = 43
		m.Send(context.Background(), Delivery{Event: closed, Recipient: Recipient{ID: "mqtt:broker-1"}})
	})

	for _, e := range lifecycle() {
		d := send(e)
		ev := expectMsg(t, live, base+"42/events", false)
		st := expectMsg(t, live, base+"42/state", true)
		var env envelope
		if err := json.Unmarshal(ev.payload, &env); err != nil || env.Key != d.Key() || ev.key != d.Key() ||
			env.Event != e.Type || env.Incident.Version != e.Incident.Version {
			t.Fatalf("%s: event payload %s (property key %q): %v", e.Type, ev.payload, ev.key, err)
		}
		if e.Type == EventResolved {
			if len(st.payload) != 0 {
				t.Fatalf("resolve left a retained state: %s", st.payload)
			}
		} else if string(st.payload) != string(ev.payload) {
			t.Fatalf("%s: state %s differs from the event", e.Type, st.payload)
		}
		if e.Type == EventRaised {
			send(other)
			expectMsg(t, live, base+"43/events", false)
			expectMsg(t, live, base+"43/state", true)
		}
	}
	expectNothing(t, live, 200*time.Millisecond)

	// A subscriber arriving now learns the open incidents: 43, not 42.
	late := subscriber(t, base+"+/state")
	st := expectMsg(t, late, base+"43/state", true)
	var env envelope
	if err := json.Unmarshal(st.payload, &env); err != nil || env.Incident.ID != 43 || env.Event != EventRaised {
		t.Fatalf("retained state %s: %v", st.payload, err)
	}
	expectNothing(t, late, 500*time.Millisecond)
}

// TestMQTTReconnect: the broker connection drops (a proxy cuts it and
// refuses new ones); Send fails transiently within its deadline; when the
// broker is reachable again the connection comes back by itself and the
// retried event arrives.
func TestMQTTReconnect(t *testing.T) {
	needMosquitto(t)
	proxy := faultproxy.Start(t, brokerAddr)
	cluster := "test-" + randHex(4)
	m := newTestMQTT(t, "mqtt://"+proxy.Addr(), cluster)
	live := subscriber(t, "radtrack/"+cluster+"/incidents/+/events")
	t.Cleanup(func() {
		closed := lifecycle()[4]
		m.Send(context.Background(), Delivery{Event: closed, Recipient: Recipient{ID: "mqtt:1"}})
	})
	evs := lifecycle()
	deliver := func(e Event, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return m.Send(ctx, Delivery{Event: e, Recipient: Recipient{ID: "mqtt:1"}})
	}
	if err := deliver(evs[0], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, live, "radtrack/"+cluster+"/incidents/42/events", false)

	proxy.Down()
	err := within(t, 3*time.Second, func() error { return deliver(evs[1], time.Second) })
	if err == nil || IsPermanent(err) {
		t.Fatalf("send while the broker is cut off: %v", err)
	}
	expectNothing(t, live, 200*time.Millisecond)

	proxy.Up()
	if err := deliver(evs[1], 10*time.Second); err != nil {
		t.Fatalf("retry after the broker came back: %v", err)
	}
	got := expectMsg(t, live, "radtrack/"+cluster+"/incidents/42/events", false)
	var env envelope
	if err := json.Unmarshal(got.payload, &env); err != nil || env.Event != EventUpdated {
		t.Fatalf("after reconnect: %s %v", got.payload, err)
	}
}

func TestMQTTConfigErrors(t *testing.T) {
	for _, c := range []MQTTConfig{
		{URL: "http://127.0.0.1:1883"},
		{URL: "not a url"},
		{URL: "mqtt://127.0.0.1:1883", Cluster: "a/b"},
		{URL: "mqtt://127.0.0.1:1883", Cluster: "+"},
	} {
		if m, err := NewMQTT(context.Background(), c); err == nil {
			m.Close(context.Background())
			t.Errorf("config %+v accepted", c)
		}
	}
}
