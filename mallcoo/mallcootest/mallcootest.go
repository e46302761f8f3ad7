// Package mallcootest is a faithful fake of the Mallcoo OpenAPI's eight CRM
// endpoints, for tests and for `crmsync mock` / `crmsync run -sandbox`. It
// is never used on a production path.
//
// A Handler checks each request the way Mallcoo does, in this order, and
// answers as Mallcoo would:
//
//   - method POST (else HTTP 405) on one of the eight paths, trailing slash
//     included (else HTTP 404);
//   - AppID and PublicKey headers equal the configured credentials (else
//     HTTP 401 {"Code":-1,"Message":"AppID或PublicKey错误"});
//   - TimeStamp is 14 digits yyyyMMddHHmmss, and within Options.MaxSkew of
//     the clock when MaxSkew is set (else HTTP 401 Code -1);
//   - Sign is valid over the exact bytes received (else HTTP 401
//     {"Code":-1,"Message":"签名错误"});
//   - Content-Type is application/json, charset utf-8 if given (else HTTP
//     415 Code -1);
//   - the body passes mallcoo.Check with the mall's required fields (else
//     HTTP 200 with Code 10001 and a Message naming the field);
//   - a RejectIf hook, when set, may reject it with its own Code;
//   - a TransID already accepted by score or score-v2 (one space for both)
//     is answered with Options.DuplicateCode (default 1001, "交易ID重复").
//
// Accepted requests are answered {"Code":1,"Message":"成功","Extension":[]}.
// The Codes other than 1 are this fake's choice: Mallcoo publishes none.
//
// Where the vendor's page says nothing, Options switch the fake to another
// plausible behaviour (the zero value keeps the strict one above): refused
// credentials answered HTTP 200 with a Code (AuthStatus, AuthCode), a
// repeated TransID accepted silently (AcceptDuplicates), unknown fields
// ignored (IgnoreUnknown). The field rules are mallcoo's own (Check,
// CheckScore, ValidMobile), the ones the importer applies to rows.
//
// Faults can be injected: a latency on every request, a share of requests
// answered HTTP 503, a share of connections closed without an answer, and
// FailNext for the next n requests. Every request is recorded, with its
// headers, exact body and the answer given. A Handler is safe for
// concurrent use.
package mallcootest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Sandbox are the public sample credentials of Mallcoo's documentation; the
// fake accepts them by default.
var Sandbox = mallcoo.Credentials{AppID: "sandbox", PublicKey: "1ULYkA", PrivateKey: "e14c4430ac63f427"}

// Business Codes and messages of the fake's answers.
const (
	CodeOK           = 1
	CodeAuth         = -1    // with HTTP 401/415: credentials, timestamp, signature or content type refused
	CodeInvalidBody  = 10001 // the body breaks mallcoo.CheckBody
	DefaultDuplicate = 1001  // a TransID accepted before
	MessageOK        = "成功"
	MessageDuplicate = "交易ID重复"
	MessageSign      = "签名错误"
)

// maxBody bounds the body read from a request.
const maxBody = 4 << 20

// Options configure a Handler. The zero value is a well-behaved sandbox.
type Options struct {
	Credentials mallcoo.Credentials // default Sandbox
	Latency     time.Duration       // added to every request
	FailRate    float64             // share of requests answered HTTP 503
	DropRate    float64             // share of connections closed without an answer
	Seed        int64               // seeds the fault dice
	// MaxSkew is how far a TimeStamp may be from Now (0: not checked).
	MaxSkew time.Duration
	// DuplicateCode answers a TransID accepted before (default 1001,
	// Message "交易ID重复").
	DuplicateCode int

	// The switches below make the fake behave as the real API might where
	// the vendor's page says nothing; the zero value is the strict sandbox.

	// AuthStatus is the HTTP status of an answer refusing the credentials,
	// the TimeStamp or the Sign: 0 means 401. http.StatusOK answers HTTP
	// 200 with Code AuthCode, as many Chinese OpenAPIs do.
	AuthStatus int
	// AuthCode is the business Code of such an answer (default -1).
	AuthCode int
	// AcceptDuplicates accepts a TransID accepted before, silently, with
	// Code 1 (and does not apply it again), instead of DuplicateCode.
	AcceptDuplicates bool
	// IgnoreUnknown accepts fields an endpoint lacks (a .NET model binder
	// ignores them) instead of refusing the body.
	IgnoreUnknown bool
	// Required lists, per kind, optional fields this mall requires
	// (mallcoo.SpecFor); an unknown name panics.
	Required map[crmsync.Kind][]string
	Now      func() time.Time // default time.Now
	// MaxRecorded bounds the requests kept for Requests and Delivered: at
	// least the most recent MaxRecorded are kept, never more than twice as
	// many (0: all). Set it for long runs of `crmsync mock` or -sandbox so
	// memory stays flat; TransIDs are remembered regardless.
	MaxRecorded int
}

// Request is one request as the fake received and answered it.
type Request struct {
	Kind       crmsync.Kind // "" for an unknown path
	Path       string
	Header     http.Header
	Body       []byte // exactly as received
	Code       int    // business Code answered (0 for none)
	HTTPStatus int    // 0 when the connection was dropped
	Message    string // Message answered, or what happened ("dropped")
	At         time.Time
}

