package crmsync_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLayout asserts the "must not" column of DESIGN.md's package table
// from go list: each package's dependencies (direct and indirect, tests
// left out) hold none of the project's packages it must not know.
func TestLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	// Stat every Go file, so the test cache knows this test's result
	// depends on them (go test cannot see what go list reads).
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			os.Stat(path)
		}
		return nil
	})
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/crmsync/crmsync"
	deps := map[string][]string{}
	errgroup := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], mod), "/")
		if pkg == "pipeline" && slices.Contains(f[1:], "golang.org/x/sync/errgroup") {
			errgroup = true
		}
		for _, d := range f[1:] {
			if d == mod || strings.HasPrefix(d, mod+"/") {
				deps[pkg] = append(deps[pkg], strings.TrimPrefix(strings.TrimPrefix(d, mod), "/"))
			}
		}
		if _, ok := deps[pkg]; !ok {
			deps[pkg] = nil
		}
	}
	if !errgroup {
		t.Errorf("package pipeline does not use golang.org/x/sync/errgroup (bounded parallelism, STYLE.md)")
	}
	for _, c := range []struct {
		pkg     string
		mustNot []string // "" is the root package; nil: any package of the project
	}{
		{"", nil},
		{"importer", []string{"ledger", "mallcoo/mallcootest", "report", "pipeline", "notify"}},
		{"report", []string{"ledger", "importer", "pipeline"}},
		{"ledger", []string{"mallcoo", "report", "importer", "pipeline", "notify"}},
		{"mallcoo", []string{"ledger", "importer", "report", "pipeline"}},
		{"notify", []string{"ledger", "importer", "pipeline"}},
		{"pipeline", []string{"mallcoo/mallcootest"}},
	} {
		have, ok := deps[c.pkg]
		if !ok {
			t.Errorf("go list shows no package %q", c.pkg)
			continue
		}
		for _, d := range have {
			if c.mustNot == nil || slices.Contains(c.mustNot, d) {
				t.Errorf("package %q depends on %q; DESIGN.md says it must not", c.pkg, d)
			}
		}
	}
}
