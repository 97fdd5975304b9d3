package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a RedisBroker; zero values take the defaults.
type RedisConfig struct {
	// Prefix of the keys and channel; nodes that share it form one cluster.
	// Default "radtrack:live".
	Prefix string
	// StreamMaxLen bounds the alarm log (approximate trimming). A viewer
	// away for more events than this gets a full snapshot. Default 100000.
	StreamMaxLen int64
	// ChannelSize is the Go buffer between go-redis's Pub/Sub reader and our
	// drain goroutine, in messages (batches). go-redis's default of 100 drops
	// messages once it is full for a minute. Default 4096.
	ChannelSize int
	// Block is the XREAD BLOCK timeout: how long Run may take to notice
	// that its context ended. Default 1s.
	Block time.Duration
	// PublishChunk caps the positions per Pub/Sub message. Default 500.
	PublishChunk int
	Logger       *slog.Logger
}

// RedisBroker is the multi-node Broker. Layout under Prefix:
//
//	<prefix>:positions  Pub/Sub channel, one message per batch chunk:
//	                    {"n":node,"p":[Position...]}
//	<prefix>:devices    Pub/Sub channel, change notices: a device id
//	<prefix>:config     Pub/Sub channel, change notices: "0" (fences, rules)
//	<prefix>:credentials Pub/Sub channel, change notices: a revoked session
//	                    or API token as JSON (server.CredentialRevoked)
//	<prefix>:latest     hash device id → Position JSON (snapshots, resync)
//	<prefix>:alarms     stream, one entry per alarm event: p=<previous
//	                    entry id> e=<event JSON> i=<event id, if any>; the
//	                    first entry of every stream incarnation is a marker
//	                    genesis=1
//
// One Pub/Sub connection carries the four channels: a node consumes the
// broker once (Run), whatever it does with the messages.
//
// The prev field makes gaps detectable: an entry whose prev is not the ID
// the reader saw last means entries were trimmed or the stream restarted
// (Redis lost its data). The genesis marker makes offsets of an earlier
// incarnation unresumable.
type RedisBroker struct {
	rdb     redis.UniversalClient
	cfg     RedisConfig
	log     *slog.Logger
	node    string // skips our own Pub/Sub messages: the hub delivered them
	channel string
	devices string
	config  string
	creds   string
	latest  string
	stream  string
}

