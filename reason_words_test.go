package crmsync

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReasonWords: every reason code Because makes renders in both
// languages with its args, without a fmt complaint (%!), and the Chinese
// text is Chinese, the English English.
func TestReasonWords(t *testing.T) {
	for code := range reasonWords {
		for _, lang := range []string{"zh", "en"} {
			p := BecauseOf(code, "A1", "B2", "C3", "D4")
			got := p.Text(lang)
			if strings.Contains(got, "%!") || got == "" {
				t.Errorf("%s in %s: %q", code, lang, got)
			}
			if cjk := strings.ContainsFunc(got, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }); cjk != (lang == "zh") {
				t.Errorf("%s in %s is %q: Chinese text %v", code, lang, got, cjk)
			}
		}
	}
	// A trailing pair given once (the same text in both languages) serves
	// both.
	p := BecauseOf(ReasonNotSent, "HTTP 503")
	if got := p.Text("en"); got != "not sent: HTTP 503" {
		t.Errorf("not-sent with one why in English: %q", got)
	}
}

// TestTextJSON: a Text is one string in JSON, "中文 / English", and reads
// back whole; a text of one language reads back as both.
func TestTextJSON(t *testing.T) {
	for _, tx := range []Text{Say("空工作表", "empty sheet"), Say("HTTP 503", "HTTP 503"), {}} {
		b, err := json.Marshal(struct {
			T Text `json:"t,omitzero"`
		}{tx})
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ T Text }
		if err := json.Unmarshal(b, &back); err != nil || back.T != tx {
			t.Errorf("%+v as JSON %s reads back %+v (%v)", tx, b, back.T, err)
		}
	}
	if b, _ := json.Marshal(Say("空工作表", "empty sheet")); string(b) != `"空工作表 / empty sheet"` {
		t.Errorf("JSON of a Text: %s", b)
	}
}
