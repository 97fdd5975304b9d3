package server

import (
	"sync"
	"time"

	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/store"
)

// knownUsers remembers whom each credential (session or API token hash)
// last resolved to, so that a control room stays logged in while the
// database is unreachable: a lookup that gets no answer falls back to the
// last answer, if it is younger than a session lasts (and the token has
// not expired since). Lookups that do get an answer always use it, so
// logouts, revocations and deactivations take effect at once whenever the
// database can tell; a revocation made here or announced by another node
// removes the entry at once.
type knownUsers struct {
	maxAge time.Duration

	mu     sync.Mutex
	byHash map[string]knownUser
	// gen moves on every removal. An answer read from the database before
	// a removal is not remembered after it, so a lookup racing a logout
	// cannot bring the logged-out credential back.
	gen uint64
}

type knownUser struct {
	user    store.User // as the credential acts (an API token's role applied)
	checked time.Time
	tokenID int64      // API token id; 0 for a session
	expires *time.Time // API token expiry
}

// maxKnownUsers bounds the map; when full it is emptied (the next lookup
// of each credential fills it again).
const maxKnownUsers = 10_000

func newKnownUsers(maxAge time.Duration) *knownUsers {
	return &knownUsers{maxAge: maxAge, byHash: map[string]knownUser{}}
}

// generation is read before a database lookup and handed to remember.
func (k *knownUsers) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

// remember stores an answer the database gave, unless something was
// removed since gen was read.
func (k *knownUsers) remember(hash []byte, ku knownUser, gen uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if gen != k.gen {
		return
	}
	if len(k.byHash) >= maxKnownUsers {
		clear(k.byHash)
	}
	k.byHash[string(hash)] = ku
}

// has reports whether the credential is remembered (at any age).
func (k *knownUsers) has(hash []byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.byHash[string(hash)]
	return ok
}

func (k *knownUsers) forget(hash []byte) {
	k.remove(func(h string, _ knownUser) bool { return h == string(hash) })
}

// forgetRecord removes the credential a revocation names.
func (k *knownUsers) forgetRecord(r revocations.Record) {
	k.remove(func(h string, ku knownUser) bool {
		return (len(r.SessionHash) > 0 && h == string(r.SessionHash)) ||
			(len(r.TokenHash) > 0 && h == string(r.TokenHash)) ||
			(r.TokenID != 0 && ku.tokenID == r.TokenID)
	})
}

// forgetUser removes every credential of a user (after a change to it).
func (k *knownUsers) forgetUser(userID int64) {
	k.remove(func(_ string, ku knownUser) bool { return ku.user.ID == userID })
}

func (k *knownUsers) forgetAll() { k.remove(func(string, knownUser) bool { return true }) }

func (k *knownUsers) remove(match func(hash string, ku knownUser) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	for h, ku := range k.byHash {
		if match(h, ku) {
			delete(k.byHash, h)
		}
	}
}

// recall returns what hash last resolved to, if that was recent enough
// and the credential has not expired since.
func (k *knownUsers) recall(hash []byte, now time.Time) (knownUser, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ku, ok := k.byHash[string(hash)]
	if !ok || now.Sub(ku.checked) > k.maxAge || (ku.expires != nil && !now.Before(*ku.expires)) {
		return knownUser{}, false
	}
	return ku, true
}

// token returns the owner and hash of an API token this node knows.
func (k *knownUsers) token(id int64) (ownerID int64, hash []byte, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, ku := range k.byHash {
		if ku.tokenID == id {
			return ku.user.ID, []byte(h), true
		}
	}
	return 0, nil, false
}
