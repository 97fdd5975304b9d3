package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/store"
)

// sessionCookie is the browser session's cookie name.
const sessionCookie = "radtrack_session"

// authError is a refusal of the request's credentials (401). Its message
// says why, so an integration can tell an expired token from a typo.
type authError struct{ field, msg string }

func (e *authError) Error() string { return e.msg }

var (
	errLoginRequired = &authError{msg: "login required"}
	errLoggedOut     = &authError{msg: "logged out"}
	errTokenRevoked  = &authError{field: "Authorization", msg: "API token revoked"}
)

// credential is who a request authenticated as, and with what.
type credential struct {
	user      store.User // as the credential acts: an API token's role applied
	viaCookie bool
	hash      []byte
	tokenID   int64 // the API token's id; 0 for a session
}

type credentialKey struct{}

// credentialOf returns the credential require stored in the request.
func credentialOf(r *http.Request) credential {
	c, _ := r.Context().Value(credentialKey{}).(credential)
	return c
}

// authenticate resolves the request's session cookie or user API token
// (Authorization: Bearer rtu_…) to an active user.
func (s *Server) authenticate(r *http.Request) (credential, error) {
	now := time.Now()
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.authenticateToken(r.Context(), strings.TrimSpace(token), now)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return s.authenticateSession(r.Context(), c.Value, now)
	}
	return credential{}, errLoginRequired
}

func (s *Server) authenticateSession(ctx context.Context, value string, now time.Time) (credential, error) {
	cred := credential{viaCookie: true, hash: auth.HashToken(value)}
	if s.revoked.Holds(cred.hash, 0) {
		return cred, errLoggedOut
	}
	gen := s.known.generation()
	u, err := s.store.SessionUser(ctx, cred.hash, now)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()):
		s.known.forget(cred.hash)
		return cred, errLoginRequired
	case err != nil:
		return s.recall(ctx, cred, now, err)
	}
	cred.user = u
	s.known.remember(cred.hash, knownUser{user: u, checked: now}, gen)
	return cred, nil
}

func (s *Server) authenticateToken(ctx context.Context, token string, now time.Time) (credential, error) {
	if !strings.HasPrefix(token, auth.APITokenPrefix) {
		return credential{}, &authError{field: "Authorization", msg: "not a user API token (" + auth.APITokenPrefix + "…)"}
	}
	cred := credential{hash: auth.HashToken(token)}
	if s.revoked.Holds(cred.hash, 0) {
		return cred, errTokenRevoked
	}
	gen := s.known.generation()
	t, owner, err := s.store.APITokenByHash(ctx, cred.hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.known.forget(cred.hash)
		return cred, &authError{field: "Authorization", msg: "unknown API token"}
	case err != nil:
		return s.recall(ctx, cred, now, err)
	}
	if s.revoked.Holds(nil, t.ID) {
		return cred, errTokenRevoked
	}
	if err := t.Usable(now); err != nil {
		s.known.forget(cred.hash)
		return cred, &authError{field: "Authorization", msg: err.Error()}
	}
	if !owner.Active() {
		s.known.forget(cred.hash)
		return cred, &authError{field: "Authorization", msg: "the token's user is disabled"}
	}
	cred.user, cred.tokenID = store.ActingUser(t, owner), t.ID
	s.known.remember(cred.hash, knownUser{user: cred.user, checked: now, tokenID: t.ID, expires: t.ExpiresAt}, gen)
	// The last use is worth a write at most once a minute per token.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if err := s.store.TouchAPIToken(ctx, t.ID, now); err != nil {
			s.log.WarnContext(ctx, "record API token use", "token", t.ID, "err", err)
		}
	}
	return cred, nil
}

// recall answers from memory when the database did not answer: the
// credential's last user, if it resolved recently on this node and is not
// revoked since. Otherwise the database's error stands (503).
func (s *Server) recall(ctx context.Context, cred credential, now time.Time, dbErr error) (credential, error) {
	known, ok := s.known.recall(cred.hash, now)
	if !ok {
		return cred, dbErr
	}
	if known.tokenID != 0 && s.revoked.Holds(nil, known.tokenID) {
		return cred, errTokenRevoked
	}
	s.log.WarnContext(ctx, "credentials checked from memory: database unavailable", "user", known.user.Username, "err", dbErr)
	cred.user, cred.tokenID = known.user, known.tokenID
	return cred, nil
}