// Handler is the fake Mallcoo API as an http.Handler.
type Handler struct {
	creds     mallcoo.Credentials
	maxSkew   time.Duration
	duplicate int
	authCode  int
	authHTTP  int
	acceptDup bool
	checkOpt  mallcoo.CheckOptions
	specs     map[crmsync.Kind]*mallcoo.Spec
	now       func() time.Time
	keep      int
	kinds     map[string]crmsync.Kind // by path

	mu       sync.Mutex
	gen      int // bumped by Reset: answers of older requests are not recorded
	dropped  int // requests forgotten because of MaxRecorded
	rng      *rand.Rand
	latency  time.Duration
	failRate float64
	dropRate float64
	failN    int
	failCode int
	failRA   string
	reject   func(kind crmsync.Kind, body []byte) (int, string, bool)
	requests []Request
	transIDs map[string]bool
}

// NewHandler returns a fake Mallcoo API.
func NewHandler(opt Options) *Handler {
	if opt.Credentials == (mallcoo.Credentials{}) {
		opt.Credentials = Sandbox
	}
	if opt.DuplicateCode == 0 {
		opt.DuplicateCode = DefaultDuplicate
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.AuthStatus == 0 {
		opt.AuthStatus = http.StatusUnauthorized
	}
	if opt.AuthCode == 0 {
		opt.AuthCode = CodeAuth
	}
	h := &Handler{
		creds:     opt.Credentials,
		maxSkew:   opt.MaxSkew,
		duplicate: opt.DuplicateCode,
		authCode:  opt.AuthCode,
		authHTTP:  opt.AuthStatus,
		acceptDup: opt.AcceptDuplicates,
		checkOpt:  mallcoo.CheckOptions{IgnoreUnknown: opt.IgnoreUnknown},
		specs:     map[crmsync.Kind]*mallcoo.Spec{},
		now:       opt.Now,
		keep:      opt.MaxRecorded,
		kinds:     make(map[string]crmsync.Kind, len(crmsync.Kinds)),
		rng:       rand.New(rand.NewPCG(uint64(opt.Seed), uint64(opt.Seed)^0x9e3779b97f4a7c15)),
		latency:   opt.Latency,
		failRate:  opt.FailRate,
		dropRate:  opt.DropRate,
		transIDs:  map[string]bool{},
	}
	for _, k := range crmsync.Kinds {
		h.kinds[mallcoo.SpecOf(k).Path] = k
		spec, err := mallcoo.SpecFor(k, opt.Required[k])
		if err != nil {
			panic("mallcootest: Options.Required: " + err.Error())
		}
		h.specs[k] = spec
	}
	return h
}

// Server is a Handler served by an httptest.Server on a loopback port.
type Server struct {
	*Handler
	URL string // base URL for mallcoo.Config.BaseURL
	ts  *httptest.Server
}

// NewServer starts a fake Mallcoo API; Close it when done.
func NewServer(opt Options) *Server {
	h := NewHandler(opt)
	ts := httptest.NewServer(h)
	return &Server{Handler: h, URL: ts.URL, ts: ts}
}

// Close shuts the server down and waits for requests in progress.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// SetLatency sets the delay added to every later request.
func (h *Handler) SetLatency(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latency = d
}

// SetFailRate sets the share of later requests answered HTTP 503.
func (h *Handler) SetFailRate(p float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failRate = p
}

// SetDropRate sets the share of later connections closed without an answer.
func (h *Handler) SetDropRate(p float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropRate = p
}

// FailNext makes the next n requests answer HTTP status, with a
// Retry-After header when retryAfter is not empty. A status of 0 drops
// their connections instead.
func (h *Handler) FailNext(n int, status int, retryAfter string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failN, h.failCode, h.failRA = n, status, retryAfter
}

// RejectIf sets a hook called for each request that passed every check: when
// it returns reject, the request is answered HTTP 200 with its code and
// message. nil removes the hook.
func (h *Handler) RejectIf(f func(kind crmsync.Kind, body []byte) (code int, msg string, reject bool)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reject = f
}

// Reset forgets the recorded requests, the accepted TransIDs, pending
// FailNext requests and the RejectIf hook. Latency and rates stay.
func (h *Handler) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	h.requests = nil
	h.dropped = 0
	h.transIDs = map[string]bool{}
	h.failN = 0
	h.reject = nil
}

