package server

import (
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func TestKnownUsersServeOnlyRecentAnswers(t *testing.T) {
	k := newKnownUsers(time.Hour)
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	k.remember([]byte("a"), store.User{Username: "ops"}, t0)
	if u, ok := k.recall([]byte("a"), t0.Add(59*time.Minute)); !ok || u.Username != "ops" {
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
}
