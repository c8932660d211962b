package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/labctl/labctl/kube/objects"
)

// FieldManager owns every field labctl applies.
const FieldManager = "labctl"

// Object is a typed Kubernetes object (a *appsv1.DaemonSet, ...).
type Object = objects.Object

// Ref names one object: kind, namespace and name.
type Ref struct {
	GVK       schema.GroupVersionKind
	Namespace string
	Name      string
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.GVK.Kind + "/" + r.Name
	}
	return r.GVK.Kind + " " + r.Namespace + "/" + r.Name
}

// RefOf returns obj's kind, namespace and name; the kind comes from
// Scheme.
func RefOf(obj Object) (Ref, error) {
	gvk, err := GVKOf(obj)
	if err != nil {
		return Ref{}, err
	}
	return Ref{GVK: gvk, Namespace: obj.GetNamespace(), Name: obj.GetName()}, nil
}

// GVKOf is obj's group, version and kind.
func GVKOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}, fmt.Errorf("unknown kind for %T: %v", obj, err)
	}
	return gvks[0], nil
}

// resource maps a kind to its API resource. Every kind labctl applies is a
// built-in or its own, all with the regular plural, so no discovery round
// trip is needed; a namespaced object says so by having a namespace.
func resource(gvk schema.GroupVersionKind) schema.GroupVersionResource {
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return plural
}

// ToUnstructured turns a typed object into what the dynamic client sends,
// with its apiVersion and kind set.
func ToUnstructured(obj Object) (*unstructured.Unstructured, error) {
	gvk, err := GVKOf(obj)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	// Server-side apply refuses these in an apply configuration.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// Apply server-side applies objs in order, as labctl, taking over fields
// another manager set (an attendee's `kubectl edit` of an add-on is undone
// on the next up). It stops at the first error, naming the object.
func (c *Client) Apply(ctx context.Context, objs []Object) error {
	for _, obj := range objs {
		u, err := ToUnstructured(obj)
		if err != nil {
			return err
		}
		gvr := resource(u.GroupVersionKind())
		ri := c.Dynamic.Resource(gvr)
		var res interface {
			Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
		} = ri
		if ns := u.GetNamespace(); ns != "" {
			res = ri.Namespace(ns)
		}
		if _, err := res.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			ref, _ := RefOf(obj)
			return fmt.Errorf("%s: apply %s: %w", c.Name, ref, err)
		}
	}
	return nil
}

// Prune deletes the objects of the given kinds that match selector and
// are not in keep: what an earlier up applied and the lab no longer wants.
// It returns what it deleted.
func (c *Client) Prune(ctx context.Context, kinds []schema.GroupVersionKind, selector string, keep []Ref) ([]Ref, error) {
	var deleted []Ref
	for _, gvk := range kinds {
		list, err := c.Dynamic.Resource(resource(gvk)).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue // a kind this cluster does not serve has nothing to prune
			}
			return deleted, fmt.Errorf("%s: list %s: %w", c.Name, gvk.Kind, err)
		}
		for _, item := range list.Items {
			ref := Ref{GVK: gvk, Namespace: item.GetNamespace(), Name: item.GetName()}
			if slices.Contains(keep, ref) {
				continue
			}
			ri := c.Dynamic.Resource(resource(gvk))
			var err error
			policy := metav1.DeletePropagationBackground
			opts := metav1.DeleteOptions{PropagationPolicy: &policy}
			if ref.Namespace != "" {
				err = ri.Namespace(ref.Namespace).Delete(ctx, ref.Name, opts)
			} else {
				err = ri.Delete(ctx, ref.Name, opts)
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return deleted, fmt.Errorf("%s: delete %s: %w", c.Name, ref, err)
			}
			deleted = append(deleted, ref)
		}
	}
	return deleted, nil
}

// Names lists refs for a message.
func Names(refs []Ref) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}
