package notify

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports: notify speaks only the root package's types (DESIGN.md:
// it must not decide outcomes, so it imports no other package of the
// project).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/crmsync/crmsync/") {
				t.Errorf("%s imports %s; notify may import only the root package", f, p)
			}
			if strings.HasPrefix(p, "github.com/emersion/") {
				t.Errorf("%s imports %s, a test-only dependency", f, p)
			}
		}
	}
}
