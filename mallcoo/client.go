package mallcoo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmsync/crmsync"
)

// Defaults of Config.
const (
	DefaultBaseURL      = "https://openapi10.mallcoo.cn"
	DefaultTimeout      = 10 * time.Second
	DefaultRetries      = 3
	DefaultBackoffBase  = 500 * time.Millisecond
	DefaultBackoffMax   = 30 * time.Second
	DefaultFailWindow   = 50
	DefaultFailShare    = 0.8
	DefaultRejectStreak = 100
	DefaultOpenStreak   = 10
)

// maxAnswer bounds how much of an answer is read: Mallcoo's answers are a
// few dozen bytes; anything longer is read up to this and judged on that.
const maxAnswer = 1 << 20

// Config configures a Client. The zero value of every field but
// Credentials means its default.
type Config struct {
	// BaseURL is scheme and host, e.g. "https://openapi10.mallcoo.cn" (the
	// default) or a mallcootest server's URL. A trailing slash is ignored.
	BaseURL     string
	Credentials Credentials
	// Timeout bounds one HTTP request, answer included (default 10s).
	Timeout time.Duration
	// Retries is how many extra attempts a transient failure gets after the
	// first (default 3; -1 means none).
	Retries int
	// Rate is the requests per second allowed to all callers of the client
	// together, retries included (0 = unlimited). The burst is 1 + Rate/20,
	// so in any second at most Rate + burst requests leave.
	Rate float64
	// Concurrency is the number of callers expected to call Send at once;
	// the transport keeps at least that many idle connections to the host.
	Concurrency int
	// BackoffBase and BackoffMax shape the wait before a retry: attempt n
	// waits a random share ("full jitter") of min(BackoffMax,
	// BackoffBase·2^(n-1)). Defaults 500ms and 30s.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// AlreadyDelivered lists business Codes that mean the event was
	// delivered before (e.g. 307 "already exists", if a mall's Mallcoo
	// contact confirms it for these endpoints). Send reports such an answer
	// as accepted: Reply.Code 1 and Reply.Message "already delivered (Code
	// 307): <Mallcoo's message>", so the original Code stays in the record.
	// Empty by default: no Code but 1 is taken as success unless configured.
	AlreadyDelivered []int
	// SystemicCodes lists business Codes that mean the credentials or the
	// signature were refused; such an answer stops the client like an HTTP
	// 401. Empty by default.
	SystemicCodes []int
	// FailWindow is how many of the most recent events the systemic stop
	// looks at (default 50; -1 disables the stop), and FailShare the share
	// of failed events in it that stops sending (default 0.8). The stop
	// needs at least FailWindow/2 events in the window.
	FailWindow int
	FailShare  float64
	// RejectStreak stops sending when that many answers in a row are
	// business rejections with the same Code (default 100; -1 disables it):
	// a wrong key, mall or shop mapping that Mallcoo answers with HTTP 200
	// would otherwise reject every row of a backfill. The rows left are
	// recorded failed, not rejected, so they are sent again once fixed.
	RejectStreak int
	// OpenStreak stops sending when the client's first OpenStreak answers
	// are all business rejections with the same Code (default 10; -1
	// disables it): refused credentials, a wrong mall or a wrong clock may
	// be answered HTTP 200 with a Code rather than HTTP 401 (nothing public
	// says which), and then every row of the run would be rejected.
	OpenStreak int
	// ResendUncertainScores says the mall's Mallcoo refuses or ignores a
	// repeated TransID (setting score_resend_uncertain): a score attempt
	// that may have reached Mallcoo is then retried like a member notice.
	// Otherwise it is not: a retry could count the points twice.
	ResendUncertainScores bool
	// Now, Sleep and Rand are the clock, the wait between retries and the
	// jitter source; tests replace them. Defaults: time.Now, a timer that
	// ends early when ctx is done, math/rand/v2.Float64.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
	// Logger gets a debug line per HTTP request (kind, path, attempt,
	// status, Code, duration). It never gets the Sign header or the private
	// key. Default: discard.
	Logger *slog.Logger
	// HTTPClient replaces the client built from Concurrency. Its Timeout,
	// if any, applies on top of Timeout.
	HTTPClient *http.Client
}

