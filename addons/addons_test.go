package addons

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/addons/internal/addontest"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

func testLab(source, cni string, list ...string) *lab.Lab {
	l := &lab.Lab{Name: "t", Addons: list}
	l.Kubernetes.Source, l.Kubernetes.CNI = source, cni
	return l
}

func withNodes(l *lab.Lab, n int, portworxSize string) *lab.Lab {
	l.NodesPerCluster, l.Nodes.PortworxSize = n, portworxSize
	return l
}

func TestSelected(t *testing.T) {
	reg := Registry()
	got, err := Selected(testLab("cache", "bridge", "helm"), reg)
	if err != nil {
		t.Fatal(err)
	}
	if Names(got) != "helm, netcheck, netpol" {
		t.Errorf("selected %s", Names(got))
	}
	for _, tc := range []struct {
		l       *lab.Lab
		offline bool
		msg     string
	}{
		{testLab("cache", "weave"), true, "kubernetes.cni: weave cannot be installed offline"},
		{testLab("cache", "bridge", "portworx"), true, "addons: portworx cannot be installed offline"},
		{withNodes(testLab("packages", "bridge", "portworx"), 2, "10G"), true, "addons: portworx needs 3 nodes per cluster or more"},
		{withNodes(testLab("packages", "bridge", "portworx"), 4, "0"), true, "addons: portworx needs the loop device /dev/loop4"},
		{testLab("packages", "bridge", "istio"), false, "addons: istio unknown add-on"},
	} {
		_, err := Selected(tc.l, reg)
		var se *SelectError
		if !errors.As(err, &se) || (se.Offline || se.BadInput) != tc.offline || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: err %v, want %q (offline %v)", tc.l.Addons, err, tc.msg, tc.offline)
		}
	}
}

func TestRenderLabelsEveryObject(t *testing.T) {
	sel, _ := Selected(testLab("cache", "bridge"), Registry())
	objs, err := Render(sel, Env{Images: map[string]string{"netcheck": "localhost/labctl/netcheck:abc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 {
		t.Fatal("no objects")
	}
	for i, ref := range addontest.Refs(t, objs) {
		if l := objs[i].GetLabels(); l[LabelManagedBy] != "labctl" || l[LabelAddon] == "" {
			t.Errorf("%s lacks labctl's labels: %v", ref, l)
		}
	}
	d1, _ := digestOf(objs)
	objs2, _ := Render(sel, Env{Images: map[string]string{"netcheck": "localhost/labctl/netcheck:def"}})
	if d2, _ := digestOf(objs2); d1 == d2 {
		t.Error("a new image did not change the digest")
	}
}

// An unchanged digest touches no API server, and images already on a node
// are not uploaded again; a node lacking one gets it imported.
func TestPhaseSkipsWhatIsThere(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "img.tar")
	os.WriteFile(archive, []byte("archive"), 0o644)
	ref := "localhost/labctl/netcheck:abc"
	sel, _ := Selected(testLab("cache", "bridge"), Registry())
	env := Env{Images: map[string]string{"netcheck": ref}}
	objs, _ := Render(sel, env)
	digest, _ := digestOf(objs)

	node1 := remote.NewFake("01/node1").On(`images ls`, ref+"\nregistry.k8s.io/pause:3.10\n", 0)
	node2 := remote.NewFake("01/node2").
		On(`images ls`, "registry.k8s.io/pause:3.10\n", 0).
		On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0)
	var out bytes.Buffer
	var run testRun
	st := oneCluster(digest, lab.Node{Name: "node1"}, lab.Node{Name: "node2"})
	p := testPhase(st, &out, 4, &run, node1, node2)
	p.Addons, p.Env, p.Archives = sel, env, map[string]string{ref: archive}
	err := p.Run(context.Background())
	// node2's import "succeeds" but its second listing still lacks the
	// image: the phase must say so rather than trust the import.
	if err == nil || !strings.Contains(err.Error(), "still lacks") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := node2.Uploaded(remoteArchive); !ok {
		t.Error("node2 did not get the archive")
	}
	if !slices.Contains(node2.Calls(), "rm -f "+remoteArchive) {
		t.Errorf("node2 kept the archive: %q", node2.Calls())
	}
	if _, ok := node1.Uploaded(remoteArchive); ok {
		t.Error("node1 got an archive it had")
	}
	if len(run.outcomes) != 1 || run.outcomes[0].Step != "addons images" || len(run.applied) != 0 {
		t.Errorf("outcomes %+v, applied %q", run.outcomes, run.applied)
	}

	node2 = remote.NewFake("01/node2").On(`images ls`, ref+"\n", 0)
	run = testRun{}
	p = testPhase(st, &out, 4, &run, node1, node2)
	p.Addons, p.Env, p.Archives = sel, env, map[string]string{ref: archive}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(run.outcomes) != 1 || run.outcomes[0].Err != nil || len(run.applied) != 1 || run.applied[0] != digest {
		t.Errorf("outcomes %+v, applied %q", run.outcomes, run.applied)
	}
	if !strings.Contains(out.String(), "add-ons unchanged") {
		t.Errorf("output: %s", out.String())
	}
}

