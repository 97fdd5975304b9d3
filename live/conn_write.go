package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

var errClosing = errors.New("connection closing")

// syncError is a failure to build a snapshot: the client is told to retry.
type syncError struct{ err error }

func (e *syncError) Error() string { return "snapshot: " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// writeLoop sends the first snapshot, then everything queued, until the
// connection ends; it then sends the close frame if there is a code.
func (c *conn) writeLoop(first syncRequest) {
	defer close(c.writerDone)
	err := c.batched(func() error { return c.sync(first) })
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	heartbeat := time.NewTicker(c.h.cfg.Heartbeat)
	defer heartbeat.Stop()
	for err == nil {
		select {
		case <-c.done: // checked first: no more data once kicked
			err = errClosing
			continue
		default:
		}
		select {
		case <-c.done:
			err = errClosing
		case <-c.wake:
			err = c.batched(c.flushQueued)
		case m := <-c.ctrl:
			switch {
			case m.sync != nil:
				err = c.batched(func() error { return c.sync(*m.sync) })
			case m.sub != nil:
				c.mu.Lock()
				c.sub, c.full = *m.sub, true // the next tick resends what is now visible
				c.mu.Unlock()
				err = c.write(m.frame)
			default:
				err = c.write(m.frame)
			}
		case <-ping.C:
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.cfg.WriteTimeout))
		case <-heartbeat.C:
			// Only to a connection sent nothing since the last tick (a busy
			// map sees frames anyway): an idle one gets one every tick, and
			// no connection goes two ticks without a frame.
			if !c.wrote {
				err = c.write(heartbeatFrame)
			}
			c.wrote = false
		}
	}
	c.finish(err)
}

// finish closes the socket, with a close frame when the socket still works.
func (c *conn) finish(err error) {
	var se *syncError
	if errors.As(err, &se) {
		c.h.log.Warn("live snapshot failed", "user", c.v.UserID, "err", err)
		c.kick(websocket.CloseInternalServerErr, "snapshot unavailable, retry")
	}
	c.shutdown()
	c.mu.Lock()
	code, text := c.closeCode, c.closeText
	c.mu.Unlock()
	if code != 0 && (errors.Is(err, errClosing) || se != nil) {
		msg := websocket.FormatCloseMessage(code, text)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.h.cfg.WriteTimeout))
	} else if err != nil && !errors.Is(err, errClosing) {
		c.h.log.Debug("live connection write failed", "user", c.v.UserID, "err", err)
	}
	_ = c.ws.Close() // unblocks the reader
}

// batched runs send with the socket's writes held, then writes them at
// once: every frame of one wake-up leaves in one system call.
func (c *conn) batched(send func() error) error {
	if c.out == nil {
		return send()
	}
	c.out.hold()
	err := send()
	if ferr := c.out.release(); err == nil && ferr != nil {
		err = fmt.Errorf("write frames: %w", ferr)
	}
	return err
}

func (c *conn) write(frame []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	c.h.stats.bytes.Add(uint64(len(frame)))
	c.wrote = true
	return nil
}

// flushQueued writes queued alarm events first, then the positions if the
// tick asked for a flush.
func (c *conn) flushQueued() error {
	c.mu.Lock()
	alarms := c.alarmQ
	c.alarmQ = nil
	posReady := c.posReady
	c.posReady = false
	c.mu.Unlock()
	for i, it := range alarms {
		alarms[i] = nil
		if it.offset <= c.sentOffset {
			continue // already sent in a snapshot replay
		}
		if c.closing() {
			return errClosing
		}
		if err := c.write(it.frame); err != nil {
			return err
		}
		c.sentOffset = it.offset
		c.h.stats.alarmFrames.Add(1)
	}
	if posReady {
		return c.flushPositions()
	}
	return nil
}