// Client sends event bodies to Mallcoo: it signs, posts, classifies the
// answer, retries transient trouble, limits the request rate and stops when
// failures look systemic. It implements crmsync.Sender and is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	// rt is the transport of the HTTP client NewHTTPClient built (nil for
	// Config.HTTPClient): requests go to it directly. That client follows
	// no redirect and has no timeout or cookie jar of its own, so Do would
	// only copy every request's headers for redirects that never come.
	rt       http.RoundTripper
	log      *slog.Logger
	limiter  *rate.Limiter // nil when unlimited
	already  map[int]bool
	systemic map[int]bool
	requests atomic.Int64

	mu   sync.Mutex
	ring []bool // failed flags of the last events, nil when the stop is off
	// streak counts the answers in a row rejected with Code streakCode;
	// answers counts every answer.
	streak, streakCode int
	answers            int
	next               int
	count              int
	fails              int
	stopErr            error // set once: every later Send returns it
}

var _ crmsync.Sender = (*Client)(nil)

// NewClient checks cfg, fills in defaults and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Credentials.Check(); err != nil {
		return nil, fmt.Errorf("new mallcoo client: %w", err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := CheckBaseURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("new mallcoo client: base URL %q: %v (set MALLCOO_BASE_URL, base_url or -base-url)", cfg.BaseURL, err)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("new mallcoo client: negative timeout %v", cfg.Timeout)
	case CheckRate(cfg.Rate) != nil:
		return nil, fmt.Errorf("new mallcoo client: rate %v: %v", cfg.Rate, CheckRate(cfg.Rate))
	case cfg.Retries != -1 && CheckRetries(cfg.Retries) != nil:
		return nil, fmt.Errorf("new mallcoo client: retries %d: %v (or -1 for none)", cfg.Retries, CheckRetries(cfg.Retries))
	case cfg.FailShare < 0 || cfg.FailShare > 1:
		return nil, fmt.Errorf("new mallcoo client: fail share %v not between 0 and 1", cfg.FailShare)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch cfg.Retries {
	case 0:
		cfg.Retries = DefaultRetries
	case -1:
		cfg.Retries = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.FailWindow == 0 {
		cfg.FailWindow = DefaultFailWindow
	}
	if cfg.FailShare == 0 {
		cfg.FailShare = DefaultFailShare
	}
	if cfg.RejectStreak == 0 {
		cfg.RejectStreak = DefaultRejectStreak
	}
	if cfg.OpenStreak == 0 {
		cfg.OpenStreak = DefaultOpenStreak
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	c := &Client{
		cfg:      cfg,
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     cfg.HTTPClient,
		log:      cfg.Logger,
		already:  codeSet(cfg.AlreadyDelivered),
		systemic: codeSet(cfg.SystemicCodes),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.http == nil {
		c.http = NewHTTPClient(cfg.Concurrency)
		c.rt = c.http.Transport
	}
	if cfg.Rate > 0 {
		// The burst is bounded: int() of a rate/20 beyond an int is
		// negative, and a negative burst refuses every request.
		c.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1+int(min(cfg.Rate/20, math.MaxInt32)))
	}
	if cfg.FailWindow > 0 {
		c.ring = make([]bool, cfg.FailWindow)
	}
	return c, nil
}

// NewHTTPClient returns the HTTP client a Client uses unless
// Config.HTTPClient replaces it: its transport keeps a connection per
// expected caller alive (the default keeps only 2 per host), and it does
// not follow redirects (a POST redirected would lose its body). The
// benchmarks' bare client uses it too, so both have the same transport.
func NewHTTPClient(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	n := max(concurrency, 2)
	tr.MaxIdleConnsPerHost = n
	tr.MaxIdleConns = max(100, n)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func codeSet(codes []int) map[int]bool {
	m := make(map[int]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Requests returns the number of HTTP requests made so far, retries
// included.
func (c *Client) Requests() int64 { return c.requests.Load() }

type interruptKey struct{}

// ErrInterrupted is the error of a send given up, before its request left,
// because the interrupt of WithInterrupt came.
var ErrInterrupted = errors.New("interrupted before the request left")

// WithInterrupt returns ctx carrying interrupt: a Send under it that has
// not made its next request yet (waiting for the rate limit) gives up when
// interrupt closes, even though ctx is never cancelled (a run's claimed
// sends outlive Ctrl-C, but one that has not left need not wait for it).
func WithInterrupt(ctx context.Context, interrupt <-chan struct{}) context.Context {
	return context.WithValue(ctx, interruptKey{}, interrupt)
}

// waitRate waits for the rate limiter, until ctx ends or its interrupt
// (WithInterrupt) comes.
func (c *Client) waitRate(ctx context.Context) error {
	interrupt, _ := ctx.Value(interruptKey{}).(<-chan struct{})
	if interrupt != nil {
		wctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-interrupt:
				cancel(ErrInterrupted)
			case <-wctx.Done():
			}
		}()
		if err := c.limiter.Wait(wctx); err != nil {
			if cause := context.Cause(wctx); errors.Is(cause, ErrInterrupted) {
				return ErrInterrupted
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		return nil
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// Stopped returns why the client stopped sending (an error wrapping
// crmsync.ErrSystemic), or nil while it sends.
func (c *Client) Stopped() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopErr
}

// Send posts body, unchanged, to kind's endpoint and returns Mallcoo's
// answer. It implements crmsync.Sender:
//
//   - Code 1 (or a Code in AlreadyDelivered, reported as Code 1): accepted,
//     nil error.
//   - Any other Code: a business rejection, returned with a nil error and
//     never retried; Code and Message are Mallcoo's, verbatim.
//   - Transport errors, timeouts, HTTP 5xx and 429, and 2xx answers that
//     are not Mallcoo's JSON are retried up to Config.Retries times, each
//     attempt with a fresh TimeStamp and Sign over the same bytes, waiting
//     between attempts (exponential backoff with full jitter, and no less
//     than a Retry-After header asks; a Retry-After beyond BackoffMax ends
//     the retries). If none answers, the error wraps the last *APIError,
//     and crmsync.ErrMaybeDelivered when any attempt may have reached
//     Mallcoo (a timeout or connection lost after the request was written,
//     an HTTP 5xx other than 503, a garbled 2xx answer). Such an attempt is
//     retried only for kinds that are safe to resend (crmsync.Kind
//     SafeToResendWith(Config.ResendUncertainScores)): for the others a
//     retry could apply the event twice.
//   - Other HTTP 4xx (and 3xx) are not retried: the error wraps the
//     *APIError.
//   - HTTP 401/403, a Code in SystemicCodes, or too many recent failures
//     (see FailWindow) stop the client: that Send and every later one
//     return an error wrapping crmsync.ErrSystemic, and later ones make no
//     request.
//   - A streak of rejections with one Code (OpenStreak at the start,
//     RejectStreak later) stops the client too: the Send whose answer
//     completes the streak returns that answer's Code and Message in the
//     Reply and an error wrapping crmsync.ErrSystemic and a *StreakError.
//     The caller should treat the streak's rejections as the setup's
//     fault, not the rows' (crmsync records them failed).
//   - When ctx ends, the error wraps ctx.Err().
//
// Reply.Attempts counts the HTTP requests made for this call in every case.
func (c *Client) Send(ctx context.Context, kind crmsync.Kind, body []byte) (crmsync.Reply, error) {
	spec, ok := specs[kind]
	if !ok {
		return crmsync.Reply{}, fmt.Errorf("send %s: unknown kind (want one of %s)", kind, crmsync.KindList())
	}
	var (
		attempts int
		maybe    bool // some attempt may have reached Mallcoo
		last     *APIError
	)
	fail := func(msg string, errs ...error) (crmsync.Reply, error) {
		if maybe {
			errs = append(errs, crmsync.ErrMaybeDelivered)
		}
		return crmsync.Reply{Attempts: attempts}, &sendError{msg: fmt.Sprintf("send %s: %s", kind, msg), errs: errs}
	}
	for {
		if err := c.Stopped(); err != nil {
			return fail(err.Error(), err)
		}
		if err := ctx.Err(); err != nil {
			return fail(err.Error(), err)
		}
		if c.limiter != nil {
			if err := c.waitRate(ctx); err != nil {
				return fail(fmt.Sprintf("wait for the rate limit: %v", err), err)
			}
		}
		attempts++
		r := c.attempt(ctx, spec, body, attempts)
		maybe = maybe || r.maybe
		switch r.class {
		case classAnswered:
			c.record(false, nil)
			reply := crmsync.Reply{Code: r.code, Message: r.message, Attempts: attempts}
			if stop := c.answered(r.code, r.message); stop != nil {
				// The answer that completes a streak is the setup's
				// fault like the others: the caller gets the stop.
				return reply, &sendError{msg: fmt.Sprintf("send %s: %s", kind, stop.Error()), errs: []error{stop}}
			}
			return reply, nil
		case classCanceled:
			return fail(ctx.Err().Error(), ctx.Err())
		case classSystemic:
			stop := &StopError{
				Why: crmsync.Say(fmt.Sprintf("猫酷拒绝了凭据或签名(%v):请检查 %s、%s、%s 和本机时钟", r.err, EnvAppID, EnvPublicKey, EnvPrivateKey),
					fmt.Sprintf("mallcoo refused the credentials or signature (%v): check %s, %s, %s and this machine's clock", r.err, EnvAppID, EnvPublicKey, EnvPrivateKey)),
				errs: []error{crmsync.ErrSystemic, r.err},
			}
			c.stop(stop)
			return fail(stop.Error(), stop)
		}
		last = r.err
		if r.class == classPermanent || attempts > c.cfg.Retries {
			break
		}
		if r.maybe && !kind.SafeToResendWith(c.cfg.ResendUncertainScores) {
			// The attempt may have been applied: resending it could
			// apply it twice. Only member notices (idempotent) retry,
			// and score kinds where Mallcoo keeps TransID unique.
			break
		}
		wait, ok := c.backoff(attempts, r.retryAfter, r.hasRetryAfter)
		if !ok {
			break
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fail(fmt.Sprintf("wait to retry: %v", err), err)
		}
	}
	c.record(true, last)
	return fail(fmt.Sprintf("no answer after %d attempts: %v", attempts, last), last)
}

// backoff returns how long to wait before attempt n+1, and false when a
// Retry-After asks for longer than BackoffMax (retrying would stall the
// run: the event is left failed for a later run instead).
func (c *Client) backoff(n int, retryAfter time.Duration, hasRetryAfter bool) (time.Duration, bool) {
	if hasRetryAfter && retryAfter > c.cfg.BackoffMax {
		return 0, false
	}
	d := c.cfg.BackoffBase
	for i := 1; i < n && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	wait := time.Duration(c.cfg.Rand() * float64(d))
	return max(wait, retryAfter), true
}

// stop latches the first systemic error.
func (c *Client) stop(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopErr == nil {
		c.stopErr = err
	}
}

// record adds one event's result to the window of recent events and stops
// the client when the failed share reaches FailShare.
func (c *Client) record(failed bool, last *APIError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ring == nil {
		return
	}
	if c.count == len(c.ring) {
		if c.ring[c.next] {
			c.fails--
		}
	} else {
		c.count++
	}
	c.ring[c.next] = failed
	if failed {
		c.fails++
	}
	c.next = (c.next + 1) % len(c.ring)
	if !failed || c.stopErr != nil || c.count < max(1, len(c.ring)/2) {
		return
	}
	if float64(c.fails) >= c.cfg.FailShare*float64(c.count) {
		errs := []error{crmsync.ErrSystemic}
		if last != nil {
			errs = append(errs, last)
		}
		c.stopErr = &StopError{
			Why: crmsync.Say(fmt.Sprintf("最近的发送大多失败(%[2]d 次中 %[1]d 次),最后一次:%[3]v:猫酷无法连接或出错;请检查网络和 base_url 后重新运行", c.fails, c.count, last),
				fmt.Sprintf("most recent sends failed (%d of %d), last: %v: Mallcoo is unreachable or failing; check the network and the base URL, then run again", c.fails, c.count, last)),
			errs: errs,
		}
	}
}

// answered counts a streak of rejections with the same Code and stops the
// client when it reaches RejectStreak, or OpenStreak when the streak is
// every answer the client has had; it returns the stop error when this
// answer stopped the client.
func (c *Client) answered(code int, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers++
	if c.stopErr != nil {
		return nil
	}
	switch {
	case code == 1:
		c.streak = 0
		return nil
	case code == c.streakCode && c.streak > 0:
		c.streak++
	default:
		c.streak, c.streakCode = 1, code
	}
	switch {
	case c.cfg.OpenStreak > 0 && c.streak == c.answers && c.streak >= c.cfg.OpenStreak:
		c.stopErr = &StopError{
			Why: crmsync.Say(fmt.Sprintf("最初的 %d 个应答都是 Code %d 的拒绝(%s):猫酷多半拒绝的是配置而不是这些行;请检查 %s、%s、%s、base_url(商场)和本机时钟后重新运行——这些行记为失败,会再次发送",
				c.streak, code, message, EnvAppID, EnvPublicKey, EnvPrivateKey),
				fmt.Sprintf("the first %d answers were all rejections with Code %d (%s): Mallcoo is probably refusing the setup, not the rows; check %s, %s, %s, the base URL (the mall) and this machine's clock, then run again — the rows are kept as failed and sent again",
					c.streak, code, message, EnvAppID, EnvPublicKey, EnvPrivateKey)),
			errs: []error{crmsync.ErrSystemic, &StreakError{Code: code, Message: message, Count: c.streak}},
		}
	case c.cfg.RejectStreak > 0 && c.streak >= c.cfg.RejectStreak:
		c.stopErr = &StopError{
			Why: crmsync.Say(fmt.Sprintf("最近的 %d 个应答都是 Code %d 的拒绝(%s):所有行都有同一个问题(凭据、商场、商户编码?);检查后重新运行——这些行记为失败,会再次发送", c.streak, code, message),
				fmt.Sprintf("the last %d answers were all rejections with Code %d (%s): something is wrong for every row (credentials, mall, shop codes?); check, then run again — the rows are kept as failed and sent again", c.streak, code, message)),
			errs: []error{crmsync.ErrSystemic, &StreakError{Code: code, Message: message, Count: c.streak}},
		}
	}
	return c.stopErr
}

// StopError is why a client stopped sending (it wraps crmsync.ErrSystemic):
// the setup or Mallcoo is at fault, not the rows. Why says so in both
// languages; Error in English.
type StopError struct {
	Why  crmsync.Text
	errs []error
}

func (e *StopError) Error() string   { return e.Why.EN }
func (e *StopError) Unwrap() []error { return e.errs }

// StreakError is why a client stopped after a streak of rejections with
// one Code (Config.OpenStreak, Config.RejectStreak): those rejections were
// most likely the setup's fault, not the rows'. A stop error wraps it; find
// it with errors.As.
type StreakError struct {
	Code    int
	Message string
	Count   int
}

func (e *StreakError) Error() string {
	return fmt.Sprintf("%d rejections in a row with Code %d (%s)", e.Count, e.Code, e.Message)
}

// Classes of one attempt's result.
const (
	classAnswered  = iota // Mallcoo answered with a Code (accepted or rejected)
	classTransient        // worth retrying
	classPermanent        // no answer, and retrying will not help
	classSystemic         // credentials or signature refused
	classCanceled         // the caller's ctx ended
)

type result struct {
	class         int
	code          int
	message       string
	err           *APIError
	maybe         bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

// answerBufs holds the buffers answers are read into.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// attempt makes one signed HTTP request and classifies its result.
func (c *Client) attempt(ctx context.Context, spec *Spec, body []byte, n int) (r result) {
	start := time.Now()
	defer func() { c.logAttempt(ctx, spec, n, start, r) }()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+spec.Path, bytes.NewReader(body))
	if err != nil {
		return result{class: classPermanent, err: &APIError{Err: err}}
	}
	ts := TimeStamp(c.cfg.Now())
	// The vendor spells the headers AppID, PublicKey, TimeStamp and Sign; a
	// gateway may compare the names byte for byte, so the map entries are
	// set directly (Header.Set would send Appid, Publickey, Timestamp).
	req.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
	req.Header["AppID"] = []string{c.cfg.Credentials.AppID}
	req.Header["PublicKey"] = []string{c.cfg.Credentials.PublicKey}
	req.Header["TimeStamp"] = []string{ts}
	req.Header["Sign"] = []string{Sign(c.cfg.Credentials.PublicKey, ts, body, c.cfg.Credentials.PrivateKey)}

	c.requests.Add(1)
	var resp *http.Response
	if c.rt != nil {
		resp, err = c.rt.RoundTrip(req)
	} else {
		resp, err = c.http.Do(req)
	}
	if err != nil {
		if ctx.Err() != nil {
			return result{class: classCanceled, maybe: wrote.Load()}
		}
		return result{class: classTransient, err: &APIError{Err: c.cause(err)}, maybe: wrote.Load()}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}()
	// Answers are read into buffers used again (an answer is a few dozen
	// bytes; raw is not kept past this call: Code, Message and snippet
	// copy what they need).
	buf := answerBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			answerBufs.Put(buf)
		}
	}()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	raw := buf.Bytes()
	if err != nil {
		if ctx.Err() != nil {
			return result{class: classCanceled, maybe: true}
		}
		return result{class: classTransient, err: &APIError{HTTPStatus: resp.StatusCode, Err: c.cause(err)}, maybe: true}
	}
	code, msg, jsonErr := decodeAnswer(raw)
	apiErr := &APIError{HTTPStatus: resp.StatusCode}
	if jsonErr == nil {
		apiErr.Code, apiErr.Message = code, msg
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return result{class: classSystemic, err: apiErr}
	case st == http.StatusTooManyRequests || st >= 500:
		r := result{class: classTransient, err: apiErr, maybe: st != http.StatusServiceUnavailable && st != http.StatusTooManyRequests}
		r.retryAfter, r.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())
		return r
	case st < 200 || st >= 300:
		return result{class: classPermanent, err: apiErr}
	case jsonErr != nil:
		apiErr.Err = fmt.Errorf("answer is not Mallcoo's JSON (%s): %w", snippet(raw), jsonErr)
		return result{class: classTransient, err: apiErr, maybe: true}
	}
	switch {
	case c.systemic[code]:
		return result{class: classSystemic, err: apiErr}
	case c.already[code]:
		return result{class: classAnswered, code: 1, message: fmt.Sprintf("already delivered (Code %d): %s", code, msg)}
	}
	return result{class: classAnswered, code: code, message: msg}
}

func (c *Client) logAttempt(ctx context.Context, spec *Spec, n int, start time.Time, r result) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("kind", string(spec.Kind)),
		slog.String("path", spec.Path),
		slog.Int("attempt", n),
		slog.Duration("took", time.Since(start)),
	}
	switch {
	case r.class == classAnswered:
		attrs = append(attrs, slog.Int("code", r.code), slog.String("message", r.message))
	case r.err != nil:
		attrs = append(attrs, slog.Int("status", r.err.HTTPStatus), slog.String("error", r.err.Error()))
	case r.class == classCanceled:
		attrs = append(attrs, slog.String("error", "canceled"))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "mallcoo request", attrs...)
}

// cause returns a transport error for an APIError. Our per-request
// timeout is reported as such, not as context.DeadlineExceeded, so that
// errors.Is does not mistake it for the caller's deadline.
func (c *Client) cause(err error) error {
	err = stripURL(err)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v (timeout)", c.cfg.Timeout)
	}
	return err
}

// stripURL removes the *url.Error wrapper, whose text repeats the method
// and URL, keeping the cause (the URL holds no secret, but the message
// gets long).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// snippet returns the start of an unexpected answer, for messages.
func snippet(b []byte) string {
	const n = 80
	s := strings.ToValidUTF8(string(b[:min(len(b), n)]), "?")
	if len(b) > n {
		s += "…"
	}
	return strconv.Quote(s)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int64(1<<31))) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