// cni: weave on a lab with the Internet: Weave Net replaces labctl's
// enforcer, with the lab's registry, version and pod subnet.
func TestWeaveFromTheLabFile(t *testing.T) {
	l, err := lab.Parse("lab.yaml", []byte("kubernetes: {cni: weave, source: packages, podSubnet: 10.32.0.0/12, weave: {registry: ghcr.io/example/weave, version: 2.8.9}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := Selected(l, Registry())
	if err != nil {
		t.Fatal(err)
	}
	if Names(sel) != "netcheck, weave" {
		t.Fatalf("selected %s", Names(sel))
	}
	objs, err := Render(sel[1:], Env{Lab: l})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := kube.YAML(objs)
	for _, want := range []string{"image: ghcr.io/example/weave/weave-kube:2.8.9", "image: ghcr.io/example/weave/weave-npc:2.8.9",
		"name: IPALLOC_RANGE\n          value: 10.32.0.0/12", "labctl.io/addon: weave"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered weave lacks %q", want)
		}
	}
}

// portworx on a lab with the Internet: node1 fetches the spec for the
// lab's Kubernetes version, labctl labels what it holds as the add-on's,
// and the URL is part of the digest (a re-run with the same lab fetches
// nothing; a new Kubernetes version fetches again).
func TestPortworxSpecFromNode1(t *testing.T) {
	l, err := lab.Parse("lab.yaml", []byte("name: room-b\nnodesPerCluster: 3\nkubernetes: {source: packages, cni: bridge}\naddons: [portworx]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := Selected(l, Registry())
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Lab: l, Images: map[string]string{}}
	urls := specURLs(sel, env)
	want := "https://install.portworx.com/2.13?b=true&c=px-room-b&csi=true&kbver=1.34.4&s=%2Fdev%2Floop4&stork=true"
	if len(urls) != 1 || urls[0] != want {
		t.Fatalf("spec URLs %v", urls)
	}
	spec := "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: px-account, namespace: kube-system}\n---\n" +
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: portworx, namespace: kube-system, labels: {name: portworx}}\n"
	node1 := remote.NewFake("01/node1").On(`^curl -fsSL .*'https://install\.portworx\.com/2\.13\?b=true&c=px-room-b&`, spec, 0)
	p := &Phase{Addons: sel, Env: env}
	objs, err := p.fetchSpecs(context.Background(), node1)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[1].GetName() != "portworx" || objs[1].GetLabels()["name"] != "portworx" ||
		objs[1].GetLabels()[LabelAddon] != "portworx" || objs[0].GetLabels()[LabelManagedBy] != "labctl" {
		t.Errorf("fetched %d objects, labels %v", len(objs), objs[len(objs)-1].GetLabels())
	}
	typed, _ := Render(sel, env)
	d1, _ := digestOf(typed, urls...)
	l.Kubernetes.Version = "1.35.1"
	d2, _ := digestOf(typed, specURLs(sel, env)...)
	if d1 == d2 {
		t.Error("a new spec URL did not change the digest")
	}

	// A spec service that answers with an error page is an error naming
	// the URL, not an empty apply.
	node1 = remote.NewFake("01/node1").On(`^curl`, "<html>502 Bad Gateway</html>", 0)
	if _, err := p.fetchSpecs(context.Background(), node1); err == nil || !strings.Contains(err.Error(), "add-on portworx: the spec from https://install.portworx.com/") {
		t.Errorf("err = %v", err)
	}
	node1 = remote.NewFake("01/node1").On(`^curl`, "", 22)
	if _, err := p.fetchSpecs(context.Background(), node1); err == nil || !strings.Contains(err.Error(), "fetching https://install.portworx.com/") {
		t.Errorf("err = %v", err)
	}
}

// metrics-server and prometheus run on workers: a lab of one-node clusters
// (node1 keeps its control-plane taint) is refused before anything
// changes, except in kind mode, whose node takes pods.
func TestWorkerAddonsNeedAWorker(t *testing.T) {
	for _, tc := range []struct {
		body, refused string
	}{
		{"nodesPerCluster: 1\naddons: [metrics-server]\n", "metrics-server needs a node that takes pods: nodesPerCluster is 1"},
		{"nodesPerCluster: 1\naddons: [traefik, prometheus]\n", "prometheus needs a node that takes pods"},
		{"nodesPerCluster: 2\naddons: [metrics-server, prometheus]\n", ""},
		{"nodesPerCluster: 1\nprovider: {type: kind}\naddons: [metrics-server, prometheus]\n", ""},
	} {
		l, err := lab.Parse("lab.yaml", []byte("name: w\nkubernetes: {source: cache, cni: bridge}\n"+tc.body))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Selected(l, Registry())
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%q: %v", tc.body, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%q: got %v, want %q", tc.body, err, tc.refused)
		}
	}
}
