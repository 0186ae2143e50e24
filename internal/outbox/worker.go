package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client/webhooks"
)

// Config holds what a Worker needs.
type Config struct {
	Store keyward.Store
	// Secret returns an endpoint's signing secret (whsec_…) from its
	// sealed form.
	Secret func(e *keyward.WebhookEndpoint) (string, error)
	Clock  keyward.Clock // defaults to keyward.SystemClock
	Logger *slog.Logger  // defaults to slog.Default()
	// Timeout bounds one attempt, from connecting to the end of the
	// answer (default 10 s). A node holds a claimed delivery for twice
	// this plus 10 s: a node that dies mid-delivery leaves it to another
	// node after that.
	Timeout time.Duration
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (--webhook-allow-private).
	AllowPrivate bool
	RetryBase    time.Duration // first wait after a failure (default 5 s)
	RetryWindow  time.Duration // how long a delivery is retried (default 24 h)
	Concurrency  int           // deliveries in flight on this node (default 32)
	Poll         time.Duration // how often the store is asked for due deliveries (default 1 s)
	// Client sends the deliveries; defaults to NewClient(Timeout,
	// AllowPrivate).
	Client *http.Client
	// Observe, when set, is told of every attempt's result (metrics).
	Observe func(eventType string, ok bool, latency time.Duration)
	// Keep is how long ended deliveries stay in the delivery log (default
	// 30 days); the worker prunes older ones once an hour.
	Keep time.Duration
}

// DefaultKeep is how long ended deliveries are kept by default.
const DefaultKeep = 30 * 24 * time.Hour

// Worker claims due deliveries and sends them. Every node runs one; the
// store's claims give each delivery to one node at a time.
type Worker struct {
	cfg   Config
	lease time.Duration
	nudge chan struct{}
	slots chan struct{}
	freed chan struct{}
	wg    sync.WaitGroup
}

// New returns a Worker.
func New(cfg Config) *Worker {
	if cfg.Clock == nil {
		cfg.Clock = keyward.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = DefaultRetryWindow
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout, cfg.AllowPrivate)
	}
	return &Worker{
		cfg:   cfg,
		lease: 2*cfg.Timeout + 10*time.Second,
		nudge: make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.Concurrency),
		freed: make(chan struct{}, 1),
	}
}

// Nudge tells the worker that deliveries were just written, so it need not
// wait for its next poll.
func (w *Worker) Nudge() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends, then waits for the attempts in
// flight to end (each is bounded by the timeout) and their results to be
// recorded.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := w.cfg.Clock.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if err := w.cfg.Store.PruneWebhooks(ctx, now.Add(-w.cfg.Keep)); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Warn("webhooks: pruning the delivery log failed; will retry", "err", err)
			}
		}
		w.claim(ctx)
		select {
		case <-ctx.Done():
			w.wg.Wait()
			return
		case <-w.nudge:
		case <-w.freed:
		case <-t.C:
		}
	}
}

// claim takes as many due deliveries as there are free slots and starts
// sending them.
func (w *Worker) claim(ctx context.Context) {
	free := cap(w.slots) - len(w.slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	now := w.cfg.Clock.Now()
	cctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	ds, err := w.cfg.Store.ClaimWebhookDeliveries(cctx, now, now.Add(w.lease), newClaim(), free, w.perEndpoint())
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("webhooks: claiming due deliveries failed; will retry", "err", err)
		}
		return
	}
	for _, d := range ds {
		w.slots <- struct{}{}
		w.wg.Go(func() {
			defer func() {
				<-w.slots
				select {
				case w.freed <- struct{}{}:
				default:
				}
			}()
			w.deliver(context.WithoutCancel(ctx), d)
		})
	}
}

// perEndpoint is how many deliveries one endpoint may have in flight at
// once, on all nodes together: a quarter of a node's slots (at least one),
// so that endpoints that hang cannot take every slot.
func (w *Worker) perEndpoint() int { return max(1, w.cfg.Concurrency/4) }

