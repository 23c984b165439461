package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-security/bulwark/internal/store"
)

// RetryPolicy is SNS's HTTP/S healthy retry policy ("Amazon SNS message
// delivery retries"): after the first attempt, numNoDelayRetries retries at
// once, numMinDelayRetries at minDelayTarget, then the backoff phase from
// minDelayTarget to maxDelayTarget shaped by backoffFunction, then
// numMaxDelayRetries at maxDelayTarget; numRetries counts them all.
type RetryPolicy struct {
	MinDelayTarget     int    `json:"minDelayTarget"`
	MaxDelayTarget     int    `json:"maxDelayTarget"`
	NumRetries         int    `json:"numRetries"`
	NumMaxDelayRetries int    `json:"numMaxDelayRetries"`
	NumNoDelayRetries  int    `json:"numNoDelayRetries"`
	NumMinDelayRetries int    `json:"numMinDelayRetries"`
	BackoffFunction    string `json:"backoffFunction"`
}

// DefaultRetryPolicy is SNS's default for HTTP/S endpoints: three retries
// twenty seconds apart.
var DefaultRetryPolicy = RetryPolicy{MinDelayTarget: 20, MaxDelayTarget: 20, NumRetries: 3, BackoffFunction: "linear"}

type topicDeliveryPolicy struct {
	HTTP struct {
		DefaultHealthyRetryPolicy    *RetryPolicy    `json:"defaultHealthyRetryPolicy,omitempty"`
		DisableSubscriptionOverrides bool            `json:"disableSubscriptionOverrides"`
		DefaultThrottlePolicy        json.RawMessage `json:"defaultThrottlePolicy,omitempty"`
		DefaultRequestPolicy         json.RawMessage `json:"defaultRequestPolicy,omitempty"`
	} `json:"http"`
}

type subscriptionDeliveryPolicy struct {
	HealthyRetryPolicy *RetryPolicy    `json:"healthyRetryPolicy,omitempty"`
	ThrottlePolicy     json.RawMessage `json:"throttlePolicy,omitempty"`
	RequestPolicy      json.RawMessage `json:"requestPolicy,omitempty"`
}

// validate applies SNS's bounds: delays 1..3600 s, min <= max, at most 100
// retries, phase counts within numRetries, a known backoff function.
func (p *RetryPolicy) validate() error {
	switch {
	case p.MinDelayTarget < 0 || p.MaxDelayTarget < 1 || p.MaxDelayTarget > 3600 || p.MinDelayTarget > p.MaxDelayTarget:
		return errors.New("delay targets must satisfy 0 <= minDelayTarget <= maxDelayTarget <= 3600")
	case p.NumRetries < 0 || p.NumRetries > 100:
		return errors.New("numRetries must be between 0 and 100")
	case p.NumNoDelayRetries < 0 || p.NumMinDelayRetries < 0 || p.NumMaxDelayRetries < 0 ||
		p.NumNoDelayRetries+p.NumMinDelayRetries+p.NumMaxDelayRetries > p.NumRetries:
		return errors.New("retry phase counts must not exceed numRetries")
	}
	switch p.BackoffFunction {
	case "", "linear", "arithmetic", "geometric", "exponential":
	default:
		return fmt.Errorf("unknown backoffFunction %q", p.BackoffFunction)
	}
	return nil
}

