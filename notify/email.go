package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/radtrack/radtrack/rules"
)

// SMTPSecurity is how the connection to the mail server is protected.
type SMTPSecurity string

const (
	// SMTPStartTLS: STARTTLS is required; a server that does not offer it
	// (or offers a bad certificate) gets nothing, credentials included.
	// The default.
	SMTPStartTLS SMTPSecurity = "starttls"
	// SMTPStartTLSOpportunistic: STARTTLS when offered, else plain text
	// (credentials are then only sent to localhost).
	SMTPStartTLSOpportunistic SMTPSecurity = "opportunistic"
	// SMTPImplicitTLS: TLS from the first byte (port 465).
	SMTPImplicitTLS SMTPSecurity = "tls"
)

// EmailConfig configures the e-mail channel (one SMTP submission server).
type EmailConfig struct {
	Host string
	// Port defaults to 587 (465 with SMTPImplicitTLS).
	Port     int
	Security SMTPSecurity
	// TLS overrides the TLS settings (e.g. a private CA); ServerName
	// defaults to Host.
	TLS *tls.Config
	// Username and Password enable SMTP AUTH (PLAIN by default).
	Username string
	Password string
	// AuthMechanism: "PLAIN" (default), "LOGIN", "SCRAM-SHA-256" or
	// "AUTODISCOVER" (the strongest the server offers).
	AuthMechanism string
	// From is the sender, e.g. "RadTrack <radtrack@example.org>".
	From string
	// HELO is the name we greet with (default: the library's, the host name).
	HELO string
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
}

// Email sends incident events as multipart/alternative (text and HTML)
// mail, one SMTP transaction per delivery, over sessions kept open
// between mails (sessions.go): a storm's hundreds of mails do not each
// pay a connection, EHLO, STARTTLS and AUTH.
type Email struct {
	cfg      EmailConfig
	from     *mail.Address
	domain   string
	sessions sessionPool
}

