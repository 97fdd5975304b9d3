package live

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// PublishPositions hands positions to local viewers and, in the background,
// to the other nodes. It never blocks on the network: when the broker is
// slow or down, positions are coalesced per device and sent later.
func (h *Hub) PublishPositions(ps ...Position) {
	if h.applyPositions(ps, true) > 0 {
		select {
		case h.outWake <- struct{}{}:
		default:
		}
	}
}

// applyPositions stores the positions that are newer than what the hub has
// and marks them for the next tick; local ones are also queued for the
// broker. It returns how many were accepted.
func (h *Hub) applyPositions(ps []Position, local bool) int {
	n := 0
	h.posMu.Lock()
	if local {
		h.outMu.Lock()
	}
	for i := range ps {
		p := &ps[i]
		if !validLonLat(p.Lon, p.Lat) {
			continue
		}
		if old, ok := h.latest[p.DeviceID]; ok && !p.newerThan(&old) {
			continue
		}
		h.latest[p.DeviceID] = *p
		h.dirty[p.DeviceID] = struct{}{}
		if local {
			h.outbound[p.DeviceID] = *p
		}
		n++
	}
	if local {
		h.outMu.Unlock()
	}
	h.posMu.Unlock()
	return n
}

// publishLoop sends local positions to the broker, one batch at a time.
// While a publish is in flight, new positions coalesce in h.outbound.
func (h *Hub) publishLoop(ctx context.Context) {
	bo := newBackoff(200*time.Millisecond, 5*time.Second)
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.outWake:
		}
		h.outMu.Lock()
		batch := make([]Position, 0, len(h.outbound))
		for _, p := range h.outbound {
			batch = append(batch, p)
		}
		clear(h.outbound)
		h.outMu.Unlock()
		if len(batch) == 0 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, h.cfg.PublishTimeout)
		err := h.broker.PublishPositions(pctx, batch)
		cancel()
		if err == nil {
			if failing {
				h.log.Info("position publishing recovered")
				failing = false
				bo.reset()
			}
			continue
		}
		h.stats.publishErrors.Add(1)
		if !failing && ctx.Err() == nil {
			h.log.Warn("position publishing failed; local viewers unaffected, retrying", "err", err)
			failing = true
		}
		// Put back what was not superseded so that other nodes and the
		// latest store get every vehicle's last position once the broker
		// is back, even if it stopped moving.
		h.outMu.Lock()
		for _, p := range batch {
			if _, newer := h.outbound[p.DeviceID]; !newer {
				h.outbound[p.DeviceID] = p
			}
		}
		h.outMu.Unlock()
		if !bo.wait(ctx) {
			return
		}
		select {
		case h.outWake <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) requestResync() {
	select {
	case h.resyncWake <- struct{}{}:
	default:
	}
}

// resyncLoop reloads the latest positions after the broker's position feed
// (re)connected, catching up on whatever was published meanwhile.
func (h *Hub) resyncLoop(ctx context.Context) {
	bo := newBackoff(200*time.Millisecond, 5*time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.resyncWake:
		}
		for {
			lctx, cancel := context.WithTimeout(ctx, h.cfg.CallTimeout)
			ps, err := h.broker.LatestPositions(lctx)
			cancel()
			if err == nil {
				h.applyPositions(ps, false)
				bo.reset()
				break
			}
			h.log.Warn("position resync failed, retrying", "err", err)
			if !bo.wait(ctx) {
				return
			}
		}
	}
}

func (h *Hub) tickLoop(ctx context.Context) {
	t := time.NewTicker(h.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.ticks++
			h.flushCoalesced(h.ticks%max(1, int(h.cfg.ProgressEvery/h.cfg.Tick)) == 0)
			h.tick()
		}
	}
}

// tickBatch is the set of vehicles updated during one tick, shared by all
// connections and never modified. Handing every connection a pointer keeps
// the tick O(connections); each writer filters it for its viewer.
type tickBatch struct {
	seq   int64
	ps    []Position
	once  sync.Once
	frame []byte // incremental frame of all of ps, built once on demand
}

// sharedFrame returns the frame for a viewer that sees the whole batch,
// the common case of a control-room map: encoded once per tick, not once
// per connection.
func (b *tickBatch) sharedFrame() []byte {
	b.once.Do(func() { b.frame = appendPositionsFrame(nil, b.ps, false) })
	return b.frame
}

// tick hands the vehicles updated since the last tick to every connection
// and wakes the writers that have something to send.
func (h *Hub) tick() {
	var batch *tickBatch
	h.posMu.Lock()
	if len(h.dirty) > 0 {
		h.tickSeq++
		batch = &tickBatch{seq: h.tickSeq, ps: make([]Position, 0, len(h.dirty))}
		for id := range h.dirty {
			batch.ps = append(batch.ps, h.latest[id])
		}
		clear(h.dirty)
	}
	h.posMu.Unlock()

	h.mu.RLock()
	conns := h.tickConns[:0]
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()

	for _, c := range conns {
		c.offer(batch)
	}
	clear(conns) // do not keep closed connections alive
	h.tickConns = conns[:0]
}

// appendVisible appends the latest position of every vehicle the viewer may
// see and the subscription selects. seq is the newest tick batch whose
// content the result already covers.
func (h *Hub) appendVisible(ps []Position, sub *subscription, v *Viewer) (_ []Position, seq int64) {
	h.posMu.RLock()
	defer h.posMu.RUnlock()
	for id := range h.latest {
		p := h.latest[id]
		if v.canSee(id) && sub.matches(&p) {
			ps = append(ps, p)
		}
	}
	return ps, h.tickSeq
}

// ErrNotReady means Run has not loaded the latest positions yet: the hub's
// state would claim an empty fleet. Ask again shortly.
var ErrNotReady = errors.New("live: hub not ready")

// LatestPositions returns the latest position of every vehicle v may see,
// ordered by device id: the positions a full snapshot carries, for clients
// that poll instead of holding a WebSocket. A non-empty bbox [west, south,
// east, north] keeps the vehicles inside it, without the subscription's
// margin (the caller asked for exactly that box); west > east crosses the
// antimeridian.
func (h *Hub) LatestPositions(v Viewer, bbox []float64) ([]Position, error) {
	select {
	case <-h.ready:
	default:
		return nil, ErrNotReady
	}
	var sub subscription
	if len(bbox) > 0 {
		b, err := parseBBox(bbox, 0)
		if err != nil {
			return nil, err
		}
		sub.hasBox, sub.box = true, b
	}
	ps, _ := h.appendVisible(nil, &sub, &v)
	slices.SortFunc(ps, func(a, b Position) int { return cmp.Compare(a.DeviceID, b.DeviceID) })
	return ps, nil
}

// AppendPositionColumns appends ps as the columnar positions object of a
// snapshot (uid and name included, PROTOCOL.md), so REST answers have the
// same shape as the socket's.
func AppendPositionColumns(b []byte, ps []Position) []byte {
	return appendColumns(b, ps, true)
}
