package reset

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/labctl/labctl/kube"
)

// StepError is a reset that failed at a named step.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &StepError{Step: name, Err: err}
}

// API applies a plan to a cluster: deletes, re-creates and restores, puts
// the nodes back, then waits up to grace for the deleted objects to go.
// Whatever a finalizer still holds then has its finalizers removed, and
// logf says so by name.
type API struct {
	Client *kube.Client
	Grace  time.Duration
	Logf   func(format string, a ...any)
	// Discovery lists the kinds inside a stuck namespace (nil: Client's).
	Discovery kube.Discovery
}

func (a *API) ri(o Object) dynamic.ResourceInterface {
	r := a.Client.Dynamic.Resource(o.GVR())
	if o.Namespace != "" {
		return r.Namespace(o.Namespace)
	}
	return r
}

// Apply runs p; the error is a *StepError.
func (a *API) Apply(ctx context.Context, p Plan) error {
	q, err := quiet(a.Client)
	if err != nil {
		return step("connect", err)
	}
	a.Client = q
	bg := metav1.DeletePropagationBackground
	grace := int64(1)
	for _, o := range p.Pods {
		err := a.ri(o).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
		if err != nil && !apierrors.IsNotFound(err) {
			return step("stop pods", fmt.Errorf("%s: %s: %w", a.Client.Name, o, err))
		}
	}
	for _, o := range p.Delete {
		// A bounded context: a webhook an attendee left may hold a call.
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		opts := metav1.DeleteOptions{PropagationPolicy: &bg}
		if o.Group == "" && o.Resource == "pods" {
			opts.GracePeriodSeconds = &grace
		}
		err := a.ri(o).Delete(dctx, o.Name, opts)
		cancel()
		if err != nil && !apierrors.IsNotFound(err) {
			return step("delete", fmt.Errorf("%s: %s: %w", a.Client.Name, o, err))
		}
	}
	if err := a.restore(ctx, p); err != nil {
		return step("restore", err)
	}
	if err := a.nodes(ctx, p.Nodes); err != nil {
		return step("nodes", err)
	}
	if err := a.waitGone(ctx, p.Delete); err != nil {
		return step("finalizers", err)
	}
	// The garbage collector takes Collected with their owners; what it
	// has not taken by now is deleted like the rest.
	left := a.until(ctx, p.Collected, time.Now().Add(a.Grace))
	for _, o := range left {
		err := a.ri(o).Delete(ctx, o.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			return step("delete", fmt.Errorf("%s: %s: %w", a.Client.Name, o, err))
		}
	}
	if err := a.waitGone(ctx, left); err != nil {
		return step("finalizers", err)
	}
	return nil
}

func (a *API) restore(ctx context.Context, p Plan) error {
	for _, o := range p.Create {
		u := &unstructured.Unstructured{Object: deepCopy(o.Body)}
		err := retryGone(ctx, func() error {
			_, err := a.ri(o).Create(ctx, u, metav1.CreateOptions{FieldManager: kube.FieldManager})
			return err
		})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: re-create %s: %w", a.Client.Name, o, err)
		}
	}
	for _, o := range p.Update {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := a.ri(o).Get(ctx, o.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k := range cur.Object {
				if k != "metadata" && k != "status" && k != "apiVersion" && k != "kind" {
					delete(cur.Object, k)
				}
			}
			for k, v := range deepCopy(o.Body) {
				if k != "metadata" {
					cur.Object[k] = v
				}
			}
			_, err = a.ri(o).Update(ctx, cur, metav1.UpdateOptions{FieldManager: kube.FieldManager})
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: restore %s: %w", a.Client.Name, o, err)
		}
	}
	return nil
}

// retryGone retries a create refused because the namespace it goes into
// is still being deleted (re-created just before) for a short while.
func retryGone(ctx context.Context, f func() error) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = f(); err == nil || !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return err
}

func (a *API) nodes(ctx context.Context, want map[string]NodeState) error {
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w := want[name]
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := a.Client.Typed.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Labels = maps.Clone(w.Labels)
			// Keep the lifecycle controller's own taints; the rest is the baseline's.
			var taints []corev1.Taint
			for _, t := range n.Spec.Taints {
				if len(attendeeTaints([]corev1.Taint{t})) == 0 {
					taints = append(taints, t)
				}
			}
			n.Spec.Taints = append(taints, w.Taints...)
			n.Spec.Unschedulable = w.Unschedulable
			_, err = a.Client.Typed.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: kube.FieldManager})
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: node %s: %w", a.Client.Name, name, err)
		}
	}
	return nil
}

