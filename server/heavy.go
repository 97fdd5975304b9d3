package server

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// heavyLimit bounds the queries that read without a row cap (track
// streams, exports, dose accounting, heatmaps): each holds a database
// connection and a response for as long as its client reads, so their
// number, not their size, is what costs memory and connections. A user
// may run perUser at once and the node total; beyond that the request
// gets 429 at once rather than queueing behind a long export.
type heavyLimit struct {
	mu       sync.Mutex
	perUser  int
	total    int
	running  int
	byUser   map[int64]int
	retryFor time.Duration
}

func newHeavyLimit(perUser, total int) *heavyLimit {
	return &heavyLimit{perUser: perUser, total: total, byUser: map[int64]int{}, retryFor: 5 * time.Second}
}

// acquire takes a slot for user; ok is false when the user or the node is
// at its cap. release must be called once when the query ends.
func (h *heavyLimit) acquire(user int64) (release func(), who string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.perUser > 0 && h.byUser[user] >= h.perUser:
		return nil, "you already run " + strconv.Itoa(h.byUser[user]) + " large queries (the most per user is " + strconv.Itoa(h.perUser) + ")", false
	case h.total > 0 && h.running >= h.total:
		return nil, "the server already runs its most large queries (" + strconv.Itoa(h.total) + ")", false
	}
	h.running++
	h.byUser[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.running--
			if h.byUser[user]--; h.byUser[user] <= 0 {
				delete(h.byUser, user)
			}
		})
	}, "", true
}

// heavy takes a slot for the request's user, or answers 429 with
// Retry-After and a JSON body and returns false.
func (s *Server) heavy(w http.ResponseWriter, userID int64) (func(), bool) {
	release, why, ok := s.heavyQueries.acquire(userID)
	if !ok {
		s.heavyRefused.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(s.heavyQueries.retryFor/time.Second)))
		writeError(w, http.StatusTooManyRequests, "", why+"; retry when one has finished")
		return nil, false
	}
	return release, true
}

// heavyRefusedCounter registers (or finds, when a test builds several
// servers on one registry) the count of large queries refused with 429.
func heavyRefusedCounter(reg *prometheus.Registry) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "radtrack_heavy_queries_refused_total",
		Help: "Large queries (tracks, exports, dose accounting, heatmaps) refused with 429 because the user or the node ran its most at once.",
	})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector.(prometheus.Counter)
		}
	}
	return c
}
