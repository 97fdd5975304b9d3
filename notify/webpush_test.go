package notify

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/notify/internal/pushtest"
	"github.com/radtrack/radtrack/rules"
)

// decryptAES128GCM is pushtest's RFC 8291 decrypter, proved right on the
// RFC's worked example below.
var decryptAES128GCM = pushtest.Decrypt

func b64url(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecrypterRFC8291Example proves the decrypter right on RFC 8291 §5's
// worked example (Appendix A keys): the exact message body decrypts to
// the exact plaintext, and a flipped bit or the wrong auth secret fails.
func TestDecrypterRFC8291Example(t *testing.T) {
	uaPrivate, err := ecdh.P256().NewPrivateKey(b64url(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(uaPrivate.PublicKey().Bytes()); got != "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4" {
		t.Fatalf("ua_public %s does not match the RFC", got)
	}
	auth := b64url(t, "BTBZMqHH6r4Tts7J_aSIgg")
	body := b64url(t, "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
	plain, err := decryptAES128GCM(body, uaPrivate, auth)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != "When I grow up, I want to be a watermelon" {
		t.Fatalf("plaintext %q", plain)
	}
	if !bytes.Equal(body[:16], b64url(t, "DGv6ra1nlYgDCS1FRnbzlw")) || binary.BigEndian.Uint32(body[16:20]) != 4096 {
		t.Fatal("salt or rs differ from the RFC")
	}
	flipped := bytes.Clone(body)
	flipped[len(flipped)-1] ^= 1
	if _, err := decryptAES128GCM(flipped, uaPrivate, auth); err == nil {
		t.Error("a flipped ciphertext bit decrypted")
	}
	if _, err := decryptAES128GCM(body, uaPrivate, make([]byte, 16)); err == nil {
		t.Error("decrypted with the wrong auth secret")
	}
}

// userAgent is a browser: its subscription keys.
type userAgent struct{ pushtest.UserAgent }

func newUserAgent(t testing.TB) userAgent { return userAgent{pushtest.NewUserAgent(t)} }

func (u userAgent) subscription(endpoint string) *PushSubscription {
	s := &PushSubscription{Endpoint: endpoint}
	s.Keys.P256dh, s.Keys.Auth = u.Keys()
	return s
}

// pushService is the RFC 8030 push service double (notify/internal/pushtest).
type pushService struct{ *pushtest.Service }

func (ps pushService) subscribe(t *testing.T, path string) *PushSubscription {
	s := &PushSubscription{}
	s.Endpoint, s.Keys.P256dh, s.Keys.Auth = ps.Subscribe(t, path)
	return s
}

func newTestWebPush(t *testing.T) (*WebPush, pushService) {
	keys, err := GenerateVAPID()
	if err != nil {
		t.Fatal(err)
	}
	ps := pushService{pushtest.New(t, keys.Public, "mailto:ops@radtrack.example.org")}
	wp, err := NewWebPush(WebPushConfig{Keys: keys, Subject: "mailto:ops@radtrack.example.org", Client: ps.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return wp, ps
}

// TestWebPushDelivers sends every event of an incident's life through the
// library to the double, which verifies VAPID and decrypts each message;
// the payload, the TTL, the Urgency and the Topic are checked exactly.
func TestWebPushDelivers(t *testing.T) {
	wp, ps := newTestWebPush(t)
	sub := ps.subscribe(t, "/push/phone-1")
	want := []struct {
		urgency, ttl, topic string
		pages               bool
		actions             int
	}{
		{"high", "43200", "", true, 1},              // raised, alarm
		{"normal", "3600", "incident-42", false, 1}, // updated
		{"high", "43200", "", true, 1},              // realarmed, critical
		{"normal", "3600", "incident-42", false, 0}, // acknowledged
		{"normal", "3600", "incident-42", false, 0}, // resolved
	}
	for i, e := range lifecycle() {
		d := Delivery{Event: e, Recipient: Recipient{ID: "push:1", Push: sub}}
		if err := wp.Send(context.Background(), d); err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
		got := ps.Received()[i]
		w := want[i]
		if got.Header.Get("Urgency") != w.urgency || got.Header.Get("TTL") != w.ttl || got.Header.Get("Topic") != w.topic {
			t.Errorf("%s: Urgency %q TTL %q Topic %q, want %q %q %q", e.Type, got.Header.Get("Urgency"),
				got.Header.Get("TTL"), got.Header.Get("Topic"), w.urgency, w.ttl, w.topic)
		}
		var p pushPayload
		if err := json.Unmarshal(got.Payload, &p); err != nil {
			t.Fatalf("%s: payload %q: %v", e.Type, got.Payload, err)
		}
		if p.V != 1 || p.Key != d.Key() || p.Event != e.Type || p.Pages != w.pages || p.Incident != 42 ||
			p.Version != int64(i+1) || len(p.Actions) != w.actions || p.URL != "https://radtrack.example.org/#/incidents/42" {
			t.Errorf("%s: payload %+v", e.Type, p)
		}
		if w.actions == 1 && (p.Actions[0].Action != "acknowledge" || p.Actions[0].Title != "Acknowledge") {
			t.Errorf("%s: actions %+v", e.Type, p.Actions)
		}
	}
	var first pushPayload
	json.Unmarshal(ps.Received()[0].Payload, &first)
	if first.Title != "ALARM incident 42 raised: Patrol 7, osmand-abc — peak 2.55 µSv/h" ||
		first.Body != "Patrol 7, osmand-abc — 2.55 µSv/h at Restricted zone A, 34.48265°N 136.16302°E" ||
		*first.PeakUSvh != 2.55 || first.Place != "Restricted zone A, 34.48265°N 136.16302°E" ||
		strings.Join(first.Vehicles, "|") != "Patrol 7|osmand-abc" || first.Severity != rules.SeverityAlarm || first.State != rules.StateRaised {
		t.Errorf("raised payload %+v", first)
	}
}

// TestWebPushGoneAndErrors: 404/410 mean the subscription is gone
// (permanent, ErrSubscriptionGone); 429/5xx are transient with
// Retry-After; 400/413 permanent; broken subscriptions never reach the
// network.
func TestWebPushGoneAndErrors(t *testing.T) {
	wp, ps := newTestWebPush(t)
	send := func(sub *PushSubscription) error {
		return wp.Send(context.Background(), Delivery{Event: lifecycle()[0], Recipient: Recipient{ID: "push:9", Push: sub}})
	}
	for _, c := range []struct {
		status     int
		gone, perm bool
	}{
		{404, true, true}, {410, true, true}, {400, false, true}, {413, false, true}, {403, false, true},
		{429, false, false}, {500, false, false}, {503, false, false},
	} {
		path := fmt.Sprintf("/push/status-%d", c.status)
		sub := ps.subscribe(t, path)
		ps.SetStatus(path, c.status)
		err := send(sub)
		if err == nil || errors.Is(err, ErrSubscriptionGone) != c.gone || IsPermanent(err) != c.perm {
			t.Errorf("%d: %v (gone %v permanent %v)", c.status, err, errors.Is(err, ErrSubscriptionGone), IsPermanent(err))
		}
		if wait, _ := RetryAfter(err); !c.perm && wait != 3*time.Second {
			t.Errorf("%d: Retry-After %v", c.status, wait)
		}
		if strings.Contains(err.Error(), path) {
			t.Errorf("%d: error leaks the subscription path: %v", c.status, err)
		}
	}
	good := ps.subscribe(t, "/push/good")
	for name, sub := range map[string]*PushSubscription{
		"nil":        nil,
		"http":       {Endpoint: strings.Replace(good.Endpoint, "https:", "http:", 1), Keys: good.Keys},
		"short key":  {Endpoint: good.Endpoint, Keys: PushKeys{"AAAA", good.Keys.Auth}},
		"short auth": {Endpoint: good.Endpoint, Keys: PushKeys{good.Keys.P256dh, "AAAA"}},
	} {
		if err := send(sub); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s subscription: %v", name, err)
		}
	}
	if n := len(ps.Received()); n != 0 {
		t.Errorf("%d messages reached the service", n)
	}
	if err := send(good); err != nil {
		t.Errorf("good subscription after the errors: %v", err)
	}
}

// TestWebPushPayloadBound: vehicle names of any length still give a
// payload under the push services' limit, with the facts kept.
func TestWebPushPayloadBound(t *testing.T) {
	wp, ps := newTestWebPush(t)
	sub := ps.subscribe(t, "/push/long")
	e := lifecycle()[0]
	e.Incident.Vehicles = nil
	for i := range 40 {
		e.Incident.Vehicles = append(e.Incident.Vehicles, Vehicle{ID: int64(i), UID: fmt.Sprint("uid-", i), Name: strings.Repeat("Very long vehicle name ", 10) + fmt.Sprint(i)})
	}
	e.Incident.Fence.Name = strings.Repeat("Z", 2000)
	if err := wp.Send(context.Background(), Delivery{Event: e, Recipient: Recipient{ID: "p", Push: sub}}); err != nil {
		t.Fatal(err)
	}
	got := ps.Received()[0].Payload
	var p pushPayload
	if err := json.Unmarshal(got, &p); err != nil || len(got) > maxPushPayload {
		t.Fatalf("%d bytes: %v", len(got), err)
	}
	if *p.PeakUSvh != 2.55 || p.Incident != 42 || len(p.Vehicles) != 1 || p.Severity != rules.SeverityAlarm {
		t.Errorf("trimmed payload lost facts: %+v", p)
	}
}

func TestVAPIDLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vapid.json")
	k1, err := LoadOrCreateVAPID(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v)", st.Mode(), err)
	}
	if len(b64url(t, k1.Public)) != 65 || len(b64url(t, k1.Private)) != 32 || k1.Check() != nil {
		t.Fatalf("keys %+v", k1)
	}
	k2, err := LoadOrCreateVAPID(path)
	if err != nil || k2 != k1 {
		t.Fatalf("reload gave %+v, %v", k2, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// Many starts at once agree on one key pair.
	path2 := filepath.Join(dir, "race.json")
	var wg sync.WaitGroup
	got := make([]VAPIDKeys, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = LoadOrCreateVAPID(path2) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("start %d: %+v %v, first %+v", i, got[i], errs[i], got[0])
		}
	}

	os.Chmod(path, 0o644)
	if _, err := LoadOrCreateVAPID(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key file: %v", err)
	}
	os.Chmod(path, 0o600)
	other, _ := GenerateVAPID()
	mixed, _ := json.Marshal(VAPIDKeys{Public: other.Public, Private: k1.Private})
	os.WriteFile(path, mixed, 0o600)
	if _, err := LoadOrCreateVAPID(path); err == nil {
		t.Error("mismatched key pair accepted")
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := LoadOrCreateVAPID(path); err == nil {
		t.Error("broken key file accepted")
	}
	if _, err := LoadOrCreateVAPID(filepath.Join(dir, "missing-dir", "v.json")); err == nil {
		t.Error("unwritable path accepted")
	}
	if _, err := NewWebPush(WebPushConfig{Keys: k1, Subject: "ops@example.org"}); err == nil {
		t.Error("subject without mailto: accepted")
	}
}