// forcedWait is the least time forced objects get to go. The namespace
// controller looks at a namespace whose content is held again only after
// half its estimate (15 s for finalizers, a pod's grace period of 30 s):
// up to 16 s later.
const forcedWait = 45 * time.Second

// waitGone waits for objs to be gone; after Grace it removes the
// finalizers that hold them (and what holds a namespace or a CRD: the
// objects inside, its pods deleted at once), then gives them as long
// again, and at least forcedWait.
func (a *API) waitGone(ctx context.Context, objs []Object) error {
	left := a.until(ctx, objs, time.Now().Add(a.Grace))
	if len(left) == 0 {
		return ctx.Err()
	}
	for _, o := range left {
		n, err := a.unblock(ctx, o)
		if err != nil {
			return err
		}
		if container(o) {
			a.Logf("    %s: %s still there after %s: removed %d finalizers of what it held to force it\n", a.Client.Name, o, a.Grace, n)
		} else {
			a.Logf("    %s: %s still there after %s: removed %d finalizers to force it\n", a.Client.Name, o, a.Grace, n)
		}
	}
	left = a.until(ctx, left, time.Now().Add(max(a.Grace, forcedWait)))
	if len(left) > 0 {
		var names []string
		for _, o := range left {
			names = append(names, o.String())
		}
		return fmt.Errorf("%s: still there after removing their finalizers: %v", a.Client.Name, names)
	}
	return ctx.Err()
}

func (a *API) until(ctx context.Context, objs []Object, deadline time.Time) []Object {
	for {
		var left []Object
		for _, o := range objs {
			cur, err := a.ri(o).Get(ctx, o.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && string(cur.GetUID()) != o.UID) {
				continue
			}
			left = append(left, o)
		}
		if len(left) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return left
		}
		select {
		case <-ctx.Done():
			return left
		case <-time.After(time.Second):
		}
		objs = left
	}
}

// unblock removes the finalizers of o, and of every object a namespace or
// CRD waits for, returning how many it removed.
func (a *API) unblock(ctx context.Context, o Object) (int, error) {
	n := 0
	var inner []Object
	switch {
	case o.Group == "" && o.Resource == "namespaces":
		d := a.Discovery
		if d == nil {
			d = a.Client.Typed.Discovery()
		}
		res, _ := kube.Deletable(d)
		for _, r := range res {
			if !r.Namespaced {
				continue
			}
			list, err := a.Client.Dynamic.Resource(r.GVR).Namespace(o.Name).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			for _, it := range list.Items {
				inner = append(inner, objectOf(r, it))
			}
		}
	case o.Group == "apiextensions.k8s.io" && o.Resource == "customresourcedefinitions":
		crd, err := a.ri(o).Get(ctx, o.Name, metav1.GetOptions{})
		if err == nil {
			group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
			plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
			kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
			versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
			for _, v := range versions {
				name, _ := v.(map[string]any)["name"].(string)
				r := kube.Resource{Kind: kind}
				r.GVR.Group, r.GVR.Version, r.GVR.Resource = group, name, plural
				list, err := a.Client.Dynamic.Resource(r.GVR).List(ctx, metav1.ListOptions{})
				if err != nil {
					continue
				}
				for _, it := range list.Items {
					inner = append(inner, objectOf(r, it))
				}
				break
			}
		}
	}
	// A namespace's or CRD's own finalizer is the API server's cleanup of
	// what it holds: that goes on by itself once nothing inside is held.
	if !container(o) {
		inner = append(inner, o)
	}
	zero := int64(0)
	for _, x := range inner {
		if x.Group == "" && x.Resource == "pods" {
			// Pods still terminating keep a namespace for their grace period.
			err := a.ri(x).Delete(ctx, x.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			if err != nil && !apierrors.IsNotFound(err) {
				return n, fmt.Errorf("%s: deleting %s at once: %w", a.Client.Name, x, err)
			}
		}
		cur, err := a.ri(x).Get(ctx, x.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("%s: %s: %w", a.Client.Name, x, err)
		}
		if len(cur.GetFinalizers()) == 0 {
			continue
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := a.ri(x).Patch(ctx, x.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil && !apierrors.IsNotFound(err) {
			return n, fmt.Errorf("%s: removing the finalizers of %s: %w", a.Client.Name, x, err)
		}
		n += len(cur.GetFinalizers())
	}
	return n, nil
}

// container says whether o is a namespace or a CRD, whose deletion waits
// for the objects inside.
func container(o Object) bool {
	return (o.Group == "" && o.Resource == "namespaces") ||
		(o.Group == "apiextensions.k8s.io" && o.Resource == "customresourcedefinitions")
}

func deepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
