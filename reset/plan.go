package reset

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Plan is what a soft reset does to one cluster's API objects and nodes.
type Plan struct {
	// Delete are the objects attendees added, webhooks and API services
	// first (either can refuse the other deletes), then namespaces and the
	// rest. Objects inside a deleted namespace, of a deleted CRD, or owned
	// by another object that goes go with it and are not listed.
	Delete []Object
	// Collected are the objects the garbage collector takes with an owner
	// that goes: not deleted, but waited for like Delete.
	Collected []Object
	// Pods are the attendees' running Pods, stopped at once (one second
	// of grace) rather than after their own grace period: every Pod that
	// goes (a static Pod's mirror included: its manifest goes on the node).
	Pods []Object
	// Create are baseline objects that are gone; Update those changed.
	Create, Update []Object
	// Nodes are the nodes whose labels, taints or schedulability changed,
	// with their baseline state.
	Nodes map[string]NodeState
}

// Empty says the API side is already at the baseline.
func (p Plan) Empty() bool {
	return len(p.Delete)+len(p.Collected)+len(p.Pods)+len(p.Create)+len(p.Update)+len(p.Nodes) == 0
}

// deleteFirst are deleted before anything else: a webhook or an aggregated
// API an attendee left can refuse or stall every later delete.
var deleteFirst = map[string]bool{
	"admissionregistration.k8s.io/validatingwebhookconfigurations":   true,
	"admissionregistration.k8s.io/mutatingwebhookconfigurations":     true,
	"admissionregistration.k8s.io/validatingadmissionpolicies":       true,
	"admissionregistration.k8s.io/validatingadmissionpolicybindings": true,
	"apiregistration.k8s.io/apiservices":                             true,
}

// Diff compares the cluster now (cur) with its baseline.
func Diff(base, cur Snapshot) Plan {
	p := Plan{Nodes: map[string]NodeState{}}
	baseKeys := map[string]Object{}
	for _, o := range base.Objects {
		baseKeys[o.key()] = o
	}
	// Namespaces and CRDs that go take their contents with them, owners
	// that go their dependents (see owners.go).
	f := newFates(base, cur)
	for _, o := range cur.Objects {
		switch {
		case !f.goes(o) || f.inGone(o):
		case f.collected(o):
			p.Collected = append(p.Collected, o)
		default:
			p.Delete = append(p.Delete, o)
		}
	}
	slices.SortStableFunc(p.Delete, func(a, b Object) int { return rank(a) - rank(b) })
	for _, o := range cur.Objects {
		if o.Group == "" && o.Resource == "pods" && f.goes(o) {
			p.Pods = append(p.Pods, o)
		}
	}
	for _, b := range base.Objects {
		if b.Body == nil {
			continue
		}
		c, ok := find(cur.Objects, b.key())
		switch {
		case !ok:
			p.Create = append(p.Create, b)
		case changed(b, b.Body, c.Body):
			p.Update = append(p.Update, b)
		}
	}
	// Namespaces first, so that what lives in one can be made again.
	slices.SortStableFunc(p.Create, func(a, b Object) int {
		return boolInt(b.Resource == "namespaces") - boolInt(a.Resource == "namespaces")
	})
	for name, want := range base.Nodes {
		got, ok := cur.Nodes[name]
		if !ok {
			continue // a node gone from the API is the health gate's to report
		}
		if !nodeEqual(want, got) {
			p.Nodes[name] = want
		}
	}
	return p
}

func rank(o Object) int {
	switch {
	case deleteFirst[o.Group+"/"+o.Resource]:
		return 0
	case o.Resource == "namespaces":
		return 1
	}
	return 2
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// changed compares everything but the metadata (the server updates its
// annotations and labels on its own) of a baseline body and the current
// one, as JSON: a baseline read back from its file has float64 numbers
// where the API's answer has int64.
func changed(o Object, base, cur map[string]any) bool {
	strip := func(m map[string]any) string {
		out := maps.Clone(m)
		delete(out, "metadata")
		delete(out, "status")
		if o.Group == "" && o.Resource == "configmaps" && o.Namespace == "kube-public" && o.Name == "cluster-info" {
			out["data"] = withoutSignatures(out["data"])
		}
		b, _ := json.Marshal(out)
		return string(b)
	}
	return strip(base) != strip(cur)
}

// withoutSignatures drops the bootstrap signer's jws-kubeconfig-* keys
// from cluster-info's data: the controller adds one per join token and
// removes it when the token expires (a day later), so they are not the
// attendee's doing and restoring them never sticks.
func withoutSignatures(data any) any {
	m, ok := data.(map[string]any)
	if !ok {
		return data
	}
	out := map[string]any{}
	for k, v := range m {
		if !strings.HasPrefix(k, "jws-kubeconfig-") {
			out[k] = v
		}
	}
	return out
}

func nodeEqual(a, b NodeState) bool {
	if a.Unschedulable != b.Unschedulable || !maps.Equal(a.Labels, b.Labels) || len(a.Taints) != len(b.Taints) {
		return false
	}
	for i := range a.Taints {
		if a.Taints[i].Key != b.Taints[i].Key || a.Taints[i].Value != b.Taints[i].Value || a.Taints[i].Effect != b.Taints[i].Effect {
			return false
		}
	}
	return true
}

// Print writes the plan for --dry-run, one line per object.
func (p Plan) Print(w io.Writer, cluster int) {
	if p.Empty() {
		fmt.Fprintf(w, "    cluster %02d: API objects and nodes are at the baseline\n", cluster)
	}
	for _, o := range p.Delete {
		fmt.Fprintf(w, "    cluster %02d: delete %s\n", cluster, o)
	}
	for _, o := range p.Collected {
		fmt.Fprintf(w, "    cluster %02d: delete %s (with its owner)\n", cluster, o)
	}
	for _, o := range p.Pods {
		fmt.Fprintf(w, "    cluster %02d: stop %s\n", cluster, o)
	}
	for _, o := range p.Create {
		fmt.Fprintf(w, "    cluster %02d: re-create %s\n", cluster, o)
	}
	for _, o := range p.Update {
		fmt.Fprintf(w, "    cluster %02d: restore %s\n", cluster, o)
	}
	for _, n := range slices.Sorted(maps.Keys(p.Nodes)) {
		s := p.Nodes[n]
		var taints []string
		for _, t := range s.Taints {
			taints = append(taints, t.ToString())
		}
		fmt.Fprintf(w, "    cluster %02d: node %s back to labels and taints of the baseline (taints: %s; schedulable: %v)\n",
			cluster, n, orNone(strings.Join(taints, ", ")), !s.Unschedulable)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
