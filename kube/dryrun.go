package kube

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// DryRun server-side applies objs with dryRun=All: the API server
// validates, defaults and admits each one as Apply would send it, and
// stores nothing. It returns what the server would have stored, in order,
// and stops at the first refusal, naming the object.
func (c *Client) DryRun(ctx context.Context, objs []Object) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		u, err := ToUnstructured(obj)
		if err != nil {
			return out, err
		}
		ri := c.Dynamic.Resource(resource(u.GroupVersionKind()))
		opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
		var got *unstructured.Unstructured
		if ns := u.GetNamespace(); ns != "" {
			got, err = ri.Namespace(ns).Apply(ctx, u.GetName(), u, opts)
		} else {
			got, err = ri.Apply(ctx, u.GetName(), u, opts)
		}
		if err != nil {
			ref, _ := RefOf(obj)
			return out, fmt.Errorf("%s: dry-run apply %s: %w", c.Name, ref, err)
		}
		out = append(out, got)
	}
	return out, nil
}

// YAML is objs as the API server receives them (apiVersion and kind set),
// one document each: what golden files hold.
func YAML(objs []Object) (string, error) {
	var docs []string
	for _, o := range objs {
		u, err := ToUnstructured(o)
		if err != nil {
			return "", err
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return "", err
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n"), nil
}
