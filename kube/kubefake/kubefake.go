// Package kubefake serves kube.Typed from client-go's typed clientset,
// its fake in tests. It is for tests only: importing the clientset
// registers every API group (see kube.Scheme), which the CLI must not.
package kubefake

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/labctl/labctl/kube"
)

// Typed is cs as a kube.Typed.
func Typed(cs kubernetes.Interface) kube.Typed { return typed{cs} }

// New is client-go's fake clientset holding objs, as a kube.Typed.
func New(objs ...runtime.Object) kube.Typed { return typed{fake.NewClientset(objs...)} }

type typed struct{ cs kubernetes.Interface }

func (t typed) Discovery() kube.Discovery { return t.cs.Discovery() }
func (t typed) CoreV1() kube.CoreV1       { return core{t} }
func (t typed) AppsV1() kube.AppsV1       { return apps{t} }
func (t typed) CertificatesV1() kube.CertificatesV1 {
	return certs{t}
}
func (t typed) DiscoveryV1() kube.DiscoveryV1   { return slices{t} }
func (t typed) NetworkingV1() kube.NetworkingV1 { return netv1{t} }

type (
	core   struct{ typed }
	apps   struct{ typed }
	certs  struct{ typed }
	slices struct{ typed }
	netv1  struct{ typed }
)

func (c core) Nodes() kube.Nodes { return c.cs.CoreV1().Nodes() }
func (c core) Namespaces() kube.Getter[*corev1.Namespace] {
	return c.cs.CoreV1().Namespaces()
}
func (c core) Pods(ns string) kube.Lister[*corev1.PodList] {
	return c.cs.CoreV1().Pods(ns)
}
func (c core) Secrets(ns string) kube.Lister[*corev1.SecretList] {
	return c.cs.CoreV1().Secrets(ns)
}
func (c core) Services(ns string) kube.Services { return c.cs.CoreV1().Services(ns) }

func (c apps) Deployments(ns string) kube.Deployments { return c.cs.AppsV1().Deployments(ns) }

func (c certs) CertificateSigningRequests() kube.CSRs {
	return c.cs.CertificatesV1().CertificateSigningRequests()
}

func (c slices) EndpointSlices(ns string) kube.Lister[*discoveryv1.EndpointSliceList] {
	return c.cs.DiscoveryV1().EndpointSlices(ns)
}

func (c netv1) NetworkPolicies(ns string) kube.Lister[*networkingv1.NetworkPolicyList] {
	return c.cs.NetworkingV1().NetworkPolicies(ns)
}

// Clientset is the fake clientset behind t (made by New or Typed), for
// tests that add reactors or change objects behind the code's back.
func Clientset(t kube.Typed) *fake.Clientset { return t.(typed).cs.(*fake.Clientset) }