// NewRedisBroker returns a broker over rdb. rdb stays owned by the caller;
// close it after Run has returned.
func NewRedisBroker(rdb redis.UniversalClient, cfg RedisConfig) *RedisBroker {
	if cfg.Prefix == "" {
		cfg.Prefix = "radtrack:live"
	}
	if cfg.StreamMaxLen <= 0 {
		cfg.StreamMaxLen = 100000
	}
	if cfg.ChannelSize <= 0 {
		cfg.ChannelSize = 4096
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.PublishChunk <= 0 {
		cfg.PublishChunk = 500
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &RedisBroker{
		rdb: rdb, cfg: cfg, log: log.With("component", "live.redis"),
		node:    hex.EncodeToString(id[:]),
		channel: cfg.Prefix + ":positions",
		devices: cfg.Prefix + ":" + string(ChangeDevice),
		config:  cfg.Prefix + ":" + string(ChangeConfig),
		creds:   cfg.Prefix + ":" + string(ChangeCredential),
		latest:  cfg.Prefix + ":latest",
		stream:  cfg.Prefix + ":alarms",
	}
}

// appendScript appends an event (or, with an empty payload, only makes sure
// the stream exists) and links it to the current last entry. Running as a
// script makes reading the last ID and appending atomic across nodes.
// Trimming never removes the last entry, so XREVRANGE sees the real head.
// An event whose id (ARGV[3]) is among the newest ARGV[4] entries is not
// appended again: a retry after a lost reply, or after Redis, frozen
// while a timed-out append waited in its socket buffer, ran it late,
// returns the entry already there.
var appendScript = redis.NewScript(`
local recent = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[4])
local prev
if #recent == 0 then
  prev = redis.call('XADD', KEYS[1], '*', 'genesis', '1')
else
  prev = recent[1][1]
end
if ARGV[2] == '' then
  return prev
end
if ARGV[3] == '' then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 'e', ARGV[2])
end
for _, e in ipairs(recent) do
  local f = e[2]
  for j = 1, #f - 1, 2 do
    if f[j] == 'i' and f[j + 1] == ARGV[3] then
      return e[1]
    end
  end
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 'e', ARGV[2], 'i', ARGV[3])
`)

// dedupWindow is how many of the newest entries an append searches for its
// event id.
const dedupWindow = 32

// PublishPositions stores the batch in the latest hash and publishes it, in
// one pipelined round trip. HSET goes first so that a node that misses the
// message while resubscribing finds the position when it resyncs.
func (b *RedisBroker) PublishPositions(ctx context.Context, ps []Position) error {
	if len(ps) == 0 {
		return nil
	}
	raws := make([][]byte, len(ps))
	fields := make([]any, 0, 2*len(ps))
	for i := range ps {
		raw, _ := ps[i].MarshalJSON()
		raws[i] = raw
		fields = append(fields, strconv.FormatInt(ps[i].DeviceID, 10), raw)
	}
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, b.latest, fields...)
		for i := 0; i < len(raws); i += b.cfg.PublishChunk {
			p.Publish(ctx, b.channel, b.batchMessage(raws[i:min(i+b.cfg.PublishChunk, len(raws))]))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish %d positions to redis: %w", len(ps), err)
	}
	return nil
}

func (b *RedisBroker) batchMessage(raws [][]byte) []byte {
	n := 32
	for _, r := range raws {
		n += len(r) + 1
	}
	msg := make([]byte, 0, n)
	msg = append(msg, `{"n":"`...)
	msg = append(msg, b.node...)
	msg = append(msg, `","p":[`...)
	for i, r := range raws {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, r...)
	}
	return append(msg, "]}"...)
}

