// Package addons is the addons phase of `labctl up`: what goes into every
// cluster after kubeadm (the CNI's DaemonSets when it is an add-on, the
// NetworkPolicy enforcer, the health probe, metrics-server, ...). Objects
// are typed k8s.io/api values, server-side applied through package kube
// and labelled as labctl's, so that one removed from the lab file is
// removed from the clusters on the next up.
package addons

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// Labels on every object an add-on applies.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelAddon     = "labctl.io/addon"
)

// Addon is one thing the phase installs.
type Addon struct {
	Name string
	// Images the objects run, by key.
	Images []Image
	// Objects renders the add-on with its images' references (by key).
	Objects func(Env) ([]kube.Object, error)
	// Offline, when set, says why the add-on cannot be had on a lab whose
	// source is the cache (no Internet on the nodes).
	Offline string
	// Spec, when set, is the URL of a manifest only the vendor's service
	// renders: node1 fetches it and the phase applies what it holds
	// before the typed objects (online labs only).
	Spec func(Env) string
	// Needs, when set, says what the lab lacks for this add-on ("" when
	// nothing), found before any node is touched.
	Needs func(*lab.Lab) string
	// After, when set, runs after the apply on every run, even when
	// nothing changed (new nodes, rotated certificates): what an add-on
	// keeps doing for the cluster rather than declares once.
	After func(context.Context, *kube.Client, ClusterInfo) error
	// KubeletServingCerts: the add-on verifies kubelets' serving
	// certificates, so kubelets must ask the cluster CA for them
	// (serverTLSBootstrap) and After approves the requests.
	KubeletServingCerts bool
}

// ClusterInfo is what an After hook knows of its cluster.
type ClusterInfo struct {
	Index int
	Nodes []lab.Node
	// Logf prints one line of progress under the phase.
	Logf func(format string, a ...any)
}

// KubeletServingCerts says whether any of addons needs CA-signed kubelet
// serving certificates.
func KubeletServingCerts(addons []Addon) bool {
	return slices.ContainsFunc(addons, func(a Addon) bool { return a.KubeletServingCerts })
}

// Image is one image of an add-on: where rooms with the Internet pull it,
// and how labctl builds it for offline rooms (nil: it cannot).
type Image struct {
	Key      string
	Upstream string
	Build    *goimage.Spec
}

// Env is what objects are rendered with.
type Env struct {
	Lab    *lab.Lab
	Images map[string]string // key -> reference the nodes have or pull
}

// Image returns the reference of image key.
func (e Env) Image(key string) string { return e.Images[key] }

// Selected returns the add-ons a lab gets, in order: those its CNI and
// the health checks imply, then the lab file's list. An add-on that is
// not available, or not offline on a cache lab, is an error naming it,
// found before any node is touched.
func Selected(l *lab.Lab, registry map[string]Addon) ([]Addon, error) {
	names := []string{"netcheck"}
	if l.Kubernetes.CNI == "weave" {
		names = append(names, "weave")
	} else {
		names = append(names, "netpol")
	}
	for _, n := range l.Addons {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var out []Addon
	for _, n := range names {
		a, ok := registry[n]
		if !ok {
			return nil, &SelectError{Addon: n, Field: "addons", Reason: "unknown add-on"}
		}
		field := "addons"
		if n == "weave" {
			field = "kubernetes.cni"
		}
		if l.Kubernetes.Source == "cache" && a.Offline != "" {
			return nil, &SelectError{Addon: n, Field: field, Offline: true, Reason: "cannot be installed offline (kubernetes.source: cache): " + a.Offline}
		}
		if a.Needs != nil {
			if why := a.Needs(l); why != "" {
				return nil, &SelectError{Addon: n, Field: field, BadInput: true, Reason: "needs " + why}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// SelectError is an add-on a lab asks for and cannot have.
type SelectError struct {
	Addon, Field, Reason string
	// Offline: the add-on exists but needs the Internet (bad input for a
	// cache lab). BadInput: the lab lacks something the add-on needs.
	// Neither: this version lacks the add-on.
	Offline, BadInput bool
}

func (e *SelectError) Error() string { return fmt.Sprintf("%s: %s %s", e.Field, e.Addon, e.Reason) }

// Render renders every add-on's objects, labelled as labctl's and as the
// add-on's.
func Render(addons []Addon, env Env) ([]kube.Object, error) {
	var all []kube.Object
	for _, a := range addons {
		if a.Objects == nil {
			continue
		}
		objs, err := a.Objects(env)
		if err != nil {
			return nil, fmt.Errorf("add-on %s: %w", a.Name, err)
		}
		label(objs, a.Name)
		all = append(all, objs...)
	}
	return all, nil
}

// label marks objs as labctl's and as add-on name's.
func label(objs []kube.Object, name string) {
	for _, o := range objs {
		l := o.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[LabelManagedBy] = "labctl"
		l[LabelAddon] = name
		o.SetLabels(l)
	}
}

// Names lists add-ons for messages.
func Names(addons []Addon) string {
	var n []string
	for _, a := range addons {
		n = append(n, a.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}
