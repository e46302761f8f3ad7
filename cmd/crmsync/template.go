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
	language := lang("zh")
	fs.Var(&language, "lang", "header language: zh or en")
	if err := parse(fs, args); err != nil {
		return err
	}
	var kinds []crmsync.Kind
	for _, a := range fs.Args() {
		k, err := crmsync.ParseKind(a)
		if err != nil {
			return usagef("%v", err)
		}
		kinds = append(kinds, k)
	}
	paths, err := report.Templates(*dir, kinds, report.Options{Lang: string(language)})
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(c.stdout, p)
	}
	return nil
}
