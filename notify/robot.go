package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// Message size limits of the robots (their documentation): WeCom's
// markdown content 4096 bytes, DingTalk's markdown text about 20000 bytes,
// Feishu's request body 20 KB. The list of causes is cut to fit; the
// headline and counts never are.
const (
	wecomLimit    = 4096
	dingtalkLimit = 20000
	feishuLimit   = 20000
)

// dingtalkSign is DingTalk's signature of a message sent at timestamp (ms
// since 1970): base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)),
// not yet URL-encoded.
func dingtalkSign(timestampMS int64, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// feishuSignature is Feishu's signature of a message sent at timestamp (s since
// 1970): base64(HMAC-SHA256(key = timestamp + "\n" + secret, empty message)).
func feishuSignature(timestampS int64, secret string) string {
	m := hmac.New(sha256.New, []byte(strconv.FormatInt(timestampS, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// request is one POST: where to and what.
type request struct {
	url  string
	body []byte
}

func (d *Destination) wecomBody(n crmsync.Notice) (request, error) {
	content := fit(n, markdown, wecomLimit, func(s string) int { return len(s) })
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": content},
	})
	return request{d.Config.URL, body}, err
}

func (d *Destination) dingtalkBody(n crmsync.Notice) (request, error) {
	text := fit(n, dingMD, dingtalkLimit, func(s string) int { return len(s) })
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": title(n), "text": text},
	})
	if err != nil {
		return request{}, err
	}
	u := d.Config.URL
	if d.Config.Secret != "" {
		pu, err := parseURL(u)
		if err != nil {
			return request{}, fieldErr("url", "not an http(s) address")
		}
		ts := d.now().UnixMilli()
		q := pu.Query()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", dingtalkSign(ts, d.Config.Secret)) // Encode URL-encodes it
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	return request{u, body}, nil
}

func (d *Destination) feishuBody(n crmsync.Notice) (request, error) {
	var ts, sign string
	if d.Config.Secret != "" {
		t := d.now().Unix()
		ts, sign = strconv.FormatInt(t, 10), feishuSignature(t, d.Config.Secret)
	}
	marshal := func(text string) ([]byte, error) {
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": text}}
		if sign != "" {
			m["timestamp"] = ts
			m["sign"] = sign
		}
		return json.Marshal(m)
	}
	text := fit(n, plain, feishuLimit, func(s string) int {
		b, _ := marshal(s)
		return len(b)
	})
	body, err := marshal(text)
	return request{d.Config.URL, body}, err
}

// webhookSummary is what a generic webhook receives: the run's -json
// summary (run_id, command, rows, counts, by_kind, report, problems,
// duration_s, started) and how it ended, with the rendered message for
// receivers that only relay text.
type webhookSummary struct {
	Mall      string                                   `json:"mall"`
	RunID     int64                                    `json:"run_id"`
	Command   string                                   `json:"command"`
	ExitCode  int                                      `json:"exit_code"`
	Rows      int                                      `json:"rows"`
	Counts    map[crmsync.Outcome]int                  `json:"counts"`
	ByKind    map[crmsync.Kind]map[crmsync.Outcome]int `json:"by_kind"`
	Causes    []webhookCause                           `json:"causes"`
	Report    string                                   `json:"report"`
	Problems  string                                   `json:"problems"`
	DurationS float64                                  `json:"duration_s"`
	Started   *time.Time                               `json:"started,omitempty"`
	Test      bool                                     `json:"test,omitempty"`
	Title     string                                   `json:"title"`
	Text      string                                   `json:"text"`
}

type webhookCause struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
	Fix   string `json:"fix,omitempty"`
}

func (d *Destination) webhookBody(n crmsync.Notice) (request, error) {
	text, _ := render(n, plain, -1)
	s := webhookSummary{
		Mall: n.Mall, RunID: n.RunID, Command: n.Command, ExitCode: n.ExitCode, Rows: n.Rows,
		Counts: n.Counts, ByKind: n.ByKind, Causes: []webhookCause{},
		Report: n.Report, Problems: n.Problems, DurationS: n.Duration.Seconds(), Test: n.Test,
		Title: title(n), Text: text,
	}
	if s.Counts == nil {
		s.Counts = map[crmsync.Outcome]int{}
	}
	if s.ByKind == nil {
		s.ByKind = map[crmsync.Kind]map[crmsync.Outcome]int{}
	}
	if !n.Started.IsZero() {
		t := n.Started
		s.Started = &t
	}
	for _, c := range n.Causes {
		s.Causes = append(s.Causes, webhookCause{c.Text, c.Count, c.Fix})
	}
	body, err := json.Marshal(s)
	return request{d.Config.URL, body}, err
}

// robotAnswer is the answer of WeCom and DingTalk (errcode, errmsg) and of
// Feishu (code, msg; older robots StatusCode, StatusMessage).
type robotAnswer struct {
	Errcode       *int   `json:"errcode"`
	Errmsg        string `json:"errmsg"`
	Code          *int   `json:"code"`
	Msg           string `json:"msg"`
	StatusCode    *int   `json:"StatusCode"`
	StatusMessage string `json:"StatusMessage"`
}

func checkErrcode(a robotAnswer) (bool, int, string) {
	if a.Errcode == nil {
		return false, 0, "answer has no errcode"
	}
	return *a.Errcode == 0, *a.Errcode, a.Errmsg
}

func checkFeishu(a robotAnswer) (bool, int, string) {
	switch {
	case a.Code != nil:
		return *a.Code == 0, *a.Code, a.Msg
	case a.StatusCode != nil:
		return *a.StatusCode == 0, *a.StatusCode, a.StatusMessage
	}
	return false, 0, "answer has no code"
}

// sendRobot POSTs the body build makes (built again for each attempt, so
// a signature's timestamp stays fresh) and checks the answer with check
// (nil: any 2xx is success, for a generic webhook).
func (d *Destination) sendRobot(ctx context.Context, n crmsync.Notice,
	build func(crmsync.Notice) (request, error), check func(robotAnswer) (bool, int, string)) error {
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	err := d.retry(ctx, func(ctx context.Context) (*Error, time.Duration) {
		req, err := build(n)
		if err != nil {
			return d.fail(0, fmt.Errorf("build message: %w", err)), 0
		}
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.url, bytes.NewReader(req.body))
		if err != nil {
			return d.fail(0, errors.New("bad url")), 0
		}
		hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
		hreq.Header.Set("User-Agent", "crmsync-notify")
		resp, err := client.Do(hreq)
		if err != nil {
			e := d.fail(0, err)
			e.temporary = transient(err)
			return e, 0
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			e := d.fail(0, fmt.Errorf("read answer: %w", err))
			e.temporary = true
			return e, 0
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			e := &Error{Dest: d.Name(), Host: d.host(), HTTPStatus: resp.StatusCode,
				Message: d.redact.Replace(snippet(answer))}
			e.temporary = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
			return e, retryAfter(resp.Header.Get("Retry-After"), d.now())
		}
		if check == nil {
			return nil, 0
		}
		var a robotAnswer
		if err := json.Unmarshal(answer, &a); err != nil {
			return &Error{Dest: d.Name(), Host: d.host(), HTTPStatus: resp.StatusCode,
				Message: "answer is not JSON: " + d.redact.Replace(snippet(answer))}, 0
		}
		ok, code, msg := check(a)
		if !ok {
			return &Error{Dest: d.Name(), Host: d.host(), HTTPStatus: resp.StatusCode, Code: code,
				Message: d.redact.Replace(oneLine(msg, 300))}, 0
		}
		return nil, 0
	})
	return err
}

// transient reports whether a transport error may pass: a timeout, a
// refused or reset connection, an unreachable host; not a certificate
// that does not verify.
func transient(err error) bool {
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// retryAfter is the wait a Retry-After header asks for, 0 when none.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// snippet is the start of an answer's body, on one line, for an error.
func snippet(b []byte) string {
	return oneLine(string(bytes.ToValidUTF8(b, []byte("?"))), 200)
}

func parseURL(s string) (*url.URL, error) { return url.Parse(strings.TrimSpace(s)) }

// unwrapURL returns the cause below a *url.Error, whose text holds the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
