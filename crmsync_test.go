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

func TestAnyNeedsPerson(t *testing.T) {
	for _, c := range []struct {
		counts map[Outcome]int
		files  []FileSummary
		want   bool
	}{
		{map[Outcome]int{OutcomeSent: 3, OutcomeUnchanged: 1}, []FileSummary{{Path: "a.csv"}}, false},
		{map[Outcome]int{OutcomeSent: 3, OutcomeInvalid: 0}, nil, false},
		{map[Outcome]int{OutcomeSent: 3, OutcomeInvalid: 1}, nil, true},
		{map[Outcome]int{OutcomeSent: 3}, []FileSummary{{Path: "a.csv", Problem: Say("x", "x")}}, true},
	} {
		if got := AnyNeedsPerson(c.counts, c.files); got != c.want {
			t.Errorf("AnyNeedsPerson(%v, %v) = %v, want %v", c.counts, c.files, got, c.want)
		}
	}
	if !AnyNeedsPerson(map[Category]int{CategoryMatched: 2, CategoryOrphan: 1}, nil) {
		t.Errorf("AnyNeedsPerson(an orphan) = false, want true")
	}
}