// LatestPositions reads the latest hash.
func (b *RedisBroker) LatestPositions(ctx context.Context) ([]Position, error) {
	m, err := b.rdb.HGetAll(ctx, b.latest).Result()
	if err != nil {
		return nil, fmt.Errorf("read latest positions from redis: %w", err)
	}
	ps := make([]Position, 0, len(m))
	for field, raw := range m {
		var p Position
		if err := p.UnmarshalJSON([]byte(raw)); err != nil {
			b.log.Warn("skip malformed latest position", "device", field, "err", err)
			continue
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// AppendAlarm appends ev to the stream. On a network error the event may
// or may not have been appended (go-redis may even retry it): alarm events
// are state updates, so the caller may retry safely.
func (b *RedisBroker) AppendAlarm(ctx context.Context, ev AlarmEvent) (int64, error) {
	if !validEventType(ev.Type) {
		return 0, fmt.Errorf("append alarm event: unknown type %q", ev.Type)
	}
	payload, err := json.Marshal(ev.stored())
	if err != nil {
		return 0, fmt.Errorf("encode alarm event %d: %w", ev.AlarmID, err)
	}
	window := 1
	if ev.EID != "" {
		window = dedupWindow
	}
	id, err := appendScript.Run(ctx, b.rdb, []string{b.stream}, b.cfg.StreamMaxLen, payload, ev.EID, window).Text()
	if err != nil {
		return 0, fmt.Errorf("append alarm event %d to redis stream: %w", ev.AlarmID, err)
	}
	return offsetFromID(id)
}

// LastAlarmOffset returns the offset of the stream's last entry, creating
// the stream with its genesis marker if needed.
func (b *RedisBroker) LastAlarmOffset(ctx context.Context) (int64, error) {
	id, err := appendScript.Run(ctx, b.rdb, []string{b.stream}, b.cfg.StreamMaxLen, "", "", 1).Text()
	if err != nil {
		return 0, fmt.Errorf("read alarm log head from redis: %w", err)
	}
	return offsetFromID(id)
}

// PublishChange publishes a change notice on its kind's channel.
func (b *RedisBroker) PublishChange(ctx context.Context, c Change) error {
	if !c.valid() {
		return fmt.Errorf("publish change: unknown kind %q", c.Kind)
	}
	ch, payload := b.devices, strconv.FormatInt(c.ID, 10)
	switch c.Kind {
	case ChangeConfig:
		ch = b.config
	case ChangeCredential:
		ch, payload = b.creds, string(c.Data)
	}
	if err := b.rdb.Publish(ctx, ch, payload).Err(); err != nil {
		return fmt.Errorf("publish %s change %d: %w", c.Kind, c.ID, err)
	}
	return nil
}

// entry is a decoded stream entry.
type entry struct {
	off, prev int64
	genesis   bool
	ev        AlarmEvent
}

func decodeEntry(m redis.XMessage) (entry, error) {
	off, err := offsetFromID(m.ID)
	if err != nil {
		return entry{}, err
	}
	if _, ok := m.Values["genesis"]; ok {
		return entry{off: off, genesis: true}, nil
	}
	prevID, _ := m.Values["p"].(string)
	raw, _ := m.Values["e"].(string)
	prev, err := offsetFromID(prevID)
	if err != nil {
		return entry{off: off}, fmt.Errorf("alarm log entry %s: prev: %w", m.ID, err)
	}
	var s storedEvent
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return entry{off: off, prev: prev}, fmt.Errorf("alarm log entry %s: %w", m.ID, err)
	}
	ev := s.event(off)
	ev.EID, _ = m.Values["i"].(string)
	return entry{off: off, prev: prev, ev: ev}, nil
}

// ReadAlarmsAfter reads entries after the offset and the stream head in one
// MULTI, then checks that the first entry links back to the offset.
func (b *RedisBroker) ReadAlarmsAfter(ctx context.Context, after int64, limit int) ([]AlarmEvent, error) {
	if limit <= 0 {
		limit = 1000
	}
	start := "-"
	if after > 0 {
		start = "(" + idFromOffset(after)
	}
	var rng, head *redis.XMessageSliceCmd
	if _, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rng = p.XRangeN(ctx, b.stream, start, "+", int64(limit))
		head = p.XRevRangeN(ctx, b.stream, "+", "-", 1)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read alarm log after %d: %w", after, err)
	}
	notRetained := func(why string) error {
		return fmt.Errorf("read alarm log after %d: %s: %w", after, why, ErrOffsetNotRetained)
	}
	if len(head.Val()) == 0 {
		return nil, notRetained("log is empty")
	}
	headOff, err := offsetFromID(head.Val()[0].ID)
	if err != nil {
		return nil, err
	}
	if after > headOff {
		return nil, notRetained("offset is ahead of the log")
	}
	var out []AlarmEvent
	prev := after
	for _, m := range rng.Val() {
		e, err := decodeEntry(m)
		if err != nil {
			return nil, notRetained(err.Error())
		}
		if e.genesis || e.prev != prev {
			return nil, notRetained("entries were trimmed or the log restarted")
		}
		out = append(out, e.ev)
		prev = e.off
	}
	return out, nil
}

// Run drains Pub/Sub in one goroutine and tails the stream in another.
func (b *RedisBroker) Run(ctx context.Context, after int64, sink Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var drainErr error
	wg.Go(func() {
		drainErr = b.drain(ctx, sink)
		cancel() // a dead drain ends Run so that the hub restarts both
	})
	b.tail(ctx, after, sink)
	wg.Wait()
	return drainErr
}

// drain moves Pub/Sub messages into the hub. go-redis reconnects and
// resubscribes by itself; each (re)subscription is reported as a resync
// because messages published while it was down are gone. The resync comes
// with the last channel's confirmation, when nothing can be missed any more.
func (b *RedisBroker) drain(ctx context.Context, sink Sink) error {
	channels := []string{b.channel, b.devices, b.config, b.creds}
	ps := b.rdb.Subscribe(ctx, channels...)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(b.cfg.ChannelSize))
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return errors.New("redis pub/sub channel closed")
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" && m.Count == len(channels) {
					b.log.Debug("subscribed", "channels", channels)
					sink.resync()
				}
			case *redis.Message:
				switch m.Channel {
				case b.channel:
					if ps, ok := b.decodeBatch(m.Payload); ok {
						sink.positions(ps)
					}
				case b.creds:
					if !json.Valid([]byte(m.Payload)) {
						b.log.Warn("skip malformed change notice", "channel", m.Channel)
						continue
					}
					sink.changes(Change{Kind: ChangeCredential, Data: json.RawMessage(m.Payload)})
				case b.devices, b.config:
					id, err := strconv.ParseInt(m.Payload, 10, 64)
					if err != nil {
						b.log.Warn("skip malformed change notice", "channel", m.Channel, "payload", m.Payload)
						continue
					}
					kind := ChangeDevice
					if m.Channel == b.config {
						kind = ChangeConfig
					}
					sink.changes(Change{Kind: kind, ID: id})
				}
			}
		}
	}
}

