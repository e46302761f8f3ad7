package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…"; else the
// module version from the build info is used.
var version = ""

type versionCommand struct{ *env }

func (c *versionCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("version")
	if err := parse(fs, args); err != nil {
		return err
	}
	v, commit, goVersion := version, "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					commit += " (modified)"
				}
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	fmt.Fprintf(c.stdout, "crmsync %s (commit %s, %s)\n", v, commit, goVersion)
	return nil
}