func parseTopicDeliveryPolicy(s string) (*topicDeliveryPolicy, error) {
	var p topicDeliveryPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, errors.New("not a JSON delivery policy")
	}
	if rp := p.HTTP.DefaultHealthyRetryPolicy; rp != nil {
		if err := rp.validate(); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

func parseSubscriptionDeliveryPolicy(s string) (*subscriptionDeliveryPolicy, error) {
	var p subscriptionDeliveryPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, errors.New("not a JSON delivery policy")
	}
	if rp := p.HealthyRetryPolicy; rp != nil {
		if err := rp.validate(); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// effectiveRetryPolicy combines the topic's and the subscription's
// delivery policies as SNS does: the subscription's overrides the topic's
// unless the topic disables overrides.
func effectiveRetryPolicy(topicPolicy, subPolicy string) RetryPolicy {
	rp := DefaultRetryPolicy
	override := true
	if topicPolicy != "" {
		if tp, err := parseTopicDeliveryPolicy(topicPolicy); err == nil {
			if tp.HTTP.DefaultHealthyRetryPolicy != nil {
				rp = *tp.HTTP.DefaultHealthyRetryPolicy
			}
			override = !tp.HTTP.DisableSubscriptionOverrides
		}
	}
	if subPolicy != "" && override {
		if sp, err := parseSubscriptionDeliveryPolicy(subPolicy); err == nil && sp.HealthyRetryPolicy != nil {
			rp = *sp.HealthyRetryPolicy
		}
	}
	if rp.BackoffFunction == "" {
		rp.BackoffFunction = "linear"
	}
	return rp
}

func effectiveDeliveryPolicyJSON(topicPolicy string) string {
	rp := effectiveRetryPolicy(topicPolicy, "")
	var p topicDeliveryPolicy
	p.HTTP.DefaultHealthyRetryPolicy = &rp
	p.HTTP.DefaultRequestPolicy = json.RawMessage(`{"headerContentType":"text/plain; charset=UTF-8"}`)
	b, _ := json.Marshal(p)
	return string(b)
}

func effectiveSubscriptionPolicyJSON(topicPolicy, subPolicy string) string {
	rp := effectiveRetryPolicy(topicPolicy, subPolicy)
	b, _ := json.Marshal(subscriptionDeliveryPolicy{HealthyRetryPolicy: &rp})
	return string(b)
}

func retryPolicyOf(stored string) RetryPolicy {
	var sp subscriptionDeliveryPolicy
	if err := json.Unmarshal([]byte(stored), &sp); err == nil && sp.HealthyRetryPolicy != nil && sp.HealthyRetryPolicy.validate() == nil {
		return *sp.HealthyRetryPolicy
	}
	return DefaultRetryPolicy
}

// Delay returns how long to wait before retry number n (1-based) and
// whether the policy allows it. Jitter is applied by the caller.
func (p RetryPolicy) Delay(n int) (time.Duration, bool) {
	if n < 1 || n > p.NumRetries {
		return 0, false
	}
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	minD, maxD := float64(p.MinDelayTarget), float64(p.MaxDelayTarget)
	if n <= p.NumNoDelayRetries {
		return 0, true
	}
	n -= p.NumNoDelayRetries
	if n <= p.NumMinDelayRetries {
		return sec(minD), true
	}
	n -= p.NumMinDelayRetries
	backoff := p.NumRetries - p.NumNoDelayRetries - p.NumMinDelayRetries - p.NumMaxDelayRetries
	if n > backoff {
		return sec(maxD), true
	}
	// Step n of the backoff phase rises from min towards max; the last
	// step reaches max.
	x := float64(n) / float64(backoff)
	var f float64
	switch p.BackoffFunction {
	case "arithmetic":
		f = x * x
	case "geometric":
		f = x * x * x
	case "exponential":
		f = (math.Exp2(float64(n)) - 1) / (math.Exp2(float64(backoff)) - 1)
	default: // linear
		f = x
	}
	return sec(minD + (maxD-minD)*f), true
}

// DeliveryConfig tunes the delivery worker.
type DeliveryConfig struct {
	// Owner names this server's leases (default: a random id).
	Owner string
	// Workers is how many deliveries run at once (default 8).
	Workers int
	// Timeout bounds one HTTP attempt (default 15 s, as SNS).
	Timeout time.Duration
	// Lease is how long a claimed delivery stays with this server
	// (default 1 minute; longer than Timeout).
	Lease time.Duration
	// Poll is how often the queue is checked when nothing wakes the worker
	// (default 1 s).
	Poll time.Duration
	// Client sends the requests; nil means one that never follows
	// redirects.
	Client *http.Client
	// DelayScale multiplies retry delays; tests shrink it (default 1).
	DelayScale float64
}

func (c *DeliveryConfig) defaults() {
	if c.Owner == "" {
		c.Owner = newUUID()
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Lease <= c.Timeout {
		c.Lease = 4 * c.Timeout
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // deliver to the endpoint given, not through a proxy
		tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, Control: refuseAddress}).DialContext
		c.Client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.DelayScale <= 0 {
		c.DelayScale = 1
	}
}

// refuseAddress stops deliveries to addresses no subscriber endpoint has:
// link-local ones (169.254.0.0/16, where cloud metadata services answer,
// and fe80::/10), multicast and unspecified. It runs on the resolved address at connect
// time, so DNS tricks cannot get around it.
func refuseAddress(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("delivery address %q: %w", address, err)
	}
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("delivery to %s refused: link-local, multicast or unspecified address", ip)
	}
	return nil
}

type metrics struct {
	published prometheus.Counter
	queued    prometheus.Counter
	rejected  prometheus.Counter
	outcomes  *prometheus.CounterVec
	latency   prometheus.Histogram
}

func newMetrics() *metrics {
	return &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "bulwark_sns_published_messages_total", Help: "Messages accepted by Publish."}),
		queued:    prometheus.NewCounter(prometheus.CounterOpts{Name: "bulwark_sns_queued_deliveries_total", Help: "Deliveries queued (one per message and subscription)."}),
		rejected:  prometheus.NewCounter(prometheus.CounterOpts{Name: "bulwark_sns_rejected_deliveries_total", Help: "Deliveries refused because the queue was full."}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_sns_delivery_attempts_total",
			Help: "HTTP delivery attempts by outcome: delivered, retry, failed (given up)."}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bulwark_sns_delivery_seconds",
			Help: "Duration of HTTP delivery attempts.", Buckets: prometheus.DefBuckets}),
	}
}

// Collectors returns the delivery metrics for a Prometheus registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.m.published, s.m.queued, s.m.rejected, s.m.outcomes, s.m.latency}
}

