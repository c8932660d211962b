package pulumi

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/local"
)

// fakeHelperEnv makes this test binary act as labctl-pulumi: it writes
// what the real one writes before a preview (the provider's directory,
// its passphrase, a stack in the file backend) and says where.
const fakeHelperEnv = "LABCTL_TEST_FAKE_PULUMI_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeHelperEnv) != "" {
		os.Exit(actAsHelper())
	}
	os.Exit(m.Run())
}

func actAsHelper() int {
	var req Request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return 1
	}
	say := func(e Event) { b, _ := json.Marshal(e); os.Stdout.Write(append(b, '\n')) }
	stack := filepath.Join(strings.TrimPrefix(req.Backend, "file://"), ".pulumi", "stacks", Project)
	for _, d := range []string{filepath.Join(req.Dir, "work"), stack} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			say(Event{Error: err.Error()})
			return 0
		}
	}
	os.WriteFile(filepath.Join(req.Dir, "passphrase"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(stack, req.Lab.Name+".json"), []byte("{}"), 0o600)
	say(Event{Out: "dir=" + req.Dir + " backend=" + req.Backend + " op=" + req.Op})
	return 0
}

func fakeProvider(t *testing.T) *Provider {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeHelperEnv, "1")
	cli := filepath.Join(t.TempDir(), "pulumi")
	return &Provider{
		Local:  local.New(),
		CLI:    func(context.Context, provision.Request) (string, error) { return cli, nil },
		Helper: func(context.Context, provision.Request) (string, error) { return self, nil },
	}
}

// helperSaid returns what the fake helper was asked: its dir and backend.
func helperSaid(t *testing.T, out string) (dir, backend string) {
	t.Helper()
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "dir="); ok {
			dir = v
		}
		if v, ok := strings.CutPrefix(f, "backend="); ok {
			backend = v
		}
	}
	if dir == "" {
		t.Fatalf("the helper never ran: %q", out)
	}
	return dir, backend
}

func localPulumiLab(t *testing.T, backend string) *lab.Lab {
	t.Helper()
	y := "name: class\nattendees: 1\nnodesPerCluster: 2\nprovider:\n  type: pulumi\n  pulumi: {target: local"
	if backend != "" {
		y += ", backend: " + backend
	}
	l, err := lab.Parse("lab.yaml", []byte(y+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// `up --dry-run` of a pulumi lab creates nothing: no state directory, no
// backend directory, no stack (issue 17, item 9); the preview's throwaway
// directory is gone afterwards.
func TestDryRunCreatesNothing(t *testing.T) {
	for _, tc := range []struct{ name, backend string }{
		{name: "backend in the state"},
		{name: "backend named by the lab", backend: "file://" + filepath.Join(t.TempDir(), "no", "backend")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeProvider(t)
			parent := t.TempDir()
			state := filepath.Join(parent, "state")
			var out strings.Builder
			r := provision.Request{Lab: localPulumiLab(t, tc.backend), StateDir: state, State: &lab.State{}, Out: &out}
			if err := p.Check(t.Context(), r); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := p.Plan(t.Context(), r, &out); err != nil {
				t.Fatalf("Plan: %v", err)
			}
			dir, backend := helperSaid(t, out.String())
			for _, p := range []string{state, strings.TrimPrefix(tc.backend, "file://"), dir, strings.TrimPrefix(backend, "file://")} {
				if p == "" {
					continue
				}
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the dry run left %s behind (%v)", p, err)
				}
			}
			if left, _ := os.ReadDir(parent); len(left) > 0 {
				t.Errorf("the dry run left %v next to the state", left)
			}
		})
	}
}

// A lab whose stack labctl made is previewed against that stack.
func TestDryRunOfAnExistingStackUsesIt(t *testing.T) {
	p := fakeProvider(t)
	state := t.TempDir()
	var out strings.Builder
	r := provision.Request{Lab: localPulumiLab(t, ""), StateDir: state, State: &lab.State{}, Out: &out}
	if _, err := p.request(t.Context(), r, OpUp, true); err != nil { // as `up` left it
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(state, "pulumi", "passphrase"), []byte("x"), 0o600)
	if err := p.Plan(t.Context(), r, &out); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	dir, backend := helperSaid(t, out.String())
	if dir != filepath.Join(state, "pulumi") || backend != "file://"+filepath.Join(state, "pulumi", "backend") {
		t.Errorf("previewed in %s against %s, want the lab's own", dir, backend)
	}
}

// A backend path that cannot be a directory is refused before anything.
func TestCheckRefusesABackendUnderAFile(t *testing.T) {
	p := fakeProvider(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	r := provision.Request{Lab: localPulumiLab(t, "file://"+file+"/backend"), StateDir: t.TempDir(), State: &lab.State{}}
	err := p.Check(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "provider.pulumi.backend") {
		t.Fatalf("Check: %v, want a provider.pulumi.backend error", err)
	}
}
