package notify

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// decryptAES128GCM is the user agent's side of RFC 8291 §3.4 with the
// content coding of RFC 8188 §2, written from the RFCs for this test (it
// shares nothing with the library under test): ECDH P-256, HKDF-SHA256,
// AES-128-GCM, one record.
func decryptAES128GCM(body []byte, uaPrivate *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	// Header: salt(16) | rs(4) | idlen(1) | keyid(idlen) — here as_public.
	if len(body) < 21 {
		return nil, errors.New("short header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid length %d", idlen)
	}
	asPublicBytes, ciphertext := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || uint32(len(ciphertext)) > rs {
		return nil, fmt.Errorf("record size %d, ciphertext %d: want one record", rs, len(ciphertext))
	}
	asPublic, err := ecdh.P256().NewPublicKey(asPublicBytes)
	if err != nil {
		return nil, err
	}
	ecdhSecret, err := uaPrivate.ECDH(asPublic)
	if err != nil {
		return nil, err
	}
	// key_info = "WebPush: info" || 0x00 || ua_public || as_public
	keyInfo := append([]byte("WebPush: info\x00"), uaPrivate.PublicKey().Bytes()...)
	keyInfo = append(keyInfo, asPublicBytes...)
	ikm, err := hkdf.Key(sha256.New, ecdhSecret, authSecret, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, err
	}
	// The last record ends with the delimiter 0x02 followed by zero
	// padding (RFC 8188 §2).
	end := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if end < 0 || plain[end] != 0x02 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

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
type userAgent struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newUserAgent(t testing.TB) userAgent {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return userAgent{k, auth}
}

func (u userAgent) subscription(endpoint string) *PushSubscription {
	s := &PushSubscription{Endpoint: endpoint}
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(u.priv.PublicKey().Bytes())
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(u.auth)
	return s
}

// pushService is an RFC 8030 push service double: it checks the VAPID
// authorization (RFC 8292) and decrypts each message with the user
// agent's keys.
type pushService struct {
	t      *testing.T
	srv    *httptest.Server
	vapid  VAPIDKeys
	agents map[string]userAgent // by path
	status map[string]int       // forced answer by path

	mu       sync.Mutex
	received []pushed
}

type pushed struct {
	path    string
	header  http.Header
	payload []byte
	jwt     map[string]any
}

func newPushService(t *testing.T, vapid VAPIDKeys) *pushService {
	ps := &pushService{t: t, vapid: vapid, agents: map[string]userAgent{}, status: map[string]int{}}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if code := ps.status[r.URL.Path]; code != 0 {
		w.Header().Set("Retry-After", "3")
		http.Error(w, "forced", code)
		return
	}
	claims, err := ps.checkVAPID(r.Header.Get("Authorization"))
	if err != nil {
		ps.t.Errorf("VAPID: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		ps.t.Errorf("method %s, content-encoding %q", r.Method, r.Header.Get("Content-Encoding"))
	}
	if len(body) > 4096 {
		ps.t.Errorf("body %d bytes > 4096", len(body))
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	ua, ok := ps.agents[r.URL.Path]
	if !ok {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	plain, err := decryptAES128GCM(body, ua.priv, ua.auth)
	if err != nil {
		ps.t.Errorf("decrypt: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ps.mu.Lock()
	ps.received = append(ps.received, pushed{r.URL.Path, r.Header.Clone(), plain, claims})
	ps.mu.Unlock()
	w.Header().Set("Location", ps.srv.URL+"/m/1")
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<public key>" (RFC 8292 §2–3):
// ES256 over header.payload with k, k our key, aud the push service's
// origin, exp in the future and at most 24 h away, sub a contact.
func (ps *pushService) checkVAPID(h string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return nil, fmt.Errorf("authorization %q is not the vapid scheme", h)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != ps.vapid.Public {
		return nil, fmt.Errorf("k=%s is not our VAPID public key", params["k"])
	}
	parts := strings.Split(params["t"], ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("t is not a JWS")
	}
	var hdr map[string]any
	if err := json.Unmarshal(b64url(ps.t, parts[0]), &hdr); err != nil || hdr["alg"] != "ES256" {
		return nil, fmt.Errorf("JWT header %v", hdr)
	}
	key := b64url(ps.t, params["k"])
	x, y := elliptic.Unmarshal(elliptic.P256(), key) //nolint:staticcheck // a plain point decode for ecdsa.Verify
	if x == nil {
		return nil, fmt.Errorf("k is not a P-256 point")
	}
	sig := b64url(ps.t, parts[2])
	if len(sig) != 64 {
		return nil, fmt.Errorf("ES256 signature of %d bytes", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, fmt.Errorf("JWT signature does not verify with k")
	}
	var claims map[string]any
	if err := json.Unmarshal(b64url(ps.t, parts[1]), &claims); err != nil {
		return nil, err
	}
	if claims["aud"] != ps.srv.URL {
		return nil, fmt.Errorf("aud %v, want %s", claims["aud"], ps.srv.URL)
	}
	exp, _ := claims["exp"].(float64)
	if left := time.Until(time.Unix(int64(exp), 0)); left <= 0 || left > 24*time.Hour {
		return nil, fmt.Errorf("exp %v is %v away: want (0, 24h]", exp, left)
	}
	if claims["sub"] != "mailto:ops@radtrack.example.org" {
		return nil, fmt.Errorf("sub %v", claims["sub"])
	}
	return claims, nil
}

func (ps *pushService) subscribe(t *testing.T, path string) *PushSubscription {
	ua := newUserAgent(t)
	ps.agents[path] = ua
	return ua.subscription(ps.srv.URL + path)
}

func newTestWebPush(t *testing.T) (*WebPush, *pushService) {
	keys, err := GenerateVAPID()
	if err != nil {
		t.Fatal(err)
	}
	ps := newPushService(t, keys)
	wp, err := NewWebPush(WebPushConfig{Keys: keys, Subject: "mailto:ops@radtrack.example.org", Client: ps.srv.Client()})
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
		got := ps.received[i]
		w := want[i]
		if got.header.Get("Urgency") != w.urgency || got.header.Get("TTL") != w.ttl || got.header.Get("Topic") != w.topic {
			t.Errorf("%s: Urgency %q TTL %q Topic %q, want %q %q %q", e.Type, got.header.Get("Urgency"),
				got.header.Get("TTL"), got.header.Get("Topic"), w.urgency, w.ttl, w.topic)
		}
		var p pushPayload
		if err := json.Unmarshal(got.payload, &p); err != nil {
			t.Fatalf("%s: payload %q: %v", e.Type, got.payload, err)
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
	json.Unmarshal(ps.received[0].payload, &first)
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
		ps.status[path] = c.status
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
	if len(ps.received) != 0 {
		t.Errorf("%d messages reached the service", len(ps.received))
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
	got := ps.received[0].payload
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
