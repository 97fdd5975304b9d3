package server

import (
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/store"
)

func TestKnownUsersServeOnlyRecentAnswers(t *testing.T) {
	k := newKnownUsers(time.Hour)
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	k.remember([]byte("a"), knownUser{user: store.User{Username: "ops"}, checked: t0}, k.generation())
	if u, ok := k.recall([]byte("a"), t0.Add(59*time.Minute)); !ok || u.user.Username != "ops" {
		t.Fatalf("recall within the session lifetime: %v %v", u, ok)
	}
	if _, ok := k.recall([]byte("a"), t0.Add(61*time.Minute)); ok {
		t.Fatal("recalled an answer older than a session lasts")
	}
	if _, ok := k.recall([]byte("b"), t0); ok {
		t.Fatal("recalled a credential never seen")
	}
	k.forget([]byte("a"))
	if _, ok := k.recall([]byte("a"), t0); ok {
		t.Fatal("recalled a forgotten (logged out) credential")
	}

	// An API token is not recalled past its expiry.
	exp := t0.Add(10 * time.Minute)
	k.remember([]byte("tok"), knownUser{user: store.User{ID: 3}, checked: t0, tokenID: 9, expires: &exp}, k.generation())
	if _, ok := k.recall([]byte("tok"), exp.Add(-time.Second)); !ok {
		t.Fatal("token before its expiry not recalled")
	}
	if _, ok := k.recall([]byte("tok"), exp); ok {
		t.Fatal("recalled an expired token")
	}
	if owner, hash, ok := k.token(9); !ok || owner != 3 || string(hash) != "tok" {
		t.Fatalf("token(9) = %d %q %v", owner, hash, ok)
	}
	k.forgetRecord(revocations.Record{TokenID: 9})
	if k.has([]byte("tok")) {
		t.Fatal("a revoked token id is still remembered")
	}
}

func TestKnownUsersDropAnswersReadBeforeARemoval(t *testing.T) {
	k := newKnownUsers(time.Hour)
	t0 := time.Now()
	gen := k.generation() // a lookup starts …
	k.forget([]byte("s")) // … a logout of that session happens meanwhile …
	k.remember([]byte("s"), knownUser{user: store.User{ID: 1}, checked: t0}, gen)
	if k.has([]byte("s")) {
		t.Fatal("an answer read before a logout brought the session back into memory")
	}
	k.remember([]byte("s"), knownUser{user: store.User{ID: 1}, checked: t0}, k.generation())
	k.remember([]byte("o"), knownUser{user: store.User{ID: 2}, checked: t0}, k.generation())
	k.forgetUser(1)
	if k.has([]byte("s")) || !k.has([]byte("o")) {
		t.Fatal("forgetUser must drop exactly that user's credentials")
	}
}
