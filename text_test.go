package crmsync_test

import (
	"testing"

	"github.com/crmsync/crmsync"
)

// TestTextReadBack: a Text written as "中文 / English" (the ledger's run
// summary, -json) reads back as it was, also when its Chinese holds " / "
// in what it embeds: a count, a quoted header cell.
func TestTextReadBack(t *testing.T) {
	for _, want := range []crmsync.Text{
		crmsync.Say("说明页,未读取", "instructions, not read"),
		crmsync.Say("最近的发送大多失败(25 / 25 次),最后一次:mallcoo: HTTP 503:猫酷无法连接或出错", "most recent sends failed (25 of 25), last: mallcoo: HTTP 503: Mallcoo is unreachable"),
		crmsync.Say(`未识别的列“金额 / Amount”(最接近的字段: 交易金额),未读取;若它就是该字段,在配置 [columns] 中加 "金额 / Amount" = "TradeAmount"`,
			`unknown column "金额 / Amount" (nearest field: 交易金额), not read; if it is that field, add "金额 / Amount" = "TradeAmount" to the config's [columns]`),
		crmsync.Say(`猫酷拒绝了凭据或签名(mallcoo: Code 40001 "签名错误 \" / sign"):请检查`, `mallcoo refused the credentials or signature (mallcoo: Code 40001 "签名错误 \" / sign"): check`),
		crmsync.Say("open x.csv: permission denied", "open x.csv: permission denied"),
	} {
		b, err := want.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got crmsync.Text
		if err := got.UnmarshalText(b); err != nil || got != want {
			t.Errorf("UnmarshalText(%q) = {ZH: %q, EN: %q}, %v; want {ZH: %q, EN: %q}", b, got.ZH, got.EN, err, want.ZH, want.EN)
		}
	}
	// As an older crmsync kept it.
	var got crmsync.Text
	got.UnmarshalText([]byte("中断(SIGINT/SIGTERM),已完成的工作已记录 / interrupted (SIGINT/SIGTERM); the work done is recorded"))
	if want := crmsync.Say("中断(SIGINT/SIGTERM),已完成的工作已记录", "interrupted (SIGINT/SIGTERM); the work done is recorded"); got != want {
		t.Errorf("UnmarshalText of an older reason = {ZH: %q, EN: %q}, want {ZH: %q, EN: %q}", got.ZH, got.EN, want.ZH, want.EN)
	}
}
