package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource is one kind the API server serves, as discovery names it.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// Deletable lists every resource the server can list and delete, in each
// group's preferred version: built-ins, aggregated APIs and CRDs alike.
// A group whose discovery fails (an aggregated API that is down) is
// skipped and named in the error, which is returned with the rest.
func Deletable(d Discovery) ([]Resource, error) {
	lists, err := d.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var out []Resource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue // subresources and kinds that cannot be listed or deleted
			}
			out = append(out, Resource{GVR: gv.WithResource(r.Name), Kind: r.Kind, Namespaced: r.Namespaced})
		}
	}
	slices.SortFunc(out, func(a, b Resource) int { return strings.Compare(a.GVR.String(), b.GVR.String()) })
	return out, err
}

// ListAll lists every object of r in every namespace; a resource that went
// away since discovery lists as empty.
func (c *Client) ListAll(ctx context.Context, r Resource) ([]unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(r.GVR).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", c.Name, r.GVR.Resource, err)
	}
	return list.Items, nil
}