// flushPositions writes one positions frame: everything visible if a full
// resend is due, else the visible vehicles of the pending batches, newest
// position per vehicle.
func (c *conn) flushPositions() error {
	c.mu.Lock()
	full, batches, sub := c.full, c.batches, c.sub
	c.full, c.batches, c.pendingN = false, nil, 0
	c.mu.Unlock()
	// Batches taken before the last snapshot or full frame are older than
	// what it carried: sending them would move vehicles back.
	for len(batches) > 0 && batches[0].seq <= c.coveredSeq {
		batches = batches[1:]
	}
	if !full && len(batches) == 0 {
		return nil
	}
	h := c.h
	pp := h.getPositions()
	ps := *pp
	var frame []byte
	switch {
	case full:
		ps, c.coveredSeq = h.appendVisible(ps, &sub, &c.v)
	case len(batches) == 1:
		b := batches[0]
		for i := range b.ps {
			if c.v.canSee(b.ps[i].DeviceID) && sub.matches(&b.ps[i]) {
				ps = append(ps, b.ps[i])
			}
		}
		if len(ps) == len(b.ps) {
			frame = b.sharedFrame()
		}
	default: // the writer fell behind: coalesce, newest first wins
		seen := make(map[int64]struct{}, len(batches[len(batches)-1].ps))
		for j := len(batches) - 1; j >= 0; j-- {
			for i := range batches[j].ps {
				p := &batches[j].ps[i]
				if _, dup := seen[p.DeviceID]; dup {
					continue
				}
				seen[p.DeviceID] = struct{}{}
				if c.v.canSee(p.DeviceID) && sub.matches(p) {
					ps = append(ps, *p)
				}
			}
		}
	}
	var err error
	switch {
	case frame != nil:
		err = c.write(frame)
		h.stats.positionFrames.Add(1)
	case full || len(ps) > 0:
		bp := h.getBuf()
		b := appendPositionsFrame(*bp, ps, full)
		err = c.write(b)
		h.putBuf(bp, b)
		h.stats.positionFrames.Add(1)
	}
	h.putPositions(pp, ps)
	return err
}

// errReplayTooLong: replaying would cost more than a full snapshot.
var errReplayTooLong = errors.New("replay too long")

// replayPage is how many events one log read returns during a replay.
const replayPage = 500

// sync sends a snapshot. The offset it reports is taken before the open
// alarms are read, and every event after it is either queued on this
// connection (registered before) or replayed here; sentOffset then makes
// sure no event is written twice.
//
// A resume replays from the cluster log when it can: the offset is a log
// offset and no event of this node is outstanding ahead of the log (then
// the log holds exactly what the viewer missed, see hub_alarms.go).
// Otherwise it replays from the hub's ring of recent frames, which knows
// node-local offsets; failing both, the viewer gets a full snapshot.
func (c *conn) sync(req syncRequest) error {
	h := c.h
	c.mu.Lock()
	c.full, c.batches, c.pendingN = false, nil, 0 // the snapshot carries every visible vehicle
	sub := c.sub
	c.mu.Unlock()

	p := h.syncPoint(req)
	var (
		replay    []*alarmItem // from the ring, encoded
		replayLog []AlarmEvent // from the log, encoded as written
	)
	recovered := false
	if req.resume {
		var err error
		switch {
		case !isLocalOffset(req.after) && !p.diverged:
			ctx, cancel := c.callContext()
			if req.after > p.lastLog {
				p, err = c.catchUp(ctx, req, p)
			}
			if err == nil {
				replayLog, err = c.replay(ctx, req.after, p.lastLog)
			}
			cancel()
		case p.inRing:
			replay = p.ring
			if len(replay) > h.cfg.MaxReplay {
				err = errReplayTooLong
			}
		default:
			err = fmt.Errorf("offset %d: %w", req.after, ErrOffsetNotRetained)
		}
		switch {
		case err == nil:
			recovered = true
		case errors.Is(err, ErrOffsetNotRetained), errors.Is(err, errReplayTooLong):
			h.log.Debug("resume not recoverable, sending full snapshot", "user", c.v.UserID, "after", req.after, "err", err)
		case c.closing():
			return errClosing
		default:
			h.log.Warn("alarm replay failed, sending full snapshot", "user", c.v.UserID, "err", err)
		}
	}
	snap := snapshot{offset: p.last, resume: req.resume, recovered: recovered}
	if recovered {
		snap.offset = req.after
	} else {
		// A timeout of its own: a slow replay must not starve the fallback.
		ctx, cancel := c.callContext()
		alarms, err := h.cfg.OpenAlarms(ctx, c.v)
		cancel()
		if err != nil {
			if c.closing() {
				return errClosing
			}
			return &syncError{fmt.Errorf("open alarms: %w", err)}
		}
		snap.alarms = alarms
		if h.cfg.OpenIncidents != nil {
			incs, err := c.snapshotPart("incidents", h.cfg.OpenIncidents)
			if err != nil {
				return err
			}
			snap.incidents, snap.withIncidents = incs, true
		}
		if h.cfg.OpenSources != nil {
			srcs, err := c.snapshotPart("sources", h.cfg.OpenSources)
			if err != nil {
				return err
			}
			snap.sources, snap.withSources = srcs, true
		}
	}

	pp := h.getPositions()
	snap.positions, c.coveredSeq = h.appendVisible(*pp, &sub, &c.v)
	bp := h.getBuf()
	b := appendSnapshotFrame(*bp, snap)
	err := c.write(b)
	h.putBuf(bp, b)
	h.putPositions(pp, snap.positions)
	if err != nil {
		return err
	}

	if !snap.recovered {
		c.sentOffset = p.last
		return nil
	}
	for _, it := range replay {
		if it.deviceID != 0 && !c.v.canSee(it.deviceID) {
			continue
		}
		if err := c.write(it.frame); err != nil {
			return err
		}
		c.h.stats.alarmFrames.Add(1)
	}
	for _, ev := range replayLog {
		if err := c.write(alarmFrame(ev)); err != nil {
			return err
		}
		c.h.stats.alarmFrames.Add(1)
	}
	c.sentOffset = max(req.after, p.last)
	return nil
}

