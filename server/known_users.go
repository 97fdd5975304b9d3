package server

import (
	"sync"
	"time"

	"github.com/radtrack/radtrack/store"
)

// knownUsers remembers whom each credential (session or API token hash)
// last resolved to, so that a control room stays logged in while the
// database is unreachable: a lookup that gets no answer falls back to the
// last answer, if it is younger than a session lasts. Lookups that do get
// an answer always use it, so logouts, revocations and deactivations take
// effect at once whenever the database can tell.
type knownUsers struct {
	maxAge time.Duration

	mu     sync.Mutex
	byHash map[string]knownUser
}

type knownUser struct {
	user    store.User
	checked time.Time
}

// maxKnownUsers bounds the map; when full it is emptied (the next lookup
// of each credential fills it again).
const maxKnownUsers = 10_000

func newKnownUsers(maxAge time.Duration) *knownUsers {
	return &knownUsers{maxAge: maxAge, byHash: map[string]knownUser{}}
}

func (k *knownUsers) remember(hash []byte, u store.User, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.byHash) >= maxKnownUsers {
		clear(k.byHash)
	}
	k.byHash[string(hash)] = knownUser{user: u, checked: now}
}

func (k *knownUsers) forget(hash []byte) {
	k.mu.Lock()
	delete(k.byHash, string(hash))
	k.mu.Unlock()
}

// recall returns the user hash last resolved to, if that was recent enough.
func (k *knownUsers) recall(hash []byte, now time.Time) (store.User, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ku, ok := k.byHash[string(hash)]
	if !ok || now.Sub(ku.checked) > k.maxAge {
		return store.User{}, false
	}
	return ku.user, true
}
