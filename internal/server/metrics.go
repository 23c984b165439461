package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series. Labels only ever take values
// from the action tables (or "unknown"), never raw client input, so their
// cardinality is bounded.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bulwark", Name: "api_requests_total",
			Help: "API requests by service, action and outcome (ok, denied, client_error, server_error).",
		}, []string{"service", "action", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "bulwark", Name: "api_request_duration_seconds",
			Help:    "API request latency by service and action, from first byte read to response written.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"service", "action"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "bulwark", Name: "api_requests_in_flight", Help: "API requests being served.",
		}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