// snapshotPart reads one optional part of a full snapshot (open incidents,
// source estimates) with a timeout of its own.
func (c *conn) snapshotPart(name string, read func(context.Context, Viewer) ([]json.RawMessage, error)) ([]json.RawMessage, error) {
	ctx, cancel := c.callContext()
	defer cancel()
	part, err := read(ctx, c.v)
	if err != nil {
		if c.closing() {
			return nil, errClosing
		}
		return nil, &syncError{fmt.Errorf("open %s: %w", name, err)}
	}
	return part, nil
}

// catchUpWait bounds how long a resume waits for this node's feed to reach
// the offset a viewer got from another node (it trails by milliseconds).
const catchUpWait = time.Second

// catchUp waits until the hub has read the log up to req.after, an offset
// the viewer got from a node whose feed is ahead of this one's: replaying
// now would send again, under other offsets, events the queue will bring.
// An offset the log does not hold fails at once.
func (c *conn) catchUp(ctx context.Context, req syncRequest, p syncPoint) (syncPoint, error) {
	if _, err := c.replay(ctx, req.after, req.after); err != nil {
		return p, err
	}
	for deadline := time.Now().Add(catchUpWait); p.lastLog < req.after; p = c.h.syncPoint(req) {
		if time.Now().After(deadline) || c.closing() {
			return p, fmt.Errorf("offset %d: this node's alarm feed is behind it: %w", req.after, ErrOffsetNotRetained)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.diverged {
		return p, fmt.Errorf("offset %d: events of this node are ahead of the log: %w", req.after, ErrOffsetNotRetained)
	}
	return p, nil
}

// syncPoint is what a snapshot starts from, read in one step: the offset
// it reports, the log offset behind it and, for a resume, what the ring
// can replay.
type syncPoint struct {
	last, lastLog int64
	diverged      bool // events of this node reached viewers ahead of the log
	ring          []*alarmItem
	inRing        bool
}

func (h *Hub) syncPoint(req syncRequest) (p syncPoint) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	p.last, p.lastLog, p.diverged = h.lastIssued, h.lastLog, h.provisional > 0
	if req.resume {
		p.ring, p.inRing = h.ringAfterLocked(req.after)
	}
	return p
}

// replay reads the log's events in (after, last] that the viewer may see;
// later ones are in the queue. It always asks the log at least once, so
// that an offset the log does not know (ahead of it, or from an earlier
// log) is refused. Frames are encoded as they are written, one at a time:
// viewers resuming together after a lag must not each hold every frame of
// their replay (an emergency's incident frames run to megabytes).
func (c *conn) replay(ctx context.Context, after, last int64) ([]AlarmEvent, error) {
	var out []AlarmEvent
	for cur := after; ; {
		evs, err := c.h.broker.ReadAlarmsAfter(ctx, cur, replayPage)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Offset > last {
				return out, nil
			}
			if len(out) >= c.h.cfg.MaxReplay {
				return nil, errReplayTooLong
			}
			if ev.DeviceID == 0 || c.v.canSee(ev.DeviceID) {
				out = append(out, ev)
			}
		}
		if len(evs) < replayPage {
			return out, nil
		}
		cur = evs[len(evs)-1].Offset
	}
}
