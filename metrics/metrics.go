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
			Name: "radtrack_samples_rejected_total", Help: "Samples refused as invalid, by protocol and reason (the field at fault).",
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
	reg.MustRegister(m.SpoolBytes, m.SpooledSamples, m.SpoolReplayed)
	reg.MustRegister(m.SamplesAccepted, m.SamplesRejected, m.RequestsRefused, m.QueueDepth, m.BatchSize, m.CommitSeconds, m.CommitErrors)
	return m
}
