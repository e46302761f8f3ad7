package mallcoo

import (
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSignVectors(t *testing.T) {
	// The vectors of mallcoo-api.md (public sample keys).
	const pub, ts, priv = "1ULYkA", "20210118184700", "e14c4430ac63f427"
	cases := []struct {
		body string
		want string
	}{
		{`{"RefID":"12ddd3"}`, "3D594CCAFF56FAB5"},
		{`{"ThirdPartyCardID":"201710000001","BeforeCardCode":"Vip123","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2018-09-10 12:13:14"}`, "120CC4F1E6880EA2"},
	}
	for _, c := range cases {
		if got := Sign(pub, ts, []byte(c.body), priv); got != c.want {
			t.Errorf("Sign(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestSignKeyNameCase(t *testing.T) {
	// The third vector hashes "timestamp:" (lower-case s): Sign must not
	// produce it, and the vector documents what the wrong spelling gives.
	got := Sign("1ULYkA", "20210118184700", []byte(`{"RefID":"12ddd3"}`), "e14c4430ac63f427")
	if got == "CFC13DEA41735BAB" {
		t.Errorf("Sign(RefID body) = %q, the value of the misspelt key timestamp:", got)
	}
	if wrong := signText("{publicKey:1ULYkA,timestamp:20210118184700,data:{\"RefID\":\"12ddd3\"},privateKey:e14c4430ac63f427}"); wrong != "CFC13DEA41735BAB" {
		t.Errorf("md5 of the lower-case-s text = %q, want %q", wrong, "CFC13DEA41735BAB")
	}
}

// signText applies Sign's hash and cut (hex 8..23, upper-case) to a whole text.
func signText(s string) string {
	return strings.ToUpper(fmt.Sprintf("%x", md5Sum([]byte(s)))[8:24])
}

func TestTimeStampIsCST(t *testing.T) {
	saved := time.Local
	time.Local = time.FixedZone("PST", -8*3600)
	defer func() { time.Local = saved }()

	utc := time.Date(2021, 1, 18, 10, 47, 0, 0, time.UTC)
	if got, want := TimeStamp(utc), "20210118184700"; got != want {
		t.Errorf("TimeStamp(%v) = %q, want %q", utc, got, want)
	}
	local := utc.In(time.Local) // 2021-01-18 02:47 PST
	if got, want := TimeStamp(local), "20210118184700"; got != want {
		t.Errorf("TimeStamp(%v) = %q, want %q", local, got, want)
	}
	// Across midnight: 20:00 UTC is 04:00 the next day in China.
	late := time.Date(2024, 12, 31, 20, 0, 0, 0, time.UTC)
	if got, want := TimeStamp(late), "20250101040000"; got != want {
		t.Errorf("TimeStamp(%v) = %q, want %q", late, got, want)
	}
	back, err := ParseTimeStamp("20210118184700")
	if err != nil || !back.Equal(utc) {
		t.Errorf("ParseTimeStamp(20210118184700) = %v, %v, want %v", back, err, utc)
	}
	for _, bad := range []string{"", "2021011818470", "2021-01-18 18:47", "20211318184700", "+0210118184700"} {
		if _, err := ParseTimeStamp(bad); err == nil {
			t.Errorf("ParseTimeStamp(%q) = nil error, want one", bad)
		}
	}
}

func TestCredentialsNeverShowPrivateKey(t *testing.T) {
	const secret = "e14c4430ac63f427"
	c := Credentials{AppID: "app1", PublicKey: "1ULYkA", PrivateKey: secret}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("creds", "c", c)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal(creds): %v", err)
	}
	outs := map[string]string{
		"String": c.String(), "GoString": c.GoString(),
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", c), "%q": fmt.Sprintf("%q", c), "%x": fmt.Sprintf("%x", c),
		"pointer %v": fmt.Sprintf("%v", &c), "in struct %+v": fmt.Sprintf("%+v", struct{ C Credentials }{c}),
		"slog": logged.String(), "json": string(j),
	}
	for name, out := range outs {
		if strings.Contains(out, secret) {
			t.Errorf("%s of credentials = %q, reveals the private key", name, out)
		}
		if !strings.Contains(out, "app1") {
			t.Errorf("%s of credentials = %q, want the AppID shown", name, out)
		}
	}
}

func TestCredentialsCheck(t *testing.T) {
	if err := (Credentials{AppID: "a", PublicKey: "b", PrivateKey: "c"}).Check(); err != nil {
		t.Errorf("Check(complete) = %v, want nil", err)
	}
	cases := []struct {
		c    Credentials
		want []string
		not  []string
	}{
		{Credentials{PublicKey: "b", PrivateKey: "c"}, []string{EnvAppID}, []string{EnvPublicKey, EnvPrivateKey}},
		{Credentials{AppID: "a", PrivateKey: "c"}, []string{EnvPublicKey}, []string{EnvAppID, EnvPrivateKey}},
		{Credentials{AppID: "a", PublicKey: "b", PrivateKey: "  "}, []string{EnvPrivateKey}, []string{EnvAppID, EnvPublicKey}},
		{Credentials{}, []string{EnvAppID, EnvPublicKey, EnvPrivateKey}, nil},
	}
	for _, c := range cases {
		err := c.c.Check()
		if !errors.Is(err, ErrMissingCredentials) {
			t.Errorf("Check(%v) = %v, want ErrMissingCredentials", c.c, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%v) = %q, want it to name %s", c.c, err, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(err.Error(), n) {
				t.Errorf("Check(%v) = %q, names %s which is set", c.c, err, n)
			}
		}
	}
}

func md5Sum(b []byte) [16]byte { return md5.Sum(b) }
