// Package pushtest is an RFC 8030 push service double for tests: it
// checks each request's VAPID authorization (RFC 8292) and decrypts the
// aes128gcm message (RFC 8291, RFC 8188) with the subscribing user
// agent's own keys. The decrypter is written from the RFCs (it shares
// nothing with the library under test) and is checked on RFC 8291's
// worked example in notify's tests.
package pushtest

import (
	"bytes"
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
	"strings"
	"sync"
	"testing"
	"time"
)

// Decrypt is the user agent's side of RFC 8291 §3.4 with the
// content coding of RFC 8188 §2, written from the RFCs: ECDH P-256, HKDF-SHA256,
// AES-128-GCM, one record.
func Decrypt(body []byte, uaPrivate *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
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

func b64url(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// UserAgent is a browser: its subscription keys.
type UserAgent struct {
	Priv *ecdh.PrivateKey
	Auth []byte
}

// NewUserAgent makes a browser's key pair and auth secret.
func NewUserAgent(t testing.TB) UserAgent {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return UserAgent{k, auth}
}

// Keys are the subscription's p256dh and auth (base64url), as
// PushSubscription.toJSON() gives them.
func (u UserAgent) Keys() (p256dh, auth string) {
	return base64.RawURLEncoding.EncodeToString(u.Priv.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(u.Auth)
}

// Service is the push service double (TLS, on loopback).
type Service struct {
	t       testing.TB
	srv     *httptest.Server
	public  string // the VAPID public key it accepts (base64url)
	subject string // the VAPID sub it expects

	mu       sync.Mutex
	agents   map[string]UserAgent // by path
	status   map[string]int       // forced answer by path
	received []Pushed
}

// Pushed is one message the service accepted and decrypted.
type Pushed struct {
	Path    string
	Header  http.Header
	Payload []byte
	JWT     map[string]any
	At      time.Time // when it arrived
}

// New starts a push service that accepts vapidPublic's signatures with
// sub subject.
func New(t testing.TB, vapidPublic, subject string) *Service {
	ps := &Service{t: t, public: vapidPublic, subject: subject, agents: map[string]UserAgent{}, status: map[string]int{}}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

// URL is the service's origin.
func (ps *Service) URL() string { return ps.srv.URL }

// Client trusts the service's certificate.
func (ps *Service) Client() *http.Client { return ps.srv.Client() }

// Subscribe makes a browser subscription at path and returns its
// endpoint URL and keys.
func (ps *Service) Subscribe(t testing.TB, path string) (endpoint, p256dh, auth string) {
	ua := NewUserAgent(t)
	ps.mu.Lock()
	ps.agents[path] = ua
	ps.mu.Unlock()
	p256dh, auth = ua.Keys()
	return ps.srv.URL + path, p256dh, auth
}

// SetStatus makes the service answer code (with Retry-After: 3) at path.
func (ps *Service) SetStatus(path string, code int) {
	ps.mu.Lock()
	ps.status[path] = code
	ps.mu.Unlock()
}

// Received returns the messages accepted so far.
func (ps *Service) Received() []Pushed {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]Pushed(nil), ps.received...)
}

func (ps *Service) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ps.mu.Lock()
	code := ps.status[r.URL.Path]
	ua, ok := ps.agents[r.URL.Path]
	ps.mu.Unlock()
	if code != 0 {
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
	if !ok {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	plain, err := Decrypt(body, ua.Priv, ua.Auth)
	if err != nil {
		ps.t.Errorf("decrypt: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ps.mu.Lock()
	ps.received = append(ps.received, Pushed{r.URL.Path, r.Header.Clone(), plain, claims, time.Now()})
	ps.mu.Unlock()
	w.Header().Set("Location", ps.srv.URL+"/m/1")
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<public key>" (RFC 8292 §2–3):
// ES256 over header.payload with k, k our key, aud the push service's
// origin, exp in the future and at most 24 h away, sub a contact.
func (ps *Service) checkVAPID(h string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return nil, fmt.Errorf("authorization %q is not the vapid scheme", h)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != ps.public {
		return nil, fmt.Errorf("k=%s is not our VAPID public key", params["k"])
	}
	parts := strings.Split(params["t"], ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("t is not a JWS")
	}
	var hdr map[string]any
	if raw, err := b64url(parts[0]); err != nil || json.Unmarshal(raw, &hdr) != nil || hdr["alg"] != "ES256" {
		return nil, fmt.Errorf("JWT header %v", hdr)
	}
	key, _ := b64url(params["k"])
	x, y := elliptic.Unmarshal(elliptic.P256(), key) //nolint:staticcheck // a plain point decode for ecdsa.Verify
	if x == nil {
		return nil, fmt.Errorf("k is not a P-256 point")
	}
	sig, _ := b64url(parts[2])
	if len(sig) != 64 {
		return nil, fmt.Errorf("ES256 signature of %d bytes", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, fmt.Errorf("JWT signature does not verify with k")
	}
	var claims map[string]any
	raw, err := b64url(parts[1])
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	if claims["aud"] != ps.srv.URL {
		return nil, fmt.Errorf("aud %v, want %s", claims["aud"], ps.srv.URL)
	}
	exp, _ := claims["exp"].(float64)
	if left := time.Until(time.Unix(int64(exp), 0)); left <= 0 || left > 24*time.Hour {
		return nil, fmt.Errorf("exp %v is %v away: want (0, 24h]", exp, left)
	}
	if claims["sub"] != ps.subject {
		return nil, fmt.Errorf("sub %v", claims["sub"])
	}
	return claims, nil
}
