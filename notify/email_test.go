package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The SMTP receiver double is github.com/emersion/go-smtp's server: it
// speaks real SMTP (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA) and
// records what arrived and over what.

type gotMail struct {
	from   string
	to     []string
	data   []byte
	tls    bool
	authed string
}

type smtpDouble struct {
	addr      string
	user      string
	pass      string
	rcptReply map[string]*smtp.SMTPError

	mu       sync.Mutex
	mails    []gotMail
	mailed   int // MAIL commands seen
	authTLS  []bool
	sessions []*smtp.Conn // each connection once (STARTTLS starts a new smtp.Session on it)
	ended    int          // connections closed
}

func (b *smtpDouble) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	if !slices.Contains(b.sessions, c) {
		b.sessions = append(b.sessions, c)
	}
	b.mu.Unlock()
	return &smtpSession{b: b, c: c}, nil
}

type smtpSession struct {
	b      *smtpDouble
	c      *smtp.Conn
	authed string
	from   string
	to     []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		_, onTLS := s.c.TLSConnectionState()
		s.b.mu.Lock()
		s.b.authTLS = append(s.b.authTLS, onTLS)
		s.b.mu.Unlock()
		if username != s.b.user || password != s.b.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.b.mu.Lock()
	s.b.mailed++
	s.b.mu.Unlock()
	if s.b.user != "" && s.authed == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if r := s.b.rcptReply[to]; r != nil {
		return r
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, onTLS := s.c.TLSConnectionState()
	s.b.mu.Lock()
	s.b.mails = append(s.b.mails, gotMail{from: s.from, to: s.to, data: data, tls: onTLS, authed: s.authed})
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error {
	s.b.mu.Lock()
	s.b.ended++
	s.b.mu.Unlock()
	return nil
}

// testCert is a self-signed certificate for 127.0.0.1 and the pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// startSMTP runs the double; with cert it offers STARTTLS. AUTH is only
// offered on a TLS connection (AllowInsecureAuth false).
func startSMTP(t *testing.T, cert *tls.Certificate, user, pass string) *smtpDouble {
	return startSMTPListener(t, cert, user, pass, false)
}

// startSMTPListener with implicit serves TLS from the first byte (port
// 465 style).
func startSMTPListener(t *testing.T, cert *tls.Certificate, user, pass string, implicit bool) *smtpDouble {
	t.Helper()
	b := &smtpDouble{user: user, pass: pass, rcptReply: map[string]*smtp.SMTPError{}}
	s := smtp.NewServer(b)
	s.Domain = "mx.test"
	s.ErrorLog = log.New(io.Discard, "", 0) // the failure tests reset connections on purpose
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	if implicit {
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return b
}

func portOf(t *testing.T, addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func mailDelivery(e Event) Delivery {
	return Delivery{Event: e, Recipient: Recipient{ID: "user:3:email", Name: "Duty Officer", Email: "duty@fire.example"}}
}

// part is one decoded MIME part.
type part struct {
	contentType string
	body        string
}

func parseMail(t *testing.T, data []byte) (*mail.Message, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("top-level type %q: %v\n%s", mt, err, data)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(p) // quoted-printable is decoded by the reader
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			if err != nil {
				t.Fatal(err)
			}
		}
		// SMTP carries CRLF line ends; compare with LF.
		parts = append(parts, part{p.Header.Get("Content-Type"), strings.ReplaceAll(string(raw), "\r\n", "\n")})
	}
	return msg, parts
}

// TestEmailSTARTTLSAuthMultipart checks the real wire: the TLS upgrade
// happened before AUTH, the credentials, the envelope, the headers, and
// both alternative parts' content.
func TestEmailSTARTTLSAuthMultipart(t *testing.T) {
	cert, pool := testCert(t)
	srv := startSMTP(t, &cert, "radtrack", "s3cret pass")
	em, err := NewEmail(EmailConfig{
		Host: "127.0.0.1", Port: portOf(t, srv.addr), TLS: &tls.Config{RootCAs: pool},
		Username: "radtrack", Password: "s3cret pass", From: "RadTrack <radtrack@radtrack.example.org>",
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := lifecycle()
	raised := evs[0]
	raised.Incident.Vehicles = append(raised.Incident.Vehicles, Vehicle{ID: 11, UID: "x", Name: "<b>Bad & Co</b>"})
	for _, e := range []Event{raised, evs[2]} {
		if err := em.Send(context.Background(), mailDelivery(e)); err != nil {
			t.Fatal(err)
		}
	}
	if len(srv.mails) != 2 {
		t.Fatalf("%d mails arrived", len(srv.mails))
	}
	for i, m := range srv.mails {
		if !m.tls || m.authed != "radtrack" || m.from != "radtrack@radtrack.example.org" || strings.Join(m.to, ",") != "duty@fire.example" {
			t.Errorf("mail %d: tls=%v authed=%q from=%q to=%v", i, m.tls, m.authed, m.from, m.to)
		}
	}
	if len(srv.sessions) != 1 || len(srv.authTLS) != 1 || !srv.authTLS[0] {
		t.Errorf("%d sessions, AUTH over TLS: %v; want both mails on one session, authenticated once over TLS", len(srv.sessions), srv.authTLS)
	}

	msg, parts := parseMail(t, srv.mails[0].data)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "ALARM incident 42 raised: Patrol 7, osmand-abc +1 more — peak 2.55 µSv/h" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	d := mailDelivery(raised)
	firstID := "<" + d.Key() + "@radtrack.example.org>"
	h := msg.Header
	for name, want := range map[string]string{
		"Message-Id":                 firstID,
		"Auto-Submitted":             "auto-generated",
		"X-Radtrack-Idempotency-Key": d.Key(),
		"X-Radtrack-Event":           "raised",
		"X-Priority":                 "1",
		"In-Reply-To":                "",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if from, _ := mail.ParseAddress(h.Get("From")); from == nil || from.Address != "radtrack@radtrack.example.org" || from.Name != "RadTrack" {
		t.Errorf("From %q", h.Get("From"))
	}
	if to, _ := mail.ParseAddress(h.Get("To")); to == nil || to.Address != "duty@fire.example" || to.Name != "Duty Officer" {
		t.Errorf("To %q", h.Get("To"))
	}
	if date, err := h.Date(); err != nil || !date.Equal(raised.Time) {
		t.Errorf("Date %v (%v)", date, err)
	}
	if len(parts) != 2 || !strings.HasPrefix(parts[0].contentType, "text/plain") || !strings.HasPrefix(parts[1].contentType, "text/html") {
		t.Fatalf("parts %+v", parts)
	}
	text, html := parts[0].body, parts[1].body
	for _, want := range []string{
		"ALARM incident 42 raised: Patrol 7, osmand-abc +1 more — peak 2.55 µSv/h\n",
		"Peak dose rate: 2.55 µSv/h at 2025-07-25 19:05:10 UTC\n",
		"Place: Restricted zone A, 34.48265°N 136.16302°E\n",
		"Vehicles: Patrol 7 (bgeigie-5002), North; osmand-abc, North; <b>Bad & Co</b> (x)\n",
		"Rules: IAEA OIL3 (1 µSv/h); Dose rate notice (0.5 µSv/h)\n",
		"Check the vehicle and the area with a survey meter.",
		"Open in RadTrack: https://radtrack.example.org/#/incidents/42\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"<td>2.55 µSv/h at 2025-07-25 19:05:10 UTC</td>",
		"Patrol 7 (bgeigie-5002), North<br>osmand-abc, North<br>&lt;b&gt;Bad &amp; Co&lt;/b&gt; (x)",
		`<a href="https://radtrack.example.org/#/incidents/42">Open in RadTrack</a>`,
		"background:#c62828",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("html part lacks %q:\n%s", want, html)
		}
	}

	// The re-alarm threads under the first mail.
	msg2, _ := parseMail(t, srv.mails[1].data)
	if msg2.Header.Get("In-Reply-To") != firstID || msg2.Header.Get("References") != firstID ||
		msg2.Header.Get("Message-Id") != "<"+mailDelivery(evs[2]).Key()+"@radtrack.example.org>" {
		t.Errorf("threading: In-Reply-To %q References %q Message-Id %q", msg2.Header.Get("In-Reply-To"),
			msg2.Header.Get("References"), msg2.Header.Get("Message-Id"))
	}
}

// A session stays open for the next mail. One the server closed while it
// was idle is found dead before anything is sent, and the mail goes on a
// new session at once, once; a session a mail failed on is not used
// again; Close ends the idle ones.
func TestEmailKeepsSessionsOpen(t *testing.T) {
	srv := startSMTP(t, nil, "", "")
	srv.rcptReply["full@fire.example"] = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	em, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: portOf(t, srv.addr), Security: SMTPStartTLSOpportunistic, From: "radtrack@radtrack.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(em.Close)
	evs := lifecycle()
	send := func(e Event, to string) error {
		d := mailDelivery(e)
		d.Recipient.Email = to
		return em.Send(context.Background(), d)
	}
	state := func() (sessions, mails int) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.sessions), len(srv.mails)
	}
	for _, e := range evs[:3] {
		if err := send(e, "duty@fire.example"); err != nil {
			t.Fatal(err)
		}
	}
	if s, m := state(); s != 1 || m != 3 {
		t.Fatalf("%d sessions, %d mails; want 3 mails on one session", s, m)
	}

	srv.mu.Lock()
	first := srv.sessions[0]
	srv.mu.Unlock()
	first.Close() // the server drops the idle session
	if err := send(evs[3], "duty@fire.example"); err != nil {
		t.Fatalf("after the server closed the idle session: %v", err)
	}
	if s, m := state(); s != 2 || m != 4 {
		t.Fatalf("%d sessions, %d mails; want the 4th mail once, on a new session", s, m)
	}

	var e *Error
	if err := send(evs[0], "full@fire.example"); !errors.As(err, &e) || e.Permanent || e.Status != 452 {
		t.Fatalf("mailbox full: %v, want a transient 452", err)
	}
	if err := send(evs[1], "duty@fire.example"); err != nil {
		t.Fatal(err)
	}
	if s, m := state(); s != 3 || m != 5 {
		t.Errorf("%d sessions, %d mails; want the session the failure was on left, the next mail on a new one", s, m)
	}

	em.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		srv.mu.Lock()
		ended := srv.ended
		srv.mu.Unlock()
		if ended == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 sessions ended after Close, want the idle one ended too", ended)
		}
	}
	if err := send(evs[2], "duty@fire.example"); err != nil {
		t.Fatalf("after Close: %v, want the mail sent (on a session of its own)", err)
	}
}