func (b *RedisBroker) decodeBatch(payload string) ([]Position, bool) {
	var msg struct {
		N string     `json:"n"`
		P []Position `json:"p"`
	}
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		b.log.Warn("skip malformed position batch", "err", err)
		return nil, false
	}
	return msg.P, msg.N != b.node
}

// headCheckEvery is how often an idle tail verifies that the stream did not
// move backwards (restarted with a clock behind our last ID: XREAD would
// then block forever).
const headCheckEvery = 10 * time.Second

// tail follows the stream with XREAD BLOCK from the last ID it delivered,
// so a reconnect resumes exactly where it stopped.
func (b *RedisBroker) tail(ctx context.Context, last int64, sink Sink) {
	bo := newBackoff(50*time.Millisecond, 5*time.Second)
	failing := false
	lastCheck := time.Now()
	for ctx.Err() == nil {
		res, err := b.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{b.stream, idFromOffset(last)},
			Count:   512,
			Block:   b.cfg.Block,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				b.log.Warn("alarm log tail failed, reconnecting", "err", err)
				failing = true
			}
			bo.wait(ctx)
			continue
		}
		if failing {
			b.log.Info("alarm log tail recovered", "after", last)
			failing = false
			bo.reset()
			lastCheck = time.Time{} // check the head now
		}
		var evs []AlarmEvent
		for _, s := range res {
			for _, m := range s.Messages {
				e, err := decodeEntry(m)
				switch {
				case err != nil:
					b.log.Error("undecodable alarm log entry: viewers resync", "err", err)
				case e.genesis:
					b.log.Warn("alarm log restarted: viewers resync", "id", m.ID)
				case e.prev != last:
					b.log.Warn("alarm log gap: viewers resync", "expected_prev", idFromOffset(last), "prev", idFromOffset(e.prev))
				default:
					evs = append(evs, e.ev)
					last = e.off
					continue
				}
				// Deliver what came before the gap, then report it; an event
				// after a gap is still delivered, an unreadable one cannot be.
				sink.alarms(evs)
				evs = nil
				if err == nil && !e.genesis {
					sink.reset(e.prev)
					evs = append(evs, e.ev)
				} else {
					sink.reset(e.off)
				}
				last = e.off
			}
		}
		sink.alarms(evs)
		if len(res) == 0 && time.Since(lastCheck) >= headCheckEvery {
			lastCheck = time.Now()
			last = b.checkHead(ctx, last, sink)
		}
	}
}

func (b *RedisBroker) checkHead(ctx context.Context, last int64, sink Sink) int64 {
	msgs, err := b.rdb.XRevRangeN(ctx, b.stream, "+", "-", 1).Result()
	if err != nil || len(msgs) == 0 {
		return last // unreachable or not created yet: a new stream starts with genesis
	}
	head, err := offsetFromID(msgs[0].ID)
	if err != nil || head >= last {
		return last
	}
	b.log.Warn("alarm log head is behind the last delivered entry: viewers resync", "head", msgs[0].ID, "last", idFromOffset(last))
	sink.reset(head)
	return head
}
