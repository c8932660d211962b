package main

import (
	_ "embed"
	"errors"
	"os"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
)

//go:embed starter.yaml
var starterLab string

// renderStarter is the commented starter lab file for name.
func renderStarter(name string) (string, error) {
	var b strings.Builder
	t := template.Must(template.New("lab").Parse(starterLab))
	if err := t.Execute(&b, struct{ Name string }{name}); err != nil {
		return "", err
	}
	return b.String(), nil
}

func newInitCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [NAME]",
		Short: "Write a commented starter lab file",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "lab"
			if len(args) == 1 {
				name = args[0]
			}
			text, err := renderStarter(name)
			if err != nil {
				return err
			}
			if _, err := lab.Parse(a.file, []byte(text)); err != nil {
				return usageError{err}
			}
			if _, err := os.Stat(a.file); err == nil && !force {
				return badInput("%s already exists (pass --force to overwrite it)", a.file)
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err := lab.WriteFileAtomic(a.file, []byte(text), 0o644); err != nil {
				return err
			}
			a.printf("wrote %s; next: labctl up -f %s\n", a.file, a.file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing lab file")
	return cmd
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print labctl's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			a.printf("labctl %s\n", version)
		},
	}
}

// version is stamped at build time: -ldflags "-X main.version=v0.1.0".
var version = "dev"