// NewEmail checks cfg and returns the channel.
func NewEmail(cfg EmailConfig) (*Email, error) {
	if cfg.Host == "" {
		return nil, errors.New("notify: SMTP host required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP from %q: %w", cfg.From, err)
	}
	switch cfg.Security {
	case "":
		cfg.Security = SMTPStartTLS
	case SMTPStartTLS, SMTPStartTLSOpportunistic, SMTPImplicitTLS:
	default:
		return nil, fmt.Errorf("notify: SMTP security %q: want starttls, opportunistic or tls", cfg.Security)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.Security == SMTPImplicitTLS {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: SMTP port %d", cfg.Port)
	}
	if cfg.AuthMechanism == "" {
		cfg.AuthMechanism = "PLAIN"
	}
	var probe gomail.SMTPAuthType
	if err := probe.UnmarshalString(cfg.AuthMechanism); err != nil {
		return nil, fmt.Errorf("notify: SMTP auth mechanism %q: %w", cfg.AuthMechanism, err)
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	return &Email{cfg: cfg, from: from, domain: domain, sessions: newSessionPool(maxIdleSessions)}, nil
}

// messageID derives the Message-ID from an idempotency key, so a retried
// delivery carries the same Message-ID and mail systems drop the copy.
func (m *Email) messageID(key string) string { return key + "@" + m.domain }

// Send implements Sender.
func (m *Email) Send(ctx context.Context, d Delivery) error {
	if err := d.validate(); err != nil {
		return err
	}
	to, err := mailbox(d.Recipient)
	if err != nil {
		return err
	}
	msg, err := m.message(d, to)
	if err != nil {
		return err
	}
	return m.deliver(ctx, msg)
}

// maxEmailDigest is the most pages one digest mail lists.
const maxEmailDigest = 50

// MaxDigest implements DigestSender.
func (m *Email) MaxDigest() int { return maxEmailDigest }

// SendDigest implements DigestSender: one mail to g's recipient (every
// delivery of g is to the same address) listing each event, most severe
// first; its Message-ID comes from g.Key() and the text lists every key.
func (m *Email) SendDigest(ctx context.Context, g Digest) error {
	sorted, err := g.sortedTo("e-mail address", func(a, b Recipient) bool { return strings.EqualFold(a.Email, b.Email) })
	if err != nil {
		return err
	}
	first := sorted[0]
	to, err := mailbox(first.Recipient)
	if err != nil {
		return err
	}
	subject := digestTitle(sorted, 2)
	msg := m.newMsg(to, subject, g.Key(), "digest", first.Event.Time)
	urgent := false
	var text strings.Builder
	views := make([]emailViewData, len(sorted))
	text.WriteString(subject + "\n")
	for i, d := range sorted {
		e := d.Event
		urgent = urgent || urgentMail(e)
		text.WriteString("\n----\n" + emailText(e))
		views[i] = emailView(e)
	}
	text.WriteString("\nIdempotency keys: " + strings.Join(g.Keys(), " ") + "\n")
	if urgent {
		msg.SetImportance(gomail.ImportanceUrgent)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text.String())
	var html bytes.Buffer
	if err := emailDigestHTML.Execute(&html, struct {
		Title string
		Items []emailViewData
	}{subject, views}); err != nil {
		return permanent(0, fmt.Errorf("e-mail html: %w", err))
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return m.deliver(ctx, msg)
}

// deliver sends one message: on a session left open by an earlier mail
// when one is, else on a new one. A kept session the server has closed
// meanwhile fails its NOOP before anything is sent, and the mail goes on
// a new session at once.
func (m *Email) deliver(ctx context.Context, msg *gomail.Msg) error {
	ctx, cancel := withTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	for {
		s, kept := m.sessions.take(time.Now())
		if s == nil {
			var err error
			if s, err = m.dial(ctx); err != nil {
				if errors.As(err, new(*Error)) {
					return err
				}
				return classifySMTP(fmt.Errorf("e-mail via %s:%d: %w", m.cfg.Host, m.cfg.Port, err))
			}
		}
		err := s.send(ctx, msg)
		switch {
		case err == nil:
			m.sessions.put(s, time.Now())
			return nil
		case msg.IsDelivered():
			// Accepted at the end of DATA; only the RSET after it failed.
			s.close()
			return nil
		case kept && isConnCheck(err):
			s.close() // closed by the server while idle; nothing was sent
			continue
		default:
			s.close()
			return classifySMTP(fmt.Errorf("e-mail via %s:%d: %w", m.cfg.Host, m.cfg.Port, err))
		}
	}
}

// Close ends the sessions kept open.
func (m *Email) Close() { m.sessions.close() }

// dial opens a session (greeting, EHLO, STARTTLS and AUTH as configured)
// within ctx. go-mail bounds only the TCP dial; the greeting and every
// later reply would wait forever on a server that accepts and then says
// nothing, so the connection gets ctx's deadline (each mail then sets its
// own) and is closed if ctx ends first.
func (m *Email) dial(ctx context.Context) (*session, error) {
	timeout := m.cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	tlsCfg := &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	if m.cfg.TLS != nil {
		tlsCfg = m.cfg.TLS.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = m.cfg.Host
		}
	}
	s := &session{}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		var conn net.Conn
		var err error
		if m.cfg.Security == SMTPImplicitTLS {
			// A *tls.Conn as is: go-mail recognises it as encrypted.
			conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if deadline, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(deadline)
		}
		s.setConn(conn)
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsCfg),
		gomail.WithDialContextFunc(dial),
	}
	switch m.cfg.Security {
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPStartTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case SMTPImplicitTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS)) // no STARTTLS inside TLS
	}
	if m.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(m.cfg.HELO))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthType(strings.ToUpper(m.cfg.AuthMechanism))),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, permanent(0, fmt.Errorf("notify: SMTP client: %w", err))
	}
	s.client = c
	stop := context.AfterFunc(ctx, s.close)
	s.smtp, err = c.DialToSMTPClientWithContext(ctx)
	if !stop() || err != nil {
		s.close()
		return nil, cmp.Or(err, ctx.Err())
	}
	return s, nil
}