// userHandler is a handler that runs for an authenticated user.
type userHandler func(w http.ResponseWriter, r *http.Request, u store.User)

// require wraps h so it runs only for an active user whose role allows
// need. State-changing requests authenticated by cookie must be JSON: a
// cross-site form cannot send that without a CORS preflight, which this
// server never grants (with SameSite=Strict cookies, that closes CSRF).
// The credential is in the request's context (credentialOf).
func (s *Server) require(need string, h userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, err := s.authenticate(r)
		var refused *authError
		switch {
		case errors.As(err, &refused):
			writeError(w, http.StatusUnauthorized, refused.field, refused.msg)
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "authenticate user", "err", err)
			writeError(w, http.StatusServiceUnavailable, "", "cannot check credentials now, retry later")
			return
		}
		u := cred.user
		if !auth.Allows(u.Role, need) {
			writeError(w, http.StatusForbidden, "", "your role ("+u.Role+") may not do this; it needs "+need)
			return
		}
		if cred.viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "Content-Type", "state-changing requests must send application/json")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r.WithContext(context.WithValue(r.Context(), credentialKey{}, cred)), u)
	}
}

// audit records an action; a failure is logged, not returned: the action
// already happened and must not be reported as failed.
func (s *Server) audit(ctx context.Context, u *store.User, action, target string, details any) {
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), auditEntry(u, action, target, details)); err != nil {
		s.log.ErrorContext(ctx, "append audit entry", "action", action, "target", target, "err", err)
	}
}

func auditEntry(u *store.User, action, target string, details any) store.AuditEntry {
	e := store.AuditEntry{Action: action, Target: target}
	if u != nil {
		id := u.ID
		e.UserID, e.Username = &id, u.Username
	}
	if details != nil {
		if b, err := jsonMarshal(details); err == nil {
			e.Details = b
		}
	}
	return e
}

// Revocations across a cluster. A logout or a token revocation ends the
// credential on this node at once, is announced to the other nodes, and is
// applied to the database — at once when it answers, else from the local
// journal (Deps.Revocations) as soon as it does. Until then every node
// that heard of it refuses the credential, and each keeps it in its own
// journal and applies it too (both statements are idempotent), so neither
// a restart nor a missed message brings a logged-out session back.

// revokeTimeout bounds each attempt to apply a revocation, and each
// announcement to the other nodes.
const revokeTimeout = 3 * time.Second

// CredentialRevoked is what nodes tell each other when credentials stop
// being valid: a session (by hash), an API token (by id, with its hash
// when known), or — UserID alone — every credential of a user whose
// password, role or state changed (the database holds the change already;
// nodes drop what they remember of the user).
type CredentialRevoked struct {
	SessionHash []byte    `json:"session_hash,omitempty"`
	TokenID     int64     `json:"token_id,omitempty"`
	TokenHash   []byte    `json:"token_hash,omitempty"`
	UserID      int64     `json:"user_id,omitempty"`
	At          time.Time `json:"at"`
}

// CredentialPeers carries CredentialRevoked to the other nodes of the
// cluster, which hand it to their Server.ForgetCredential.
type CredentialPeers interface {
	PublishCredentialRevoked(ctx context.Context, m CredentialRevoked) error
}

// ForgetCredential applies what another node announced: the credential
// is refused here at once and journaled until the database has applied
// it (RunRevocations). It fails only if it could not be journaled; it is
// refused from memory even then.
func (s *Server) ForgetCredential(m CredentialRevoked) error {
	s.closeLive(m)
	if m.UserID != 0 {
		s.known.forgetUser(m.UserID)
	}
	if len(m.SessionHash) == 0 && m.TokenID == 0 {
		return nil
	}
	rec := revocations.Record{SessionHash: m.SessionHash, TokenID: m.TokenID, TokenHash: m.TokenHash, At: m.At}
	s.known.forgetRecord(rec)
	if err := s.revoked.Add(rec); err != nil {
		return err
	}
	return nil
}

