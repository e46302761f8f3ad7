package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/notify"
)

// Example shows the wiring: decode the [[notify]] tables, check them once,
// and after a run send to each destination that wants the run's exit code,
// logging (not failing on) a destination that cannot be reached.
func Example() {
	var file struct {
		Notify []notify.Config `toml:"notify"`
	}
	text := `
[[notify]]
type = "wecom"
url  = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY123"
on   = "problems"
`
	if _, err := toml.Decode(text, &file); err != nil {
		fmt.Println(err)
		return
	}
	dests, err := notify.NewAll(file.Notify)
	if err != nil {
		fmt.Println("config:", err)
		return
	}
	fmt.Println(dests[0])

	summary := crmsync.NewSummary(42, "run", time.Now())
	exit := crmsync.ExitOK
	n := notify.FromSummary("万象城", "zh", summary, exit, nil)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, d := range dests {
		if !d.Wants(exit) {
			continue
		}
		if err := d.Send(context.Background(), n); err != nil {
			log.Warn("notify", "destination", d.Name(), "err", err)
		}
	}
	// Output: wecom (type=wecom url=https://qyapi.weixin.qq.com/*** on=problems)
}