// mailbox is r's address, named after r when the address has no name.
func mailbox(r Recipient) (*mail.Address, error) {
	to, err := mail.ParseAddress(r.Email)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %s e-mail %q: %v", ErrInvalid, r.ID, r.Email, err)
	}
	if to.Name == "" {
		to.Name = r.Name
	}
	return to, nil
}

// newMsg starts a mail to to with the headers every RadTrack mail
// carries: its idempotency key (and Message-ID from it) and event.
func (m *Email) newMsg(to *mail.Address, subject, key, event string, at time.Time) *gomail.Msg {
	msg := gomail.NewMsg()
	msg.FromMailAddress(m.from)
	msg.ToMailAddress(to)
	msg.Subject(subject)
	msg.SetMessageIDWithValue(m.messageID(key))
	msg.SetDateWithValue(at)
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetGenHeader("X-RadTrack-Idempotency-Key", key)
	msg.SetGenHeader("X-RadTrack-Event", event)
	return msg
}

// urgentMail: a page about an alarm or critical incident is marked urgent.
func urgentMail(e Event) bool {
	return e.Type.Pages() && (e.Incident.Severity == rules.SeverityAlarm || e.Incident.Severity == rules.SeverityCritical)
}

func (m *Email) message(d Delivery, to *mail.Address) (*gomail.Msg, error) {
	e := d.Event
	msg := m.newMsg(to, title(e), d.Key(), string(e.Type), e.Time)
	// Thread every mail of an incident under the first one this
	// recipient got.
	if first, ok := firstRef(e); ok && first.Version != e.Incident.Version {
		ref := "<" + m.messageID(eventKey(e.Incident.ID, first, d.Recipient.ID)) + ">"
		msg.SetGenHeader(gomail.HeaderInReplyTo, ref)
		msg.SetGenHeader(gomail.HeaderReferences, ref)
	}
	if urgentMail(e) {
		msg.SetImportance(gomail.ImportanceUrgent)
	}
	msg.SetBodyString(gomail.TypeTextPlain, emailText(e))
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, emailView(e)); err != nil {
		return nil, permanent(0, fmt.Errorf("e-mail html: %w", err))
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return msg, nil
}

// firstRef is the event that opened the incident's thread: the first in
// History, or the event itself.
func firstRef(e Event) (EventRef, bool) {
	if len(e.History) > 0 {
		return e.History[0], true
	}
	return EventRef{}, false
}

func emailText(e Event) string {
	var b strings.Builder
	b.WriteString(title(e) + "\n\n")
	b.WriteString(description(e))
	b.WriteString("\n" + instruction(e) + "\n")
	if e.Incident.URL != "" {
		b.WriteString("\nOpen in RadTrack: " + e.Incident.URL + "\n")
	}
	return b.String()
}

type emailViewData struct {
	Title, Severity, State, Dose, Place, PeakTime, FirstSeen, LastSeen, Instruction, URL, Colour string
	Vehicles, Rules                                                                              []string
	AckedBy, AckedAt, ResolvedBy, ResolvedAt, Adjudication                                       string
	Test                                                                                         bool
}

