package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/radtrack/radtrack/rules"
)

// MQTT topic layout (cluster = MQTTConfig.Cluster):
//
//	radtrack/<cluster>/incidents/<id>/events  QoS 1, not retained: every event
//	radtrack/<cluster>/incidents/<id>/state   QoS 1, RETAINED: the latest event
//	                                          of an open incident; an empty
//	                                          retained message on resolve
//	                                          deletes it
//
// Subscribing to radtrack/<cluster>/incidents/+/state yields every open
// incident at once (the broker replays retained messages) and then each
// change. One retained message per incident instead of one list: each
// event is published on its own, without reading the others, so two nodes
// or a retry can never overwrite a newer list with an older one, and a
// resolve removes exactly its incident. Payloads are the JSON envelope
// (version 1, as webhooks get it); the idempotency key is in its "key"
// field and in the MQTT 5 user property "idempotency-key".

// MQTTConfig configures the MQTT channel.
type MQTTConfig struct {
	// URL of the broker (RADTRACK_MQTT_URL): mqtt://[user:pass@]host:1883,
	// or mqtts:// / tls:// for TLS. Credentials come from the URL.
	URL string
	// Cluster is the topic segment naming this RadTrack installation
	// (letters, digits, '-', '_'; default "default").
	Cluster string
	// ClientID defaults to "radtrack-notify-<cluster>-<random>".
	ClientID string
	// TLS configures mqtts:// connections (nil: system roots).
	TLS *tls.Config
	// Timeout bounds one Send: waiting for the connection plus the PUBACKs
	// (default 10 s).
	Timeout time.Duration
	// ReconnectMax caps the reconnect backoff (default 10 s, at least
	// 200 ms).
	ReconnectMax time.Duration
	Logger       *slog.Logger
}

// MQTT publishes incident events to a broker. It keeps one connection and
// reconnects on its own (autopaho); Send waits for the connection within
// its deadline.
type MQTT struct {
	cfg MQTTConfig
	cm  *autopaho.ConnectionManager
}

// NewMQTT starts connecting to the broker and returns at once; the first
// Send waits for the connection. Close stops it.
func NewMQTT(ctx context.Context, cfg MQTTConfig) (*MQTT, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("notify: MQTT url %q: want mqtt://host:port", cfg.URL)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "mqtt"
	case "mqtts", "tls", "ssl":
		u.Scheme = "tls"
	default:
		return nil, fmt.Errorf("notify: MQTT url %q: scheme must be mqtt or mqtts", cfg.URL)
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "default"
	}
	if strings.Trim(cfg.Cluster, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return nil, fmt.Errorf("notify: MQTT cluster %q: letters, digits, '-' and '_' only", cfg.Cluster)
	}
	if cfg.ClientID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.ClientID = "radtrack-notify-" + cfg.Cluster + "-" + hex.EncodeToString(b[:])
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 10 * time.Second
	}
	// autopaho panics unless min < initial max <= max.
	cfg.ReconnectMax = max(cfg.ReconnectMax, 200*time.Millisecond)
	backoff := autopaho.NewExponentialBackoff(100*time.Millisecond, cfg.ReconnectMax, min(500*time.Millisecond, cfg.ReconnectMax), 2)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("broker", u.Host)
	acfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        cfg.TLS,
		KeepAlive:                     20,
		CleanStartOnInitialConnection: true,
		ConnectTimeout:                5 * time.Second,
		ReconnectBackoff:              backoff,
		OnConnectionUp: func(*autopaho.ConnectionManager, *paho.Connack) {
			log.Info("mqtt connected")
		},
		OnConnectError: func(err error) { log.Warn("mqtt connect failed", "err", err) },
		ClientConfig:   paho.ClientConfig{ClientID: cfg.ClientID},
	}
	if u.User != nil {
		acfg.ConnectUsername = u.User.Username()
		if p, ok := u.User.Password(); ok {
			acfg.ConnectPassword = []byte(p)
		}
	}
	cm, err := autopaho.NewConnection(ctx, acfg)
	if err != nil {
		return nil, fmt.Errorf("notify: MQTT: %w", err)
	}
	return &MQTT{cfg: cfg, cm: cm}, nil
}

// Close disconnects (within ctx).
func (m *MQTT) Close(ctx context.Context) error { return m.cm.Disconnect(ctx) }

// EventsTopic and StateTopic name an incident's topics.
func (m *MQTT) EventsTopic(incident int64) string { return m.topic(incident, "events") }
func (m *MQTT) StateTopic(incident int64) string  { return m.topic(incident, "state") }

func (m *MQTT) topic(incident int64, leaf string) string {
	return "radtrack/" + m.cfg.Cluster + "/incidents/" + strconv.FormatInt(incident, 10) + "/" + leaf
}

// Send implements Sender: the event on the events topic, then the state
// topic (the event retained, or emptied on resolve), both QoS 1. It
// returns nil once the broker acknowledged both. A failure after the first
// PUBACK is transient and the retry publishes the event again with the
// same idempotency key.
func (m *MQTT) Send(ctx context.Context, d Delivery) error {
	if err := d.validate(); err != nil {
		return err
	}
	body, err := eventJSON(d)
	if err != nil {
		return permanent(0, fmt.Errorf("mqtt payload: %w", err))
	}
	timeout := m.cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := m.cm.AwaitConnection(ctx); err != nil {
		return transient(0, 0, fmt.Errorf("mqtt: broker not connected: %w", err))
	}
	props := &paho.PublishProperties{
		ContentType: "application/json",
		User:        paho.UserProperties{{Key: "idempotency-key", Value: d.Key()}, {Key: "event", Value: string(d.Event.Type)}},
	}
	id := d.Event.Incident.ID
	if err := m.publish(ctx, &paho.Publish{QoS: 1, Topic: m.EventsTopic(id), Payload: body, Properties: props}); err != nil {
		return err
	}
	state := &paho.Publish{QoS: 1, Retain: true, Topic: m.StateTopic(id), Payload: body, Properties: props}
	if d.Event.Type == EventResolved || d.Event.Incident.State == rules.StateResolved {
		state.Payload, state.Properties = nil, nil // deletes the retained message
	}
	return m.publish(ctx, state)
}

func (m *MQTT) publish(ctx context.Context, p *paho.Publish) error {
	resp, err := m.cm.Publish(ctx, p)
	if err == nil {
		return nil
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		// The broker refused (not authorised, topic invalid, quota):
		// retrying the same message will be refused again, except for
		// quota exceeded (0x97), which passes.
		if resp.ReasonCode == 0x97 {
			return transient(int(resp.ReasonCode), 0, fmt.Errorf("mqtt publish %s: %w", p.Topic, err))
		}
		return permanent(int(resp.ReasonCode), fmt.Errorf("mqtt publish %s: %w", p.Topic, err))
	}
	if errors.Is(err, paho.ErrInvalidArguments) {
		return permanent(0, fmt.Errorf("mqtt publish %s: %w", p.Topic, err))
	}
	return transient(0, 0, fmt.Errorf("mqtt publish %s: %w", p.Topic, err))
}
