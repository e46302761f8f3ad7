package mallcoo_test

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

func ExampleSign() {
	body := []byte(`{"RefID":"12ddd3"}`)
	ts := mallcoo.TimeStamp(time.Date(2021, 1, 18, 10, 47, 0, 0, time.UTC)) // 18:47 in China
	fmt.Println(ts, mallcoo.Sign("1ULYkA", ts, body, "e14c4430ac63f427"))
	// Output: 20210118184700 3D594CCAFF56FAB5
}

func ExampleClient_Send() {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	c, err := mallcoo.NewClient(mallcoo.Config{
		BaseURL:     srv.URL, // default https://openapi10.mallcoo.cn
		Credentials: mallcootest.Sandbox,
		Rate:        50, // requests per second, all workers together
		Concurrency: 8,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	desc := mallcoo.URLText("测试备注")
	body, err := mallcoo.Marshal(mallcoo.InvalidInform{RefID: "12ddd3", BonusAction: 4, Desc: &desc})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	r, err := c.Send(context.Background(), crmsync.KindInvalid, body)
	fmt.Println(r.OK(), r.Code, r.Message, r.Attempts, err)
	// Output:
	// {"RefID":"12ddd3","BonusAction":4,"Desc":"%e6%b5%8b%e8%af%95%e5%a4%87%e6%b3%a8"}
	// true 1 成功 1 <nil>
}