// Run delivers queued messages until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	dc := s.cfg.Delivery
	sem := make(chan struct{}, dc.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(dc.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			free := dc.Workers - len(sem)
			if free <= 0 {
				break
			}
			ds, err := s.cfg.Store.ClaimDeliveries(ctx, dc.Owner, s.cfg.Now(), dc.Lease, free)
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Warn("sns: claim deliveries", "err", err)
				}
				break
			}
			for _, d := range ds {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					s.deliver(ctx, d)
				}()
			}
			if len(ds) < free {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

// DeliverDue runs one pass of the worker synchronously: every due delivery
// is attempted once. Tests use it instead of Run.
func (s *Service) DeliverDue(ctx context.Context) error {
	for {
		ds, err := s.cfg.Store.ClaimDeliveries(ctx, s.cfg.Delivery.Owner, s.cfg.Now(), s.cfg.Delivery.Lease, 100)
		if err != nil {
			return err
		}
		for _, d := range ds {
			s.deliver(ctx, d)
		}
		if len(ds) < 100 {
			return nil
		}
	}
}

const userAgent = "Amazon Simple Notification Service Agent"

// deliver makes one attempt and records its outcome in the queue.
func (s *Service) deliver(ctx context.Context, d store.Delivery) {
	owner := s.cfg.Delivery.Owner
	log := s.cfg.Logger.With("messageId", d.MessageID, "subscription", d.SubscriptionARN, "attempt", d.Attempts+1)
	body, err := s.cfg.Keys.Open(d.Body, deliveryAAD(d.ID))
	if err != nil {
		log.Error("sns: open queued message; dropping it", "err", err)
		_, _ = s.cfg.Store.CompleteDelivery(ctx, d.ID, owner)
		s.m.outcomes.WithLabelValues("failed").Inc()
		return
	}
	start := time.Now()
	status, err := s.post(ctx, d, body)
	s.m.latency.Observe(time.Since(start).Seconds())
	if ctx.Err() != nil {
		return // shutting down: the lease expires and another attempt follows
	}
	switch {
	case err == nil && status >= 200 && status < 300:
		if _, err := s.cfg.Store.CompleteDelivery(ctx, d.ID, owner); err != nil {
			log.Warn("sns: record delivery", "err", err)
		}
		s.m.outcomes.WithLabelValues("delivered").Inc()
		return
	case err == nil && status >= 400 && status < 500 && status != http.StatusTooManyRequests:
		// A client error will not go away by retrying (SNS treats
		// these as permanent failures).
		err = fmt.Errorf("endpoint answered HTTP %d", status)
		log.Warn("sns: delivery refused by the endpoint; giving up", "err", err)
		_, _ = s.cfg.Store.CompleteDelivery(ctx, d.ID, owner)
		s.m.outcomes.WithLabelValues("failed").Inc()
		return
	case err == nil:
		err = fmt.Errorf("endpoint answered HTTP %d", status)
	}
	delay, ok := retryPolicyOf(d.Policy).Delay(d.Attempts + 1)
	if !ok {
		log.Warn("sns: delivery failed; retries exhausted", "err", err)
		_, _ = s.cfg.Store.CompleteDelivery(ctx, d.ID, owner)
		s.m.outcomes.WithLabelValues("failed").Inc()
		return
	}
	// ±10% jitter so endpoints that failed together are not retried in
	// lockstep.
	delay = time.Duration(float64(delay) * s.cfg.Delivery.DelayScale * (0.9 + 0.2*rand.Float64()))
	log.Info("sns: delivery failed; will retry", "err", err, "in", delay)
	if _, rerr := s.cfg.Store.RetryDelivery(ctx, d.ID, owner, s.cfg.Now().Add(delay), truncate(err.Error(), 512)); rerr != nil {
		log.Warn("sns: record retry", "err", rerr)
	}
	s.m.outcomes.WithLabelValues("retry").Inc()
}

func (s *Service) post(ctx context.Context, d store.Delivery, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Delivery.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return 0, errors.New("endpoint is not http or https")
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("User-Agent", userAgent)
	kind := d.Kind
	if kind == kindRawNotification {
		kind = TypeNotification
		h.Set("x-amz-sns-rawdelivery", "true")
	} else if kind == TypeNotification {
		h.Set("x-amz-sns-rawdelivery", "false")
	}
	h.Set("x-amz-sns-message-type", kind)
	h.Set("x-amz-sns-message-id", d.MessageID)
	h.Set("x-amz-sns-topic-arn", d.TopicARN)
	if kind != TypeSubscriptionConfirmation {
		h.Set("x-amz-sns-subscription-arn", d.SubscriptionARN)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	resp, err := s.cfg.Delivery.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// CertHandler serves the signing certificate at
// CertPathPrefix + "SimpleNotificationService-<id>.pem".
func (s *Service) CertHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := certIDFromFileName(r.PathValue("file"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		pemBytes, found, err := s.signer.CertPEM(r.Context(), id)
		if err != nil {
			s.cfg.Logger.Error("sns: load signing certificate", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(pemBytes)
	})
}

// CertRoute is the ServeMux pattern CertHandler answers.
const CertRoute = "GET " + CertPathPrefix + "{file}"
