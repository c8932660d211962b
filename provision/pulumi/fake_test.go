package pulumi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/provision"
)

// fakeHelper is a Provider whose labctl-pulumi is a script: it keeps the
// request it reads in *req and answers with events.
type fakeHelper struct {
	t    *testing.T
	dir  string
	Prov *Provider
}

func newFakeHelper(t *testing.T, now time.Time, events ...Event) *fakeHelper {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, "events"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\ncat > %s/request\ncat %s/events\n", dir, dir)
	bin := filepath.Join(dir, "labctl-pulumi")
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, "pulumi")
	os.WriteFile(cli, nil, 0o700)
	p := New()
	p.CLI = func(context.Context, provision.Request) (string, error) { return cli, nil }
	p.Helper = func(context.Context, provision.Request) (string, error) { return bin, nil }
	p.Now = func() time.Time { return now }
	return &fakeHelper{t: t, dir: dir, Prov: p}
}

// request is what the helper was asked.
func (f *fakeHelper) request() Request {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "request"))
	if err != nil {
		f.t.Fatal(err)
	}
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		f.t.Fatal(err)
	}
	return r
}
