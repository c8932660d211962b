package cards

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/labctl/labctl/lab"
)

// Formats are the output formats, in the order they are written, with the
// file each one goes to.
var Formats = []struct{ Name, File string }{
	{"html", "cards.html"},
	{"pdf", "cards.pdf"},
	{"csv", "cards.csv"},
	{"json", "cards.json"},
	{"text", "cards.txt"},
}

// ParseFormats reads a comma-separated list of formats ("html,pdf").
func ParseFormats(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "txt" {
			f = "text"
		}
		if fileFor(f) == "" {
			return nil, fmt.Errorf("--format: %q is not one of html, pdf, csv, json, text", f)
		}
		out = append(out, f)
	}
	return out, nil
}

func fileFor(format string) string {
	for _, f := range Formats {
		if f.Name == format {
			return f.File
		}
	}
	return ""
}

// Render produces the deck in one format.
func (d *Deck) Render(ctx context.Context, format string) ([]byte, error) {
	switch format {
	case "html":
		return d.HTML()
	case "pdf":
		return d.PDF(ctx)
	case "csv":
		return d.CSV()
	case "json":
		return d.JSON()
	case "text":
		return d.PlainText(), nil
	}
	return nil, fmt.Errorf("unknown cards format %q", format)
}

// Write renders each format into dir (created 0700 if missing) as files
// readable by their owner only, since they hold passwords; dir "-" sends
// them to stdout instead. It returns the paths written.
func (d *Deck) Write(ctx context.Context, formats []string, dir string, stdout io.Writer) ([]string, error) {
	if dir == "-" {
		for _, f := range formats {
			if f == "pdf" {
				return nil, fmt.Errorf("-o -: the pdf format is binary; write it to a directory")
			}
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}
	var paths []string
	for _, f := range formats {
		data, err := d.Render(ctx, f)
		if err != nil {
			return paths, err
		}
		if dir == "-" {
			if _, err := stdout.Write(data); err != nil {
				return paths, fmt.Errorf("cards: %w", err)
			}
			continue
		}
		path := filepath.Join(dir, fileFor(f))
		if err := lab.WriteFileAtomic(path, data, 0o600); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	if dir == "-" {
		return paths, nil
	}
	names := make([]string, 0, len(d.kubeconfigs))
	for n := range d.kubeconfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, n)
		if err := lab.WriteFileAtomic(path, d.kubeconfigs[n], 0o600); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
