package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

// clientMsg is any message a client sends; Type selects the fields used.
type clientMsg struct {
	V       *int            `json:"v"`
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	BBox    []float64       `json:"bbox"`
	Devices []int64         `json:"devices"`
	Offset  json.RawMessage `json:"offset"`
	AlarmID int64           `json:"alarm_id"`
	Comment string          `json:"comment"`
}

// maxCommentLen bounds an acknowledgement comment (bytes).
const maxCommentLen = 2000

// readLoop reads client messages until the connection fails or ends. A
// client that stays silent, pongs included, for a ping interval plus the
// pong wait is dropped.
func (c *conn) readLoop() {
	cfg := &c.h.cfg
	c.ws.SetReadLimit(cfg.ReadLimit)
	extend := func() { _ = c.ws.SetReadDeadline(time.Now().Add(cfg.PingInterval + cfg.PongWait)) }
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if !c.closing() && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				c.h.log.Debug("live connection read ended", "user", c.v.UserID, "err", err)
			}
			return
		}
		extend()
		c.handle(data)
	}
}

func (c *conn) handle(data []byte) {
	var m clientMsg
	if err := json.Unmarshal(data, &m); err != nil {
		c.reply("", nil, errors.New("malformed message: want a JSON object"))
		return
	}
	if m.V != nil && *m.V != ProtocolVersion {
		c.reply(m.Type, m.ID, fmt.Errorf("unsupported protocol version %d, want %d", *m.V, ProtocolVersion))
		return
	}
	switch m.Type {
	case "subscribe":
		sub, err := newSubscription(m.BBox, m.Devices, c.h.cfg.BBoxMargin)
		if err != nil {
			c.reply(m.Type, m.ID, err)
			return
		}
		c.send(ctrlMsg{frame: replyFrame(m.Type, m.ID, ""), sub: &sub})
	case "resume":
		off, err := parseOffset(m.Offset)
		if err != nil {
			c.reply(m.Type, m.ID, err)
			return
		}
		c.send(ctrlMsg{sync: &syncRequest{resume: true, after: off}})
	case "ack":
		c.reply(m.Type, m.ID, c.ack(m.AlarmID, m.Comment))
	case "ping":
		c.send(ctrlMsg{frame: pongFrame(m.ID)})
	default:
		c.reply(m.Type, m.ID, fmt.Errorf("unknown message type %q", m.Type))
	}
}

// ack runs the server's Ack synchronously in the reader: the timeout is
// well below the read deadline, and a client waits for its own reply.
func (c *conn) ack(alarmID int64, comment string) error {
	switch {
	case !c.v.CanAck || c.h.cfg.Ack == nil:
		return errors.New("not allowed to acknowledge alarms")
	case alarmID <= 0:
		return errors.New("alarm_id: required")
	case len(comment) > maxCommentLen:
		return fmt.Errorf("comment: at most %d bytes", maxCommentLen)
	}
	ctx, cancel := c.callContext()
	defer cancel()
	return c.h.cfg.Ack(ctx, c.v, alarmID, comment)
}
