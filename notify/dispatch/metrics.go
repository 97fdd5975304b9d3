package dispatch

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type dispatchMetrics struct {
	enqueued       *prometheus.CounterVec   // by channel
	delivered      *prometheus.CounterVec   // by channel, outcome (sent, retry, failed)
	latency        *prometheus.HistogramVec // event time to accepted, by channel
	attemptSeconds *prometheus.HistogramVec // one attempt, by channel
	cancelled      prometheus.Counter
	steps          prometheus.Counter
	unrouted       prometheus.Counter
	errors         prometheus.Counter
	digests        *prometheus.CounterVec // merged messages sent, by channel
	digested       *prometheus.CounterVec // deliveries those messages carried, by channel
}

func newMetrics(reg prometheus.Registerer) (*dispatchMetrics, error) {
	m := &dispatchMetrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_notify_enqueued_total", Help: "Outbox rows stored (a delivery, or a stored digest of several pages to one receiver), by channel.",
		}, []string{"channel"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_notify_attempts_total", Help: "Attempts of outbox rows by channel and outcome (sent; retry: transient failure; failed: permanent or attempts exhausted).",
		}, []string{"channel", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "radtrack_notify_delivery_seconds", Help: "From the incident event (or the escalation step's event) to the receiver accepting the delivery, by channel.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 18),
		}, []string{"channel"}),
		attemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "radtrack_notify_attempt_seconds", Help: "Duration of one delivery attempt, by channel.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"channel"}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radtrack_notify_cancelled_total", Help: "Paging deliveries not sent because the incident was acknowledged or resolved first.",
		}),
		steps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radtrack_notify_escalation_steps_total", Help: "Escalation steps planned into the outbox.",
		}),
		unrouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radtrack_notify_unrouted_total", Help: "Raises and re-alarms no notification rule matched.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radtrack_notify_errors_total", Help: "Dispatcher passes or outcome records that failed (store errors).",
		}),
		digests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_notify_digests_total", Help: "Messages that carried several deliveries (a recipient's queued pages, endpoints sharing URL and secret), by channel.",
		}, []string{"channel"}),
		digested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radtrack_notify_digested_deliveries_total", Help: "Deliveries sent inside digests, by channel.",
		}, []string{"channel"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.enqueued, m.delivered, m.latency, m.attemptSeconds, m.cancelled, m.steps, m.unrouted, m.errors, m.digests, m.digested} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dispatch: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
