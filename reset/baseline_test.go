package reset

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile baselines: each is refused at once with one line naming the
// file, before any object is listed or deleted. `{}` or `null` would make
// the plan delete every live object, kube-system included.
func TestLoadRefusesHostileBaselines(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	snap, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(&Baseline{Cluster: 1, Snapshot: snap, KubeSystemUID: kubeSystemUID(snap), Format: Format})
	other, _ := json.Marshal(&Baseline{Cluster: 2, Snapshot: snap, Format: Format})
	var noKS Snapshot
	for _, o := range snap.Objects {
		if o.Name != "kube-system" {
			noKS.Objects = append(noKS.Objects, o)
		}
	}
	withoutKS, _ := json.Marshal(&Baseline{Cluster: 1, Snapshot: noKS, Format: Format})
	for _, c := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"{}", write("{}"), "recorded for cluster 0, not 1"},
		{"null", write("null"), "recorded for cluster 0, not 1"},
		{"no objects", write(`{"cluster": 1, "format": 2, "objects": []}`), "holds no objects"},
		{"an older labctl's", write(`{"cluster": 1, "objects": []}`), "recorded by another labctl (format 0"},
		{"no kube-system", write(string(withoutKS)), "holds no kube-system namespace"},
		{"cluster 2's file", write(string(other)), "recorded for cluster 2, not 1"},
		{"not JSON", write("{truncated"), "invalid character"},
		{"/dev/zero", link("/dev/zero"), "a symbolic link"},
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "not a regular file (a named pipe)"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }, "not a regular file (a directory)"},
		{"too big", func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(MaxBaseline + 1)
		}, "larger than 64 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "baseline"), 0o700)
			if err := c.make(Path(dir, 1)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			b, err := Load(dir, 1)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), Path(dir, 1)) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one line naming the file and %q, got %v (%+v)", c.want, err, b)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "baseline"), 0o700)
	os.WriteFile(Path(dir, 1), good, 0o600)
	if _, err := Load(dir, 1); err != nil {
		t.Fatalf("a good baseline: %v", err)
	}
}

func write(s string) func(string) error {
	return func(p string) error { return os.WriteFile(p, []byte(s), 0o600) }
}

func link(to string) func(string) error {
	return func(p string) error { return os.Symlink(to, p) }
}

// Another cluster's baseline (another kube-system namespace) or another
// lab's is refused against the live cluster; the right one matches.
func TestBaselineMatchesOnlyItsCluster(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	live, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	mine := &Baseline{Cluster: 1, Lab: "class", Snapshot: live, KubeSystemUID: kubeSystemUID(live)}
	if err := mine.Matches("class", live); err != nil {
		t.Fatalf("its own cluster: %v", err)
	}
	// An older baseline without the recorded UID: the kube-system object's.
	old := &Baseline{Cluster: 1, Snapshot: live}
	if err := old.Matches("class", live); err != nil {
		t.Fatalf("an older baseline of its own cluster: %v", err)
	}
	cl2, d2 := fakeCluster(t) // another kubeadm init: another kube-system UID
	other, err := take(ctx, cl2, d2)
	if err != nil {
		t.Fatal(err)
	}
	theirs := &Baseline{Cluster: 1, Lab: "class", Snapshot: other, KubeSystemUID: kubeSystemUID(other)}
	if err := theirs.Matches("class", live); err == nil || !strings.Contains(err.Error(), "another cluster's") {
		t.Errorf("another cluster's baseline: %v", err)
	}
	if err := mine.Matches("other-lab", live); err == nil || !strings.Contains(err.Error(), `recorded for lab "class"`) {
		t.Errorf("another lab's baseline: %v", err)
	}
	if err := mine.Matches("class", Snapshot{}); err == nil || !strings.Contains(err.Error(), "no kube-system") {
		t.Errorf("a live cluster without kube-system: %v", err)
	}
}
