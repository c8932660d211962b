package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// countingProvider records whether anything tried to create nodes.
type countingProvider struct{ calls int }

func (p *countingProvider) Provision(context.Context, provision.Request) error { p.calls++; return nil }
func (p *countingProvider) Destroy(context.Context, provision.Request) error   { return nil }
func (p *countingProvider) Identity(provision.Request) string                  { return "" }

func TestRunRefusesBeforeTouchingNodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cni    string
		source string
		addons []string
		only   string
		want   error
		msg    string
	}{
		{"weave offline", "weave", "cache", nil, "", ErrBadInput, "kubernetes.cni: weave cannot be installed offline"},
		{"weave offline with --only kubeadm", "weave", "cache", nil, "kubeadm", ErrBadInput, "kubernetes.cni: weave cannot be installed offline"},
		{"an unknown add-on", "bridge", "cache", []string{"trafik"}, "", ErrBadInput, "trafik"},
		{"portworx offline", "bridge", "cache", []string{"portworx"}, "", ErrBadInput, "addons: portworx cannot be installed offline"},
		{"portworx on one node", "bridge", "packages", []string{"portworx"}, "", ErrBadInput, "addons: portworx needs 3 nodes per cluster or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := &countingProvider{}
			l := &lab.Lab{Name: "t", Attendees: 1, NodesPerCluster: 1, Addons: tc.addons}
			l.Kubernetes.CNI = tc.cni
			l.Kubernetes.Source = tc.source
			l.Provider.Type = "local"
			u := &Up{Lab: l, State: &lab.State{}, Provider: prov, Out: &bytes.Buffer{}, Only: tc.only}
			err := u.Run(context.Background())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if prov.calls != 0 {
				t.Fatal("the provider ran before the refusal")
			}
		})
	}
}

// The report names each failed cluster with its phase and step, ignores
// failures older than this run, and keeps healthy clusters "ok".
func TestReport(t *testing.T) {
	start := time.Now().UTC()
	st := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}, {Index: 3}}}
	st.Clusters[0].SetPhase("kubeadm", lab.PhaseResult{OK: false, At: start.Add(-time.Hour), Step: "01/node1 init", Error: "old failure"})
	st.Clusters[0].SetPhase("nodeprep", lab.PhaseResult{OK: true, At: start.Add(time.Second)})
	st.Clusters[1].SetPhase("kubeadm", lab.PhaseResult{OK: false, At: start.Add(time.Second), Step: "02/node2 kubeadm join", Error: "connection lost\nmore detail"})
	st.Clusters[2].SetPhase("reach", lab.PhaseResult{OK: false, At: start.Add(time.Second), Step: "03/node1", Error: "no route to host"})
	var out bytes.Buffer
	u := &Up{State: st, Out: &out, start: start}
	err := u.report(nil)
	if err == nil || err.Error() != "2 of 3 clusters failed: cluster 02 (kubeadm, 02/node2 kubeadm join); cluster 03 (03/node1)" {
		t.Fatalf("err = %v", err)
	}
	want := "==> report\n    cluster 01: ok\n    cluster 02: FAILED in kubeadm at 02/node2 kubeadm join: connection lost\n    cluster 03: FAILED: unreachable: no route to host\n"
	if out.String() != want {
		t.Fatalf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	if u.healthy() != 1 || !u.failed(2) || u.failed(1) {
		t.Fatalf("healthy %d, failed(1) %v, failed(2) %v", u.healthy(), u.failed(1), u.failed(2))
	}
}

// A run limited to some clusters (a hard reset) skips the others in every
// phase and leaves them out of its report.
func TestReportOfSomeClusters(t *testing.T) {
	start := time.Now().UTC()
	st := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}, {Index: 3}}}
	st.Clusters[2].SetPhase("kubeadm", lab.PhaseResult{OK: false, At: start.Add(time.Second), Step: "03/node1 init", Error: "boom"})
	var out bytes.Buffer
	u := &Up{State: st, Out: &out, start: start, Clusters: []int{1, 3}}
	err := u.report(nil)
	if err == nil || err.Error() != "1 of 2 clusters failed: cluster 03 (kubeadm, 03/node1 init)" {
		t.Fatalf("err = %v", err)
	}
	if want := "==> report\n    cluster 01: ok\n    cluster 03: FAILED in kubeadm at 03/node1 init: boom\n"; out.String() != want {
		t.Fatalf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	if !u.failed(2) || u.failed(1) || u.healthy() != 1 {
		t.Fatalf("cluster 2 must be skipped, 1 kept: failed(1) %v failed(2) %v healthy %d", u.failed(1), u.failed(2), u.healthy())
	}
}

type fakePhase struct {
	title string
	err   error
	ran   *[]string
}

func (p fakePhase) Title() string { return p.title }
func (p fakePhase) Run(context.Context) error {
	*p.ran = append(*p.ran, p.title)
	return p.err
}

func TestManagerStopsAtFirstFailure(t *testing.T) {
	var ran []string
	var out bytes.Buffer
	m := &Manager{Out: &out}
	err := m.Run(context.Background(), fakePhase{"a", nil, &ran}, fakePhase{"b", errors.New("boom"), &ran}, fakePhase{"c", nil, &ran})
	if err == nil || err.Error() != "b: boom" || strings.Join(ran, ",") != "a,b" {
		t.Fatalf("err %v, ran %v", err, ran)
	}
	if !strings.Contains(out.String(), "==> a\n    done in") || !strings.Contains(out.String(), "==> b\n") || strings.Contains(out.String(), "==> c") {
		t.Fatalf("output:\n%s", out.String())
	}
	ran = nil
	dry := &Manager{Out: &out, DryRun: true}
	if err := dry.Run(context.Background(), fakePhase{"a", nil, &ran}); err != nil || len(ran) != 0 {
		t.Fatalf("a dry run ran a phase without a plan: %v %v", err, ran)
	}
}