// TestEmailFailures classifies what the mail server and the network do.
func TestEmailFailures(t *testing.T) {
	cert, pool := testCert(t)
	tlsSrv := startSMTP(t, &cert, "radtrack", "right")
	tlsSrv.rcptReply["gone@fire.example"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	tlsSrv.rcptReply["full@fire.example"] = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	plainSrv := startSMTP(t, nil, "", "")

	cfg := func(addr string) EmailConfig {
		return EmailConfig{Host: "127.0.0.1", Port: portOf(t, addr), TLS: &tls.Config{RootCAs: pool},
			Username: "radtrack", Password: "right", From: "radtrack@radtrack.example.org", Timeout: 5 * time.Second}
	}
	send := func(c EmailConfig, to string) error {
		em, err := NewEmail(c)
		if err != nil {
			t.Fatal(err)
		}
		d := mailDelivery(lifecycle()[0])
		d.Recipient.Email = to
		return em.Send(context.Background(), d)
	}
	wrong := cfg(tlsSrv.addr)
	wrong.Password = "wrong"
	if err := send(wrong, "duty@fire.example"); !IsPermanent(err) || status(err) != 535 {
		t.Errorf("wrong password: %v", err)
	}
	if err := send(cfg(tlsSrv.addr), "gone@fire.example"); !IsPermanent(err) || status(err) != 550 {
		t.Errorf("550 recipient: %v", err)
	}
	if err := send(cfg(tlsSrv.addr), "full@fire.example"); err == nil || IsPermanent(err) || status(err) != 452 {
		t.Errorf("452 recipient: %v", err)
	}
	untrusted := cfg(tlsSrv.addr)
	untrusted.TLS = nil
	if err := send(untrusted, "duty@fire.example"); !IsPermanent(err) {
		t.Errorf("untrusted certificate: %v", err)
	}
	if len(tlsSrv.mails) != 0 {
		t.Errorf("%d mails delivered by failing sends", len(tlsSrv.mails))
	}

	// STARTTLS required but not offered: nothing is sent, not even MAIL.
	if err := send(cfg(plainSrv.addr), "duty@fire.example"); !IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("no STARTTLS with mandatory TLS: %v", err)
	}
	if plainSrv.mailed != 0 {
		t.Errorf("MAIL sent over plain text %d times", plainSrv.mailed)
	}
	// Opportunistic without credentials goes through in plain text.
	opp := cfg(plainSrv.addr)
	opp.Security, opp.Username, opp.Password = SMTPStartTLSOpportunistic, "", ""
	if err := send(opp, "duty@fire.example"); err != nil {
		t.Fatalf("opportunistic: %v", err)
	}
	if len(plainSrv.mails) != 1 || plainSrv.mails[0].tls {
		t.Errorf("opportunistic delivery: %+v", plainSrv.mails)
	}
	// Opportunistic against a TLS server still upgrades.
	opp2 := cfg(tlsSrv.addr)
	opp2.Security = SMTPStartTLSOpportunistic
	if err := send(opp2, "duty@fire.example"); err != nil || len(tlsSrv.mails) != 1 || !tlsSrv.mails[0].tls {
		t.Errorf("opportunistic with STARTTLS offered: %v %+v", err, tlsSrv.mails)
	}

	// Nobody listening: transient.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if err := send(cfg(closed), "duty@fire.example"); err == nil || IsPermanent(err) {
		t.Errorf("closed port: %v", err)
	}
	// A server that accepts and never greets: transient within the timeout.
	hang, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	slow := cfg(hang.Addr().String())
	slow.Timeout = 300 * time.Millisecond
	if err := within(t, 5*time.Second, func() error { return send(slow, "duty@fire.example") }); err == nil || IsPermanent(err) {
		t.Errorf("silent server: %v", err)
	}

	// A bad address never reaches the network.
	if err := send(cfg(tlsSrv.addr), "not an address"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad address: %v", err)
	}
	for _, c := range []EmailConfig{
		{From: "a@b"},
		{Host: "h", From: "nope"},
		{Host: "h", From: "a@b", Security: "ssl3"},
		{Host: "h", From: "a@b", AuthMechanism: "NTLM"},
		{Host: "h", From: "a@b", Port: 70000},
	} {
		if _, err := NewEmail(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return -1
}

// TestEmailImplicitTLS: port-465 style TLS from the first byte, with AUTH.
func TestEmailImplicitTLS(t *testing.T) {
	cert, pool := testCert(t)
	srv := startSMTPListener(t, &cert, "radtrack", "pw", true)
	em, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: portOf(t, srv.addr), Security: SMTPImplicitTLS,
		TLS: &tls.Config{RootCAs: pool}, Username: "radtrack", Password: "pw", From: "radtrack@radtrack.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Send(context.Background(), mailDelivery(lifecycle()[3])); err != nil {
		t.Fatal(err)
	}
	if len(srv.mails) != 1 || !srv.mails[0].tls || srv.mails[0].authed != "radtrack" {
		t.Fatalf("mails %+v", srv.mails)
	}
	msg, parts := parseMail(t, srv.mails[0].data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "CRITICAL incident 42 acknowledged by duty.officer: Patrol 7, osmand-abc — peak 123 µSv/h" ||
		msg.Header.Get("X-Priority") != "" || len(parts) != 2 || !strings.Contains(parts[0].body, "Acknowledged by duty.officer at 2025-07-25 19:11:40 UTC") {
		t.Errorf("acknowledged mail: subject %q priority %q parts %+v", subject, msg.Header.Get("X-Priority"), parts)
	}
}