// newClaim returns a token that names one claim.
func newClaim() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deliver makes one attempt at d and records its result. The attempt is
// made only if it can end (timeout) while the claim still holds: reads
// slowed by the database past that point would otherwise let a node post
// a delivery that another node, having claimed it after the lease, posts
// too.
func (w *Worker) deliver(ctx context.Context, d *keyward.WebhookDelivery) {
	ep, msg, err := w.load(ctx, d)
	if err != nil {
		w.release(ctx, d, err)
		return
	}
	if !ep.Enabled {
		// Disabled after the claim: it gets nothing, and the delivery
		// waits until it is enabled again.
		w.release(ctx, d, errDisabled)
		return
	}
	start := w.cfg.Clock.Now()
	if !start.Add(w.cfg.Timeout).Before(d.LeaseUntil) {
		w.release(ctx, d, errLeaseSpent)
		return
	}
	var code int
	var problem string
	if secret, err := w.cfg.Secret(ep); err != nil {
		// Nothing can be signed (the pepper changed): an attempt that
		// failed, retried like any other, rather than a claim given back
		// to be taken again every second.
		problem = err.Error()
	} else {
		code, problem = w.post(ctx, ep.URL, secret, msg, start)
	}
	end := w.cfg.Clock.Now()
	d.Attempts++
	d.LastAttemptAt, d.LastStatusCode, d.LastError = &start, code, problem
	d.LastLatencyMS = int(end.Sub(start).Milliseconds())
	ok := problem == ""
	switch next, retry := nextAttempt(d.CreatedAt, end, d.Attempts, w.cfg.RetryBase, w.cfg.RetryWindow); {
	case ok:
		d.Status, d.NextAttemptAt, d.DeliveredAt = keyward.DeliverySucceeded, nil, &end
	case retry:
		d.Status, d.NextAttemptAt = keyward.DeliveryPending, &next
	default:
		d.Status, d.NextAttemptAt = keyward.DeliveryFailed, nil
	}
	if w.cfg.Observe != nil {
		w.cfg.Observe(d.EventType, ok, end.Sub(start))
	}
	w.finish(ctx, d)
	if code == 0 && !ok && d.NextAttemptAt != nil {
		// No answer at all: the endpoint is down or hangs. The rest of its
		// queue waits for this delivery's next attempt rather than each
		// costing a timeout now.
		dctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		if err := w.cfg.Store.DeferWebhookDeliveries(dctx, d.EndpointID, end, *d.NextAttemptAt); err != nil {
			w.cfg.Logger.Warn("webhooks: deferring a silent endpoint's deliveries failed", "endpoint", d.EndpointID, "err", err)
		}
		cancel()
	}
}

// errDisabled is why a claimed delivery of a disabled endpoint is given
// back.
var errDisabled = keyward.NotFound("enabled webhook endpoint")

// errLeaseSpent is why a claimed delivery is given back unattempted.
var errLeaseSpent = errors.New("the claim's lease would run out during the attempt")

// load reads d's endpoint and message, within the attempt timeout.
func (w *Worker) load(ctx context.Context, d *keyward.WebhookDelivery) (*keyward.WebhookEndpoint, *keyward.WebhookMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	ep, err := w.cfg.Store.GetWebhookEndpoint(ctx, d.EndpointID)
	if err != nil {
		return nil, nil, err
	}
	msg, err := w.cfg.Store.GetWebhookMessage(ctx, d.MessageID)
	return ep, msg, err
}

// post sends msg to url, signed, and returns the answer's status code (0
// when none came) and what went wrong ("" for a 2xx answer). The problem
// never holds the URL (whose query may carry a token of the receiver's).
func (w *Worker) post(ctx context.Context, target, secret string, msg *keyward.WebhookMessage, at time.Time) (int, string) {
	signer, err := webhooks.NewSigner(secret)
	if err != nil {
		return 0, "the endpoint's signing secret cannot be used"
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(msg.Payload))
	if err != nil {
		return 0, "the endpoint's URL cannot be used"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keyward-webhooks/1")
	req.Header.Set("webhook-id", msg.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", signer.Sign(msg.ID, at, msg.Payload))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return 0, attemptError(err, w.cfg.Timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Sprintf("the endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// attemptError says why an attempt got no answer, without the URL.
func attemptError(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return ErrPrivateAddress.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	}
	// Not the resolver's own words: they name keyward's DNS server.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "the host name could not be resolved"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if uerr.Timeout() {
			return fmt.Sprintf("no answer within %s", timeout)
		}
		err = uerr.Err
	}
	return err.Error()
}

// release gives a claimed delivery back unchanged, when it could not be
// attempted (its endpoint or message could not be read).
func (w *Worker) release(ctx context.Context, d *keyward.WebhookDelivery, why error) {
	if keyward.ErrorCode(why) != keyward.CodeNotFound {
		w.cfg.Logger.Warn("webhooks: a delivery could not be attempted; will retry", "delivery", d.ID, "err", why)
	}
	w.finish(ctx, d)
}

// finish records d, retrying while the store is unreachable: giving up
// would leave the delivery to be sent again once the claim runs out, and
// a delivery that succeeded must not be sent twice. It stops once the
// result is recorded, once another claim holds the delivery, or after the
// lease and a minute.
func (w *Worker) finish(ctx context.Context, d *keyward.WebhookDelivery) {
	deadline := time.Now().Add(w.lease + time.Minute)
	wait := 100 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		err := w.cfg.Store.FinishWebhookAttempt(tctx, d)
		cancel()
		if err == nil || keyward.ErrorCode(err) == keyward.CodeNotFound {
			return
		}
		if time.Now().After(deadline) {
			w.cfg.Logger.Error("webhooks: recording a delivery's result failed; it may be sent again", "delivery", d.ID, "err", err)
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}
