package crmsync

import "testing"

func TestEnglish(t *testing.T) {
	for lang, want := range map[string]bool{"en": true, "EN": true, " en-US ": true, "english": true, "zh": false, "": false, "cn": false, "zh-en": false} {
		if got := English(lang); got != want {
			t.Errorf("English(%q) = %v, want %v", lang, got, want)
		}
	}
	if got := OutcomeSent.Word("EN"); got != "sent" {
		t.Errorf("OutcomeSent.Word(EN) = %q, want sent", got)
	}
}
