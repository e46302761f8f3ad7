package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestPrivateKeyHandling: a key file others can read draws a warning naming
// chmod (and the run goes on); a key given twice — in the environment and
// as a file, or twice in the config — is refused, naming both settings and
// never the key.
func TestPrivateKeyHandling(t *testing.T) {
	const key = "SECRET-KEY-b81d"
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "private.key")
	if err := os.WriteFile(keyFile, []byte(mallcootest.Sandbox.PrivateKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(keyFile, 0o644) // whatever the umask
	input := filepath.Join(dir, "in", "member.csv")
	os.MkdirAll(filepath.Dir(input), 0o755)
	os.WriteFile(input, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	base := func() map[string]string {
		v := sandboxEnv(srv)
		delete(v, "MALLCOO_PRIVATE_KEY")
		return v
	}

	t.Run("readable by others", func(t *testing.T) {
		vars := base()
		vars["MALLCOO_PRIVATE_KEY_FILE"] = keyFile
		code, _, stderr := cli(t, vars, "run", "-ledger", filepath.Join(t.TempDir(), "l.db"), "-report", filepath.Join(t.TempDir(), "r.xlsx"), input)
		if code != 0 {
			t.Fatalf("run exit %d, want 0\n%s", code, stderr)
		}
		if !strings.Contains(stderr, "chmod 0400") || !strings.Contains(stderr, "mode=0644") {
			t.Errorf("stderr has no warning about the key file's mode:\n%s", stderr)
		}
	})
	t.Run("owner only", func(t *testing.T) {
		private := filepath.Join(t.TempDir(), "k")
		os.WriteFile(private, []byte(mallcootest.Sandbox.PrivateKey), 0o400)
		vars := base()
		vars["MALLCOO_PRIVATE_KEY_FILE"] = private
		code, _, stderr := cli(t, vars, "run", "-ledger", filepath.Join(t.TempDir(), "l.db"), "-report", filepath.Join(t.TempDir(), "r.xlsx"), input)
		if code != 0 || strings.Contains(stderr, "chmod 0400") {
			t.Errorf("run exit %d, want 0 and no warning\n%s", code, stderr)
		}
	})
	t.Run("env and file", func(t *testing.T) {
		vars := base()
		vars["MALLCOO_PRIVATE_KEY"] = key
		vars["MALLCOO_PRIVATE_KEY_FILE"] = keyFile
		code, stdout, stderr := cli(t, vars, "run", "-ledger", filepath.Join(t.TempDir(), "l.db"), input)
		if code != 1 || !strings.Contains(stderr, "MALLCOO_PRIVATE_KEY and MALLCOO_PRIVATE_KEY_FILE") {
			t.Errorf("run exit %d, want 1 naming both settings\n%s", code, stderr)
		}
		if strings.Contains(stdout+stderr, key) {
			t.Errorf("the key was printed:\n%s%s", stdout, stderr)
		}
	})
	t.Run("config key and key file", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(cfg, []byte("[credentials]\nprivate_key = \""+key+"\"\nprivate_key_file = \""+keyFile+"\"\n"), 0o600)
		vars := base()
		code, stdout, stderr := cli(t, vars, "run", "-config", cfg, "-ledger", filepath.Join(t.TempDir(), "l.db"), input)
		if code != 1 || !strings.Contains(stderr, "private_key and private_key_file") {
			t.Errorf("run exit %d, want 1 naming both keys\n%s", code, stderr)
		}
		if strings.Contains(stdout+stderr, key) {
			t.Errorf("the key was printed:\n%s%s", stdout, stderr)
		}
	})
}
