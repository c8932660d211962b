package reset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/labctl/labctl/lab"
)

// Format is what this labctl's node scripts record: 2 has images by
// digest, the static Pod manifests and the mirror. An up records an older
// baseline again.
const Format = 2

// MaxBaseline bounds a baseline file: a cluster's objects with the
// bodies of the restorable ones are a few MiB.
const MaxBaseline = 64 << 20

// Load reads cluster c's baseline and checks that it can be one: a
// regular file (not a link, a device or a FIFO) of at most MaxBaseline,
// recorded for cluster c, with objects and the kube-system namespace.
// Matches then compares it with the live cluster.
func Load(stateDir string, c int) (*Baseline, error) {
	path := Path(stateDir, c)
	info, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("cluster %02d has no baseline (%s): a successful `labctl up` records it", c, path)
	}
	if err != nil {
		return nil, err
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("baseline %s: a symbolic link, not the file labctl wrote; remove it and run `labctl up` to record the baseline again", path)
	}
	data, err := lab.ReadSmallFile(path, MaxBaseline)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, unwrapPath(err))
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	if err := b.check(c); err != nil {
		return nil, fmt.Errorf("baseline %s: %w; run `labctl up` to record it again", path, err)
	}
	return &b, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// check refuses what cannot be cluster c's baseline: `{}`, `null`, another
// cluster's file, one without kube-system (the plan would delete every
// live object).
func (b *Baseline) check(c int) error {
	if b.Cluster != c {
		return fmt.Errorf("recorded for cluster %d, not %d", b.Cluster, c)
	}
	if b.Format != Format {
		return fmt.Errorf("recorded by another labctl (format %d, this one reads %d)", b.Format, Format)
	}
	if len(b.Objects) == 0 {
		return errors.New("holds no objects")
	}
	if b.kubeSystem() == "" {
		return errors.New("holds no kube-system namespace")
	}
	return nil
}

// kubeSystem is the UID of the baseline's kube-system namespace.
func (b *Baseline) kubeSystem() string {
	if b.KubeSystemUID != "" {
		return b.KubeSystemUID
	}
	return kubeSystemUID(b.Snapshot)
}

func kubeSystemUID(s Snapshot) string {
	for _, o := range s.Objects {
		if o.Group == "" && o.Resource == "namespaces" && o.Name == "kube-system" {
			return o.UID
		}
	}
	return ""
}

// Matches says whether b is the baseline of lab labName's cluster that cur
// was listed from: the same lab and the same kube-system namespace (its UID
// is made once, at kubeadm init).
func (b *Baseline) Matches(labName string, cur Snapshot) error {
	if b.Lab != "" && b.Lab != labName {
		return fmt.Errorf("the baseline of cluster %02d was recorded for lab %q, not %q; run `labctl up` to record it again", b.Cluster, b.Lab, labName)
	}
	live := kubeSystemUID(cur)
	if live == "" {
		return fmt.Errorf("cluster %02d has no kube-system namespace: not a cluster this baseline can be applied to", b.Cluster)
	}
	if live != b.kubeSystem() {
		return fmt.Errorf("the baseline of cluster %02d is another cluster's (kube-system %s there, %s here); run `labctl up` to record it again", b.Cluster, b.kubeSystem(), live)
	}
	return nil
}

// UnavailableIn are the unavailable groups of cur that the baseline has
// objects of, or an APIService for: those a reset cannot check.
func (b *Baseline) UnavailableIn(cur Snapshot) []string {
	var out []string
	for _, gv := range cur.Unavailable {
		group, version, _ := strings.Cut(gv, "/")
		if version == "" {
			group, version = "", group
		}
		apiService := version + "." + group
		if slices.ContainsFunc(b.Objects, func(o Object) bool {
			return (o.Group == group && group != "") ||
				(o.Group == "apiregistration.k8s.io" && o.Resource == "apiservices" && o.Name == apiService)
		}) {
			out = append(out, gv)
		}
	}
	return out
}
