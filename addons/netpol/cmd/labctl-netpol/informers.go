package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// watches holds the three caches the enforcer computes from.
type watches struct {
	pods, namespaces, policies cache.SharedIndexInformer
}

// listWatchers are the sources of the caches: the API server in production,
// a fake clientset in tests.
type listWatchers struct {
	pods, namespaces, policies cache.ListerWatcher
}

// apiListWatchers talks to the API server with one REST client per API
// group and a scheme holding only those two groups: client-go's clientset
// registers every API group and would nearly triple the binary, which ships
// in an image to every node.
func apiListWatchers(rc *rest.Config) (listWatchers, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return listWatchers{}, err
	}
	if err := networkingv1.AddToScheme(scheme); err != nil {
		return listWatchers{}, err
	}
	codecs := serializer.NewCodecFactory(scheme).WithoutConversion()
	client := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(rc)
		c.GroupVersion, c.APIPath, c.NegotiatedSerializer = &gv, apiPath, codecs
		client, err := rest.RESTClientFor(c)
		if err != nil {
			return nil, fmt.Errorf("REST client for %s: %w", gv, err)
		}
		return client, nil
	}
	core, err := client(corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return listWatchers{}, err
	}
	networking, err := client(networkingv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return listWatchers{}, err
	}
	all := fields.Everything()
	return listWatchers{
		pods:       cache.NewListWatchFromClient(core, "pods", metav1.NamespaceAll, all),
		namespaces: cache.NewListWatchFromClient(core, "namespaces", metav1.NamespaceAll, all),
		policies:   cache.NewListWatchFromClient(networking, "networkpolicies", metav1.NamespaceAll, all),
	}, nil
}

func newWatches(lw listWatchers) (*watches, error) {
	w := &watches{
		pods:       cache.NewSharedIndexInformer(lw.pods, &corev1.Pod{}, 0, cache.Indexers{}),
		namespaces: cache.NewSharedIndexInformer(lw.namespaces, &corev1.Namespace{}, 0, cache.Indexers{}),
		policies:   cache.NewSharedIndexInformer(lw.policies, &networkingv1.NetworkPolicy{}, 0, cache.Indexers{}),
	}
	// Every node keeps every pod of the cluster in memory: keep only what
	// Compile reads.
	if err := w.pods.SetTransform(slimPod); err != nil {
		return nil, fmt.Errorf("pod informer transform: %w", err)
	}
	return w, nil
}

// slimPod drops the parts of a pod the enforcer never reads.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a tombstone: passed on as is
	}
	slim := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			Labels: pod.Labels, ResourceVersion: pod.ResourceVersion},
		Spec:   corev1.PodSpec{NodeName: pod.Spec.NodeName, HostNetwork: pod.Spec.HostNetwork},
		Status: corev1.PodStatus{Phase: pod.Status.Phase, PodIP: pod.Status.PodIP, PodIPs: pod.Status.PodIPs},
	}
	for _, c := range pod.Spec.Containers {
		slim.Spec.Containers = append(slim.Spec.Containers, corev1.Container{Name: c.Name, Ports: c.Ports})
	}
	return slim, nil
}

// onChange calls notify on every add, update and delete.
func (w *watches) onChange(notify func()) error {
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	for _, inf := range []cache.SharedIndexInformer{w.pods, w.namespaces, w.policies} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("add event handler: %w", err)
		}
	}
	return nil
}

// start runs the informers until ctx ends and waits for their first list.
func (w *watches) start(ctx context.Context) error {
	for _, inf := range []cache.SharedIndexInformer{w.pods, w.namespaces, w.policies} {
		go inf.RunWithContext(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), w.pods.HasSynced, w.namespaces.HasSynced, w.policies.HasSynced) {
		return fmt.Errorf("listing pods, namespaces and networkpolicies: %w", context.Cause(ctx))
	}
	return nil
}

// snapshot returns the cached objects, for Compile.
func (w *watches) snapshot() ([]*corev1.Pod, []*corev1.Namespace, []*networkingv1.NetworkPolicy) {
	return typed[*corev1.Pod](w.pods), typed[*corev1.Namespace](w.namespaces), typed[*networkingv1.NetworkPolicy](w.policies)
}

func typed[T any](inf cache.SharedIndexInformer) []T {
	items := inf.GetStore().List()
	out := make([]T, 0, len(items))
	for _, item := range items {
		if t, ok := item.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
