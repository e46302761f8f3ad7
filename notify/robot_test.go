package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// Recognisable secrets: none may appear in an error, a printed config or a
// message body.
const (
	secretKey    = "SECRETKEY123"
	secretSign   = "SECsignsecret456"
	secretHook   = "feishuhooktoken0123456789abcdef"
	secretPasswd = "SMTP-PASSWORD-789"
)

// robot is a local stand-in for a chat robot or webhook receiver: it
// records every request and answers with the next of its answers (the last
// one repeated).
type robot struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	answers []answer
}

type recorded struct {
	URL         *url.URL
	RawQuery    string
	ContentType string
	Body        []byte
}

type answer struct {
	status     int
	body       string
	retryAfter string
}

func newRobot(t *testing.T, answers ...answer) *robot {
	t.Helper()
	r := &robot{t: t, answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		i := len(r.reqs)
		r.reqs = append(r.reqs, recorded{req.URL, req.URL.RawQuery, req.Header.Get("Content-Type"), body})
		a := answer{200, `{"errcode":0,"errmsg":"ok"}`, ""}
		if len(r.answers) > 0 {
			a = r.answers[min(i, len(r.answers)-1)]
		}
		r.mu.Unlock()
		if req.Method != http.MethodPost {
			http.Error(w, "want POST", http.StatusMethodNotAllowed)
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *robot) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// newDest returns the destination of c with a fast backoff and a fixed
// clock; it fails the test if c does not check.
func newDest(t *testing.T, c Config) *Destination {
	t.Helper()
	d, err := New(c)
	if err != nil {
		t.Fatalf("New(%v) = %v", c, err)
	}
	d.Backoff = time.Millisecond
	d.Timeout = 5 * time.Second
	d.Now = func() time.Time { return time.Date(2026, 12, 1, 2, 3, 4, 0, time.UTC) }
	return d
}

// sampleNotice is a run that needs a person, in lang.
func sampleNotice(lang string) crmsync.Notice {
	return crmsync.Notice{
		Mall: "万象城", Command: "run", RunID: 42, ExitCode: 3, Rows: 1210,
		Counts: map[crmsync.Outcome]int{crmsync.OutcomeSent: 1200, crmsync.OutcomeInvalid: 7, crmsync.OutcomeRejected: 2, crmsync.OutcomeUnchanged: 1},
		ByKind: map[crmsync.Kind]map[crmsync.Outcome]int{
			crmsync.KindScore: {crmsync.OutcomeSent: 1200, crmsync.OutcomeInvalid: 7, crmsync.OutcomeRejected: 2, crmsync.OutcomeUnchanged: 1},
		},
		Causes: []crmsync.Cause{
			{Text: "手机号不是11位数字", Count: 5, Fix: "改正问题工作簿中的手机号后重新导入"},
			{Text: "消费金额不是金额", Count: 2, Fix: "写成 12.50 这样的金额"},
			{Text: "猫酷拒绝: 会员不存在 (Code 307)", Count: 2, Fix: "先在猫酷开卡,再重新运行"},
		},
		Report:   "/var/lib/crmsync/reports/2026-12-01_run-42.xlsx",
		Problems: "/var/lib/crmsync/reports/2026-12-01_run-42-problems.xlsx",
		Started:  time.Date(2026, 12, 1, 2, 0, 0, 0, time.FixedZone("CST", 8*3600)),
		Duration: 3*time.Minute + 12*time.Second + 400*time.Millisecond,
		Lang:     lang,
	}
}

// noSecret fails the test if s holds any of the recognisable secrets.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range []string{secretKey, secretSign, secretHook, secretPasswd} {
		if strings.Contains(s, sec) {
			t.Errorf("%s holds the secret %q:\n%s", what, sec, s)
		}
	}
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, body)
	}
	return m
}

// str returns the string at path in a decoded JSON object, failing the test
// when it is missing or not a string.
func str(t *testing.T, m map[string]any, path ...string) string {
	t.Helper()
	var v any = m
	for _, p := range path {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("body has no object above %q: %v", p, m)
		}
		v = o[p]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("body.%s = %#v, want a string", strings.Join(path, "."), v)
	}
	return s
}