// Requests returns every request received (or the most recent ones, with
// Options.MaxRecorded), in arrival order. A request still in progress has
// HTTPStatus 0 and no Message yet.
func (h *Handler) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// Delivered returns the requests of kind that were accepted (Code 1), in
// arrival order.
func (h *Handler) Delivered(kind crmsync.Kind) []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Request
	for _, r := range h.requests {
		if r.Kind == kind && r.Code == CodeOK && r.HTTPStatus == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// fault is what the dice decided for one request.
type fault struct {
	drop       bool
	status     int
	retryAfter string
	latency    time.Duration
}

// ServeHTTP answers one request as Mallcoo would.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody))
	kind := h.kinds[r.URL.Path]

	h.mu.Lock()
	gen, idx := h.gen, h.dropped+len(h.requests)
	h.requests = append(h.requests, Request{
		Kind: kind, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: h.now(),
	})
	if h.keep > 0 && len(h.requests) >= 2*h.keep {
		n := len(h.requests) - h.keep
		h.requests = append([]Request(nil), h.requests[n:]...)
		h.dropped += n
	}
	f := fault{latency: h.latency}
	switch {
	case h.failN > 0:
		h.failN--
		f.status, f.retryAfter = h.failCode, h.failRA
		f.drop = f.status == 0
	case h.dropRate > 0 && h.rng.Float64() < h.dropRate:
		f.drop = true
	case h.failRate > 0 && h.rng.Float64() < h.failRate:
		f.status = http.StatusServiceUnavailable
	}
	h.mu.Unlock()

	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if f.drop {
		h.finish(gen, idx, 0, 0, "dropped")
		drop(w)
		return
	}
	if f.status != 0 {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		msg := http.StatusText(f.status)
		h.finish(gen, idx, f.status, 0, msg)
		http.Error(w, msg, f.status)
		return
	}
	if readErr != nil {
		h.answer(w, gen, idx, http.StatusBadRequest, CodeAuth, "请求读取失败")
		return
	}
	status, code, msg := h.check(r, kind, body)
	if status == http.StatusOK && code == CodeOK {
		status, code, msg = h.accept(kind, body)
	}
	h.answer(w, gen, idx, status, code, msg)
}

// check applies the transport and body checks; it returns Code 1 when
// the request may be accepted.
func (h *Handler) check(r *http.Request, kind crmsync.Kind, body []byte) (status, code int, msg string) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, CodeAuth, "请使用POST"
	}
	if kind == "" {
		return http.StatusNotFound, CodeAuth, "接口不存在"
	}
	hd := r.Header
	if hd.Get("AppID") != h.creds.AppID || hd.Get("PublicKey") != h.creds.PublicKey {
		return h.authHTTP, h.authCode, "AppID或PublicKey错误"
	}
	ts := hd.Get("TimeStamp")
	at, err := mallcoo.ParseTimeStamp(ts)
	if err != nil {
		return h.authHTTP, h.authCode, "时间戳格式错误"
	}
	if h.maxSkew > 0 {
		if d := h.now().Sub(at); d > h.maxSkew || d < -h.maxSkew {
			return h.authHTTP, h.authCode, "时间戳已过期"
		}
	}
	want := mallcoo.Sign(h.creds.PublicKey, ts, body, h.creds.PrivateKey)
	if subtle.ConstantTimeCompare([]byte(hd.Get("Sign")), []byte(want)) != 1 {
		return h.authHTTP, h.authCode, MessageSign
	}
	mt, params, err := mime.ParseMediaType(hd.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return http.StatusUnsupportedMediaType, CodeAuth, "Content-Type须为application/json; charset=utf-8"
	}
	if err := mallcoo.Check(h.specs[kind], body, h.checkOpt); err != nil {
		return http.StatusOK, CodeInvalidBody, "参数错误: " + err.Error()
	}
	return http.StatusOK, CodeOK, MessageOK
}

// accept applies the RejectIf hook and TransID uniqueness, and takes the
// TransID when the request is accepted.
func (h *Handler) accept(kind crmsync.Kind, body []byte) (status, code int, msg string) {
	h.mu.Lock()
	reject := h.reject
	h.mu.Unlock()
	if reject != nil {
		if c, m, ok := reject(kind, body); ok {
			return http.StatusOK, c, m
		}
	}
	if kind != crmsync.KindScore && kind != crmsync.KindScoreV2 {
		return http.StatusOK, CodeOK, MessageOK
	}
	var b struct{ TransID string }
	_ = json.Unmarshal(body, &b) // CheckBody passed: TransID is a string
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.transIDs[b.TransID] {
		if h.acceptDup {
			return http.StatusOK, CodeOK, MessageOK
		}
		return http.StatusOK, h.duplicate, MessageDuplicate
	}
	h.transIDs[b.TransID] = true
	return http.StatusOK, CodeOK, MessageOK
}

// answer writes and records Mallcoo's JSON answer.
func (h *Handler) answer(w http.ResponseWriter, gen, idx, status, code int, msg string) {
	h.finish(gen, idx, status, code, msg)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	a := struct {
		Code      int
		Message   string
		Extension []any
	}{code, msg, []any{}}
	if err := enc.Encode(a); err != nil {
		panic(fmt.Sprintf("mallcootest: encode answer: %v", err)) // cannot happen: plain types
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// finish records the answer of the idx-th request, unless Reset came or
// MaxRecorded forgot it since.
func (h *Handler) finish(gen, idx, status, code int, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := idx - h.dropped
	if gen != h.gen || i < 0 || i >= len(h.requests) {
		return
	}
	r := &h.requests[i]
	r.HTTPStatus, r.Code, r.Message = status, code, msg
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: reset the stream
}
