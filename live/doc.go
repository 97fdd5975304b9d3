// Package live pushes vehicle positions and alarm events to map viewers over
// WebSocket (design.md §7).
//
// Three parts with one job each, after Centrifuge:
//
//   - Broker moves data between nodes: positions fan out through Pub/Sub and
//     a latest-position store, alarm events go through an append-only log
//     with offsets. MemoryBroker serves a single node, RedisBroker many.
//   - Hub owns the connections of one node: subscriptions, per-connection
//     coalescing of positions (flushed once per tick) and immediate, ordered,
//     never silently dropped delivery of alarm events.
//   - The WebSocket transport (Hub.ServeWS) speaks the protocol in
//     PROTOCOL.md with one reader and one writer goroutine per connection.
//
// Offsets: every alarm event gets an int64 offset from the log, strictly
// increasing, of the form ms<<20 | seq (see offset.go). They are
// time-based so that a log that restarts empty (Redis without persistence,
// a restarted single node) never reissues offsets a client already holds.
package live
