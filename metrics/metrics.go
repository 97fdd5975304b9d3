// Package metrics defines RadTrack's Prometheus metrics. A Metrics value is
// created once per server on its own registry (no global state) and handed
// to the parts that count.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector RadTrack exports.
type Metrics struct {
	Registry *prometheus.Registry

	SamplesAccepted *prometheus.CounterVec // by protocol
	SamplesRejected *prometheus.CounterVec // by protocol, reason
	RequestsRefused *prometheus.CounterVec // whole requests refused, by protocol, reason
	QueueDepth      prometheus.Gauge       // samples waiting for commit
	BatchSize       prometheus.Histogram   // samples per committed batch
	CommitSeconds   prometheus.Histogram   // time to commit one batch
	CommitErrors    prometheus.Counter
	SpoolBytes      prometheus.Gauge   // bytes waiting in the disk spool
	SpooledSamples  prometheus.Counter // samples written to the spool
	SpoolReplayed   prometheus.Counter // samples moved from the spool to the database
	// SpoolDeadLettered counts spooled samples the database refused for
	// good, set aside in the spool's dead-letter log.
	SpoolDeadLettered    prometheus.Counter
	SpoolDeadLetterBytes prometheus.Gauge
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		SamplesAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_samples_accepted_total", Help: "Samples committed to storage, by protocol.",
		}, []string{"protocol"}),
		SamplesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_samples_rejected_total", Help: "Samples refused as invalid, by protocol and reason (the field at fault; \"not_storable\": refused by the database itself).",
		}, []string{"protocol", "reason"}),
		RequestsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_requests_refused_total", Help: "Whole ingest requests refused, by protocol and reason.",
		}, []string{"protocol", "reason"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "radtrack_ingest_queue_samples", Help: "Samples accepted and waiting for their commit.",
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "radtrack_commit_batch_samples", Help: "Samples per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "radtrack_commit_seconds", Help: "Time to commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radtrack_commit_errors_total", Help: "Batches whose commit failed.",
		}),
	}
	m.SpoolBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "radtrack_spool_bytes", Help: "Bytes of acknowledged samples waiting on local disk for the database.",
	})
	m.SpooledSamples = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "radtrack_spooled_samples_total", Help: "Samples written to the disk spool while the database was unavailable.",
	})
	m.SpoolReplayed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "radtrack_spool_replayed_samples_total", Help: "Samples moved from the disk spool into the database.",
	})
	m.SpoolDeadLettered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "radtrack_spool_deadlettered_samples_total", Help: "Spooled samples the database refused for good, set aside in the spool's dead-letter log during replay.",
	})
	m.SpoolDeadLetterBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "radtrack_spool_deadletter_bytes", Help: "Bytes held by the spool's dead-letter log (radtrack deadletter list).",
	})
	reg.MustRegister(m.SpoolBytes, m.SpooledSamples, m.SpoolReplayed, m.SpoolDeadLettered, m.SpoolDeadLetterBytes)
	reg.MustRegister(m.SamplesAccepted, m.SamplesRejected, m.RequestsRefused, m.QueueDepth, m.BatchSize, m.CommitSeconds, m.CommitErrors)
	return m
}

// LiveStats is what the live push reports for metrics.
type LiveStats struct {
	Connections                                                       int
	Lagging, PositionFrames, AlarmFrames, BytesWritten, PublishErrors uint64
}

// RegisterLive exports the live push's counters, read at scrape time.
func (m *Metrics) RegisterLive(stats func() LiveStats) {
	gauge := func(name, help string, v func(LiveStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	counter := func(name, help string, v func(LiveStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	m.Registry.MustRegister(
		gauge("radtrack_websocket_clients", "Open WebSocket connections of map viewers.", func(s LiveStats) float64 { return float64(s.Connections) }),
		counter("radtrack_websocket_position_frames_total", "Position frames sent to viewers.", func(s LiveStats) float64 { return float64(s.PositionFrames) }),
		counter("radtrack_websocket_alarm_frames_total", "Alarm frames sent to viewers.", func(s LiveStats) float64 { return float64(s.AlarmFrames) }),
		counter("radtrack_websocket_bytes_total", "Bytes written to viewers.", func(s LiveStats) float64 { return float64(s.BytesWritten) }),
		counter("radtrack_websocket_lagging_total", "Viewers closed for falling behind (4008, they resume).", func(s LiveStats) float64 { return float64(s.Lagging) }),
		counter("radtrack_live_publish_errors_total", "Position batches the broker refused.", func(s LiveStats) float64 { return float64(s.PublishErrors) }),
	)
}

// RegisterAlarmStates exports the number of open alarms by state, read at
// scrape time from the rules engine (imported replays excluded).
func (m *Metrics) RegisterAlarmStates(count func() map[string]int) {
	m.Registry.MustRegister(&alarmStates{count: count, desc: prometheus.NewDesc(
		"radtrack_alarms_open", "Open (unresolved) live alarms by state.", []string{"state"}, nil)})
}

type alarmStates struct {
	count func() map[string]int
	desc  *prometheus.Desc
}

func (a *alarmStates) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *alarmStates) Collect(ch chan<- prometheus.Metric) {
	counts := a.count()
	for _, state := range []string{"raised", "acknowledged"} {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(counts[state]), state)
	}
}

// JournalStats is what the alarm journal reports for metrics.
type JournalStats struct {
	Bytes, DeadLetterBytes            int64
	Journaled, Replayed, DeadLettered uint64
}

// RegisterAlarmJournal exports the alarm journal's state, read at scrape
// time.
func (m *Metrics) RegisterAlarmJournal(stats func() JournalStats) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "radtrack_alarm_journal_bytes", Help: "Bytes of alarm events waiting on local disk for the database."},
			func() float64 { return float64(stats().Bytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "radtrack_alarm_events_journaled_total", Help: "Alarm events journaled (and pushed) while the database was unavailable."},
			func() float64 { return float64(stats().Journaled) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "radtrack_alarm_events_replayed_total", Help: "Journaled alarm events stored once the database answered."},
			func() float64 { return float64(stats().Replayed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "radtrack_alarm_events_deadlettered_total", Help: "Journaled alarm events the database refused for good, set aside in the journal's dead-letter log."},
			func() float64 { return float64(stats().DeadLettered) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "radtrack_alarm_journal_deadletter_bytes", Help: "Bytes held by the alarm journal's dead-letter log (radtrack deadletter list)."},
			func() float64 { return float64(stats().DeadLetterBytes) }),
	)
}