func TestWeCom(t *testing.T) {
	r := newRobot(t)
	d := newDest(t, Config{Type: "wecom", URL: r.srv.URL + "/cgi-bin/webhook/send?key=" + secretKey})
	if err := d.Send(context.Background(), sampleNotice("zh")); err != nil {
		t.Fatalf("Send = %v", err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("robot got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if got := req.URL.Query().Get("key"); got != secretKey {
		t.Errorf("request key = %q, want %q", got, secretKey)
	}
	if !strings.HasPrefix(req.ContentType, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", req.ContentType)
	}
	m := decode(t, req.Body)
	if got := str(t, m, "msgtype"); got != "markdown" {
		t.Errorf("msgtype = %q, want markdown", got)
	}
	content := str(t, m, "markdown", "content")
	for _, want := range []string{"万象城", "运行 #42", "有行需要人工处理(退出码 3)", "已发送 1200", "无效 7", "手机号不是11位数字 × 5", sampleNotice("").Problems} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %q:\n%s", want, content)
		}
	}
	noSecret(t, "message body", string(req.Body))
}

// dingSign is DingTalk's documented signature, written out again here so
// the test does not trust the code under test.
func dingSign(ts, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, ts+"\n"+secret)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// feishuSign is Feishu's documented signature: the key is timestamp + "\n" +
// secret, the message empty.
func feishuSign(ts, secret string) string {
	m := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestDingTalkSigned(t *testing.T) {
	r := newRobot(t)
	d := newDest(t, Config{Type: "dingtalk", URL: r.srv.URL + "/robot/send?access_token=" + secretKey, Secret: secretSign})
	if err := d.Send(context.Background(), sampleNotice("en")); err != nil {
		t.Fatalf("Send = %v", err)
	}
	req := r.requests()[0]
	q := req.URL.Query()
	if got := q.Get("access_token"); got != secretKey {
		t.Errorf("access_token = %q, want %q", got, secretKey)
	}
	ts := q.Get("timestamp")
	if want := strconv.FormatInt(d.Now().UnixMilli(), 10); ts != want {
		t.Errorf("timestamp = %q, want %q (ms)", ts, want)
	}
	want := dingSign(ts, secretSign)
	if got := q.Get("sign"); got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
	// The raw query carries the signature URL-encoded (+ / = escaped).
	if !strings.Contains(req.RawQuery, "sign="+url.QueryEscape(want)) {
		t.Errorf("raw query %q lacks sign=%s", req.RawQuery, url.QueryEscape(want))
	}
	m := decode(t, req.Body)
	if got := str(t, m, "msgtype"); got != "markdown" {
		t.Errorf("msgtype = %q, want markdown", got)
	}
	if got, want := str(t, m, "markdown", "title"), "crmsync run · 万象城 · run #42: rows need a person (exit 3)"; got != want {
		t.Errorf("markdown.title = %q, want %q", got, want)
	}
	text := str(t, m, "markdown", "text")
	for _, want := range []string{"rows need a person (exit 3)", "sent 1200", "invalid 7"} {
		if !strings.Contains(text, want) {
			t.Errorf("markdown.text lacks %q:\n%s", want, text)
		}
	}
	noSecret(t, "message body", string(req.Body))
}

func TestDingTalkUnsigned(t *testing.T) {
	r := newRobot(t)
	d := newDest(t, Config{Type: "dingtalk", URL: r.srv.URL + "/robot/send?access_token=" + secretKey})
	if err := d.Send(context.Background(), sampleNotice("zh")); err != nil {
		t.Fatalf("Send = %v", err)
	}
	q := r.requests()[0].URL.Query()
	if q.Has("sign") || q.Has("timestamp") {
		t.Errorf("unsigned robot got query %v, want no sign or timestamp", q)
	}
}

func TestFeishuSigned(t *testing.T) {
	r := newRobot(t, answer{200, `{"code":0,"msg":"success","data":{}}`, ""})
	d := newDest(t, Config{Type: "feishu", URL: r.srv.URL + "/open-apis/bot/v2/hook/" + secretHook, Secret: secretSign})
	if err := d.Send(context.Background(), sampleNotice("zh")); err != nil {
		t.Fatalf("Send = %v", err)
	}
	req := r.requests()[0]
	if req.URL.Path != "/open-apis/bot/v2/hook/"+secretHook {
		t.Errorf("path = %q", req.URL.Path)
	}
	m := decode(t, req.Body)
	ts := str(t, m, "timestamp")
	if want := strconv.FormatInt(d.Now().Unix(), 10); ts != want {
		t.Errorf("timestamp = %q, want %q (seconds)", ts, want)
	}
	if got, want := str(t, m, "sign"), feishuSign(ts, secretSign); got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
	if got := str(t, m, "msg_type"); got != "text" {
		t.Errorf("msg_type = %q, want text", got)
	}
	text := str(t, m, "content", "text")
	if !strings.HasPrefix(text, "crmsync run · 万象城 · 运行 #42:有行需要人工处理(退出码 3)\n") {
		t.Errorf("content.text does not start with the headline:\n%s", text)
	}
	noSecret(t, "message body", string(req.Body))
}

func TestFeishuUnsigned(t *testing.T) {
	r := newRobot(t, answer{200, `{"StatusCode":0,"StatusMessage":"success"}`, ""})
	d := newDest(t, Config{Type: "feishu", URL: r.srv.URL + "/open-apis/bot/v2/hook/" + secretHook})
	if err := d.Send(context.Background(), sampleNotice("zh")); err != nil {
		t.Fatalf("Send = %v (old StatusCode answer)", err)
	}
	m := decode(t, r.requests()[0].Body)
	if _, ok := m["sign"]; ok {
		t.Errorf("unsigned robot got a sign: %v", m)
	}
}

// TestRobotRefuses: a robot's non-zero code is an error naming the code and
// message, not retried (resending will not help), without the URL's key.
func TestRobotRefuses(t *testing.T) {
	cases := []struct {
		typ, path, answer string
		code              int
		msg               string
	}{
		{"wecom", "/send?key=" + secretKey, `{"errcode":93000,"errmsg":"invalid webhook url, key=` + secretKey + `"}`, 93000, "invalid webhook url"},
		{"dingtalk", "/robot/send?access_token=" + secretKey, `{"errcode":310000,"errmsg":"sign not match"}`, 310000, "sign not match"},
		{"feishu", "/open-apis/bot/v2/hook/" + secretHook, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`, 19021, "sign match fail"},
		{"feishu", "/open-apis/bot/v2/hook/" + secretHook, `{"StatusCode":9499,"StatusMessage":"Bad Request"}`, 9499, "Bad Request"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.typ, c.code), func(t *testing.T) {
			r := newRobot(t, answer{200, c.answer, ""})
			cfg := Config{Type: c.typ, URL: r.srv.URL + c.path}
			if c.typ != "wecom" {
				cfg.Secret = secretSign
			}
			err := newDest(t, cfg).Send(context.Background(), sampleNotice("zh"))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v, want an *Error", err)
			}
			if e.Code != c.code || !strings.Contains(e.Message, c.msg) {
				t.Errorf("Send error Code, Message = %d, %q; want %d, %q", e.Code, e.Message, c.code, c.msg)
			}
			if e.Temporary() {
				t.Errorf("Send error %v is Temporary, want not", err)
			}
			if n := len(r.requests()); n != 1 {
				t.Errorf("robot got %d requests, want 1 (a refusal is not retried)", n)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(c.code)) {
				t.Errorf("error %q does not name the code", err)
			}
			noSecret(t, "error", err.Error())
		})
	}
}

func TestRobotAnswerNotJSON(t *testing.T) {
	r := newRobot(t, answer{200, `<html>gateway</html>`, ""})
	err := newDest(t, Config{Type: "wecom", URL: r.srv.URL + "/send?key=" + secretKey}).Send(context.Background(), sampleNotice("zh"))
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("Send = %v, want an error saying the answer is not JSON", err)
	}
}

// TestRetries: 5xx and 429 are retried (Retry-After honoured), and a server
// that keeps failing gives an error after every attempt, without a panic or
// the key.
func TestRetries(t *testing.T) {
	t.Run("500 until it gives up", func(t *testing.T) {
		r := newRobot(t, answer{500, "internal error key=" + secretKey, ""})
		d := newDest(t, Config{Type: "wecom", URL: r.srv.URL + "/send?key=" + secretKey})
		d.Attempts = 3
		err := d.Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || e.HTTPStatus != 500 || !e.Temporary() || e.Attempts != 3 {
			t.Fatalf("Send = %#v, want a temporary *Error with HTTPStatus 500 after 3 attempts", err)
		}
		if n := len(r.requests()); n != 3 {
			t.Errorf("robot got %d requests, want 3", n)
		}
		noSecret(t, "error", err.Error())
	})
	t.Run("429 then ok", func(t *testing.T) {
		r := newRobot(t, answer{429, "slow down", "0"}, answer{502, "", ""}, answer{200, `{"errcode":0}`, ""})
		d := newDest(t, Config{Type: "wecom", URL: r.srv.URL + "/send?key=" + secretKey})
		if err := d.Send(context.Background(), sampleNotice("zh")); err != nil {
			t.Fatalf("Send = %v, want success on the third attempt", err)
		}
		if n := len(r.requests()); n != 3 {
			t.Errorf("robot got %d requests, want 3", n)
		}
	})
	t.Run("400 not retried", func(t *testing.T) {
		r := newRobot(t, answer{400, "bad", ""})
		err := newDest(t, Config{Type: "webhook", URL: r.srv.URL + "/hook?token=" + secretKey}).Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || e.HTTPStatus != 400 || e.Temporary() {
			t.Fatalf("Send = %v, want a permanent *Error with HTTPStatus 400", err)
		}
		if n := len(r.requests()); n != 1 {
			t.Errorf("robot got %d requests, want 1", n)
		}
	})
	t.Run("server down", func(t *testing.T) {
		for _, typ := range []string{"wecom", "dingtalk", "feishu", "webhook"} {
			srv := httptest.NewServer(http.NotFoundHandler())
			base := srv.URL
			srv.Close() // nothing listens there now
			u := map[string]string{
				"wecom":    base + "/cgi-bin/webhook/send?key=" + secretKey,
				"dingtalk": base + "/robot/send?access_token=" + secretKey,
				"feishu":   base + "/open-apis/bot/v2/hook/" + secretHook,
				"webhook":  base + "/hook/" + secretHook + "?key=" + secretKey,
			}[typ]
			cfg := Config{Type: typ, URL: u}
			if typ == "dingtalk" || typ == "feishu" {
				cfg.Secret = secretSign
			}
			d := newDest(t, cfg)
			d.Attempts = 2
			err := d.Send(context.Background(), sampleNotice("zh"))
			var e *Error
			if !errors.As(err, &e) || !e.Temporary() || e.Attempts != 2 {
				t.Fatalf("%s: Send = %v, want a temporary *Error after 2 attempts", typ, err)
			}
			if !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("%s: error %q does not name the host", typ, err)
			}
			noSecret(t, typ+" error", err.Error())
			var ue *url.Error
			if errors.As(err, &ue) {
				t.Errorf("%s: error unwraps to a *url.Error (it holds the whole URL): %v", typ, ue)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		r := newRobot(t, answer{503, "", ""})
		d := newDest(t, Config{Type: "wecom", URL: r.srv.URL + "/send?key=" + secretKey})
		d.Backoff = time.Hour // only the cancel can end the wait
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- d.Send(ctx, sampleNotice("zh")) }()
		for len(r.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err == nil {
			t.Fatal("Send = nil after cancel, want the last error")
		}
	})
}

func TestWebhook(t *testing.T) {
	r := newRobot(t, answer{204, "", ""})
	d := newDest(t, Config{Type: "webhook", URL: r.srv.URL + "/hooks/crmsync?token=" + secretKey, On: "always"})
	n := sampleNotice("en")
	if err := d.Send(context.Background(), n); err != nil {
		t.Fatalf("Send = %v", err)
	}
	req := r.requests()[0]
	if req.ContentType != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json", req.ContentType)
	}
	var got struct {
		Mall      string                                   `json:"mall"`
		RunID     int64                                    `json:"run_id"`
		Command   string                                   `json:"command"`
		ExitCode  int                                      `json:"exit_code"`
		Rows      int                                      `json:"rows"`
		Counts    map[crmsync.Outcome]int                  `json:"counts"`
		ByKind    map[crmsync.Kind]map[crmsync.Outcome]int `json:"by_kind"`
		Report    string                                   `json:"report"`
		Problems  string                                   `json:"problems"`
		DurationS float64                                  `json:"duration_s"`
		Causes    []struct {
			Text  string `json:"text"`
			Count int    `json:"count"`
			Fix   string `json:"fix"`
		} `json:"causes"`
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatalf("body: %v\n%s", err, req.Body)
	}
	if got.RunID != 42 || got.Command != "run" || got.ExitCode != 3 || got.Rows != 1210 || got.Mall != "万象城" ||
		got.Counts[crmsync.OutcomeSent] != 1200 || got.ByKind[crmsync.KindScore][crmsync.OutcomeInvalid] != 7 ||
		got.Report != n.Report || got.Problems != n.Problems || got.DurationS != n.Duration.Seconds() ||
		len(got.Causes) != 3 || got.Causes[0].Count != 5 || got.Causes[0].Fix == "" || got.Title != title(n) {
		t.Errorf("webhook body = %+v\nfrom %s", got, req.Body)
	}
	noSecret(t, "webhook body", string(req.Body))
}

// manyCauses is a notice with more causes than any robot can show.
func manyCauses(lang string) crmsync.Notice {
	n := sampleNotice(lang)
	n.Causes = nil
	for i := range 400 {
		n.Causes = append(n.Causes, crmsync.Cause{
			Text: fmt.Sprintf("第 %d 类问题:%s", i+1, strings.Repeat("很长的原因说明", 20)), Count: 400 - i,
			Fix: strings.Repeat("按说明修改", 10),
		})
	}
	return n
}

// TestLengthLimits: each robot's message stays within its documented limit
// by dropping causes, never the headline, and says how many it dropped.
func TestLengthLimits(t *testing.T) {
	r := newRobot(t, answer{200, `{"errcode":0,"code":0}`, ""})
	n := manyCauses("zh")
	head := title(n)
	for _, c := range []struct {
		cfg   Config
		limit int
		text  func(body []byte) string
		size  func(body []byte) int
	}{
		{Config{Type: "wecom", URL: r.srv.URL + "/send?key=k"}, 4096,
			func(b []byte) string { return str(t, decode(t, b), "markdown", "content") },
			func(b []byte) int { return len(str(t, decode(t, b), "markdown", "content")) }},
		{Config{Type: "dingtalk", URL: r.srv.URL + "/robot/send?access_token=k", Secret: secretSign}, 20000,
			func(b []byte) string { return str(t, decode(t, b), "markdown", "text") },
			func(b []byte) int { return len(str(t, decode(t, b), "markdown", "text")) }},
		{Config{Type: "feishu", URL: r.srv.URL + "/open-apis/bot/v2/hook/" + secretHook, Secret: secretSign}, 20 * 1024,
			func(b []byte) string { return str(t, decode(t, b), "content", "text") },
			func(b []byte) int { return len(b) }},
	} {
		before := len(r.requests())
		if err := newDest(t, c.cfg).Send(context.Background(), n); err != nil {
			t.Fatalf("%s: Send = %v", c.cfg.Type, err)
		}
		body := r.requests()[before].Body
		if got := c.size(body); got > c.limit {
			t.Errorf("%s: message size %d, want at most %d", c.cfg.Type, got, c.limit)
		}
		text := c.text(body)
		if !strings.Contains(text, head) {
			t.Errorf("%s: message lacks the headline %q", c.cfg.Type, head)
		}
		if !strings.Contains(text, "第 1 类问题") || strings.Contains(text, "第 400 类问题") {
			t.Errorf("%s: want the first causes and not the last", c.cfg.Type)
		}
		if !strings.Contains(text, "类问题,见问题工作簿") {
			t.Errorf("%s: message does not say causes were left out:\n%s", c.cfg.Type, text[max(0, len(text)-600):])
		}
		if c.cfg.Type == "wecom" && c.size(body) < c.limit-1000 {
			t.Errorf("wecom: message of %d bytes leaves more than a cause's room under %d", c.size(body), c.limit)
		}
	}
}

// TestSendOddNotices: a notice with nothing in it, or a destination not
// made by New, gives a message or an error, never a panic.
func TestSendOddNotices(t *testing.T) {
	r := newRobot(t, answer{200, `{"errcode":0,"code":0}`, ""})
	for _, cfg := range []Config{
		{Type: "wecom", URL: r.srv.URL + "/send?key=k"},
		{Type: "dingtalk", URL: r.srv.URL + "/robot/send?access_token=k", Secret: secretSign},
		{Type: "feishu", URL: r.srv.URL + "/open-apis/bot/v2/hook/" + secretHook},
		{Type: "webhook", URL: r.srv.URL + "/hook"},
	} {
		d := newDest(t, cfg)
		for _, n := range []crmsync.Notice{{}, {ExitCode: 77, Counts: map[crmsync.Outcome]int{"surprise": 2}}, {Causes: []crmsync.Cause{{}}}} {
			if err := d.Send(context.Background(), n); err != nil {
				t.Errorf("%s: Send(%+v) = %v", cfg.Type, n, err)
			}
		}
	}
	var zero Destination
	if err := zero.Send(context.Background(), sampleNotice("zh")); err == nil {
		t.Error("zero Destination: Send = nil, want an error")
	}
	var nilDest *Destination
	if err := nilDest.Send(context.Background(), sampleNotice("zh")); err == nil {
		t.Error("nil Destination: Send = nil, want an error")
	}
	if body, _ := render(crmsync.Notice{ExitCode: 77, Counts: map[crmsync.Outcome]int{"surprise": 2}}, plain, -1); !strings.Contains(body, "surprise 2") || !strings.Contains(body, "77") {
		t.Errorf("render of an unknown exit code and outcome:\n%s", body)
	}
}