func emailView(e Event) emailViewData {
	inc := e.Incident
	v := emailViewData{
		Title: title(e), Severity: severityLabel(inc.Severity), State: string(inc.State),
		Dose: formatDose(inc.Peak.DoseUSvh), Place: place(inc), PeakTime: formatTime(inc.Peak.Time),
		FirstSeen: formatTime(inc.FirstSeen), LastSeen: formatTime(inc.LastSeen),
		Instruction: instruction(e), URL: inc.URL, Rules: inc.Rules, Test: e.Test,
		Colour: map[rules.Severity]string{
			rules.SeverityCritical: "#7f0000", rules.SeverityAlarm: "#c62828", rules.SeverityWarning: "#ef6c00",
			rules.SeverityNotice: "#f9a825", rules.SeverityInfo: "#1565c0",
		}[inc.Severity],
	}
	for _, veh := range inc.Vehicles {
		v.Vehicles = append(v.Vehicles, vehicleDetails([]Vehicle{veh}))
	}
	if inc.AckedBy != "" {
		v.AckedBy, v.AckedAt = inc.AckedBy, formatTime(inc.AckedAt)
	}
	if inc.State == rules.StateResolved {
		v.ResolvedBy, v.ResolvedAt, v.Adjudication = inc.ResolvedBy, formatTime(inc.ResolvedAt), adjudicationLabel(inc.Adjudication)
	}
	return v
}

var emailHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif">
<h2 style="color:#fff;background:{{.Colour}};padding:8px">{{if .Test}}[TEST] {{end}}{{.Severity}}: {{.Dose}}</h2>
<p><strong>{{.Title}}</strong></p>
<table cellpadding="4">
<tr><th align="left">Peak dose rate</th><td>{{.Dose}} at {{.PeakTime}}</td></tr>
<tr><th align="left">Place</th><td>{{.Place}}</td></tr>
<tr><th align="left">Vehicles</th><td>{{range $i, $v := .Vehicles}}{{if $i}}<br>{{end}}{{$v}}{{end}}</td></tr>
<tr><th align="left">Rules</th><td>{{range $i, $r := .Rules}}{{if $i}}<br>{{end}}{{$r}}{{end}}</td></tr>
<tr><th align="left">State</th><td>{{.State}}</td></tr>
<tr><th align="left">First / last seen</th><td>{{.FirstSeen}} / {{.LastSeen}}</td></tr>
{{if .AckedBy}}<tr><th align="left">Acknowledged</th><td>{{.AckedBy}}, {{.AckedAt}}</td></tr>{{end}}
{{if .ResolvedAt}}<tr><th align="left">Resolved</th><td>{{.ResolvedBy}}, {{.ResolvedAt}}: {{.Adjudication}}</td></tr>{{end}}
</table>
<p>{{.Instruction}}</p>
{{if .URL}}<p><a href="{{.URL}}">Open in RadTrack</a></p>{{end}}
</body></html>
`))

var emailDigestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif">
<h2>{{.Title}}</h2>
{{range .Items}}<h3 style="color:#fff;background:{{.Colour}};padding:6px">{{if .Test}}[TEST] {{end}}{{.Title}}</h3>
<table cellpadding="4">
<tr><th align="left">Peak dose rate</th><td>{{.Dose}} at {{.PeakTime}}</td></tr>
<tr><th align="left">Place</th><td>{{.Place}}</td></tr>
<tr><th align="left">Vehicles</th><td>{{range $i, $v := .Vehicles}}{{if $i}}<br>{{end}}{{$v}}{{end}}</td></tr>
<tr><th align="left">State</th><td>{{.State}}</td></tr>
</table>
<p>{{.Instruction}}{{if .URL}} <a href="{{.URL}}">Open in RadTrack</a>{{end}}</p>
{{end}}</body></html>
`))

// classifySMTP: 5xx replies (bad recipient, authentication failed) and
// configuration faults (no STARTTLS where it is required, a certificate
// we do not trust) are permanent; 4xx replies and network faults
// transient.
func classifySMTP(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 {
			return permanent(code, err)
		}
		return transient(se.ErrorCode(), 0, err)
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 {
			return permanent(tp.Code, err)
		}
		return transient(tp.Code, 0, err)
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &certErr) || errors.As(err, &verifyErr) {
		return permanent(0, err)
	}
	if strings.Contains(err.Error(), "does not support STARTTLS") {
		return permanent(0, err)
	}
	return transient(0, 0, err) // network, timeouts, anything unknown
}
