package crmsync

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestContentHash: the SHA-256 of the kind, a NUL and the body, for a body
// hashed on the stack and for one too long for that.
func TestContentHash(t *testing.T) {
	for _, body := range []string{"", `{"TransID":"T1"}`, strings.Repeat("x", 1014), strings.Repeat("y", 1015), strings.Repeat("测", 5000)} {
		sum := sha256.Sum256([]byte("score\x00" + body))
		if got, want := ContentHash(KindScore, []byte(body)), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("ContentHash(score, %d bytes) = %s, want %s", len(body), got, want)
		}
	}
}
