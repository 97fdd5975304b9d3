// Package live pushes vehicle positions and alarm events to map viewers over
// WebSocket (design.md §7), and carries a cluster's change notices.
//
// Three parts with one job each, after Centrifuge:
//
//   - Broker moves data between nodes: positions fan out through Pub/Sub and
//     a latest-position store, alarm events go through an append-only log
//     with offsets, change notices (device credentials, fences and rules)
//     through Pub/Sub. MemoryBroker serves a single node, RedisBroker many.
//   - Hub owns the connections of one node: subscriptions, per-connection
//     coalescing of positions (flushed once per tick) and immediate, ordered,
//     never silently dropped delivery of alarm events. It is the node's one
//     consumer of the broker and hands the rest of the node what it reads
//     (Config.OnAlarmEvents, OnChange, OnResync).
//   - The WebSocket transport (Hub.ServeWS) speaks the protocol in
//     PROTOCOL.md with one reader and one writer goroutine per connection.
//
// glue.go adapts the node's ingest side to the hub (AlarmPublisher,
// PositionStage).
//
// Offsets: every alarm event gets an int64 offset from the log, strictly
// increasing, of the form ms<<20 | seq (see offset.go). They are
// time-based so that a log that restarts empty (Redis without persistence,
// a restarted single node) never reissues offsets a client already holds.
// A node's own events never wait for the log: when it is unreachable or
// slow they reach the node's viewers first under node-local offsets, and
// the log's copy later only moves the viewers' offset (hub_alarms.go).
package live