// ForgetAllCredentials drops every credential this node remembers; call
// it when the link to the other nodes was interrupted (announcements may
// have been missed). During a database outage that logs this node's users
// out until the database answers: the safe side.
func (s *Server) ForgetAllCredentials() { s.known.forgetAll() }

// RunRevocations applies journaled revocations to the database as soon as
// it answers — at once, then every interval — until ctx ends.
func (s *Server) RunRevocations(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		s.applyPending(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// applyPending applies what the journal holds; it returns how many are
// left. A database that hangs ends the round at the first timeout; a
// record that fails otherwise does not hold up the others.
func (s *Server) applyPending(ctx context.Context) int {
	pending := s.revoked.Pending()
	var done []revocations.Record
	var lastErr error
	for _, rec := range pending {
		actx, cancel := context.WithTimeout(ctx, revokeTimeout)
		err := s.applyRevocation(actx, rec)
		timedOut := actx.Err() != nil
		cancel()
		if err == nil {
			done = append(done, rec)
			continue
		}
		lastErr = err
		if timedOut {
			break
		}
	}
	if len(done) > 0 {
		if err := s.revoked.Remove(done...); err != nil {
			s.log.ErrorContext(ctx, "forget applied revocations", "err", err)
		}
		s.log.InfoContext(ctx, "journaled revocations applied to the database", "applied", len(done), "left", len(pending)-len(done))
	}
	if lastErr != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "journaled revocations wait for the database", "left", len(pending)-len(done), "err", lastErr)
	}
	return len(pending) - len(done)
}

// revoke ends a credential: on this node at once, on the others as soon as
// they hear of it, in the database now or, when it does not answer, from
// the journal later. applied tells which; err means the revocation is
// neither applied nor durable here (the caller must say it failed).
func (s *Server) revoke(ctx context.Context, rec revocations.Record) (applied bool, err error) {
	s.known.forgetRecord(rec)
	m := CredentialRevoked{SessionHash: rec.SessionHash, TokenID: rec.TokenID, TokenHash: rec.TokenHash, At: rec.At}
	s.closeLive(m)
	s.announce(ctx, m)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	applyErr := s.applyRevocation(actx, rec)
	cancel()
	if applyErr == nil {
		return true, nil
	}
	if err := s.revoked.Add(rec); err != nil {
		return false, errors.Join(applyErr, err)
	}
	s.log.WarnContext(ctx, "revocation journaled until the database answers", "durable", s.revoked.Durable(), "err", applyErr)
	return false, nil
}

// closeLive ends this node's live sockets opened with a credential that
// ended, or by a user who changed: they must not keep the rights they were
// opened with (the map logs in again).
func (s *Server) closeLive(m CredentialRevoked) {
	if s.live == nil {
		return
	}
	session, token := string(m.SessionHash), string(m.TokenHash)
	n := s.live.CloseViewers(func(v live.Viewer) bool {
		switch {
		case m.UserID != 0 && v.UserID == m.UserID:
			return true
		case session != "" && v.Credential == session:
			return true
		case m.TokenID != 0 && v.TokenID == m.TokenID:
			return true
		}
		return token != "" && v.Credential == token
	}, "credential ended: log in again")
	if n > 0 {
		s.log.Info("live sockets closed: their credential ended", "sockets", n, "user", m.UserID, "token", m.TokenID)
	}
}

// announce tells the other nodes; a failure is logged: they still refuse
// the credential once the database has it.
func (s *Server) announce(ctx context.Context, m CredentialRevoked) {
	if s.peers == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := s.peers.PublishCredentialRevoked(pctx, m); err != nil {
		s.log.WarnContext(ctx, "tell other nodes of a revocation", "err", err)
	}
}

// applyRevocation makes the database hold a revocation; it is idempotent.
func (s *Server) applyRevocation(ctx context.Context, rec revocations.Record) error {
	if len(rec.SessionHash) > 0 {
		if err := s.store.DeleteSession(ctx, rec.SessionHash); err != nil {
			return err
		}
	} else if _, err := s.store.RevokeAPIToken(ctx, rec.TokenID, rec.At); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if rec.Audit != nil {
		return s.store.AppendAudit(ctx, *rec.Audit)
	}
	return nil
}
