package main

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/report"
)

// templateCommand writes blank import templates, generated from the same
// column definitions the reader uses.
type templateCommand struct{ *env }

func (c *templateCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("template")
	dir := fs.String("dir", "templates", "`directory` to write the templates to")
	lang := fs.String("lang", "zh", "header language: zh or en")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *lang != "zh" && *lang != "en" {
		return usagef("-lang %q: want zh or en", *lang)
	}
	var kinds []crmsync.Kind
	for _, a := range fs.Args() {
		k, err := crmsync.ParseKind(a)
		if err != nil {
			return usagef("%v", err)
		}
		kinds = append(kinds, k)
	}
	paths, err := report.Templates(*dir, kinds, report.Options{Lang: *lang})
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(c.stdout, p)
	}
	return nil
}
