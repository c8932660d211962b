package kube

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Typed is the part of the Kubernetes API labctl calls with typed
// objects, in client-go's typed clientset's own terms, so that the
// clientset's fake serves tests (kube/kubefake). labctl's own (newTyped)
// is made of client-go's REST client over Scheme: the clientset itself
// registers every API group (see Scheme). Add a call here when labctl
// needs one; the clientset's interfaces of the same names say what each
// call does.
type Typed interface {
	Discovery() Discovery
	CoreV1() CoreV1
	AppsV1() AppsV1
	CertificatesV1() CertificatesV1
	DiscoveryV1() DiscoveryV1
	NetworkingV1() NetworkingV1
}

// Getter and Lister are the read calls of one resource.
type (
	Getter[T any] interface {
		Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	}
	Lister[L any] interface {
		List(ctx context.Context, opts metav1.ListOptions) (L, error)
	}
)

type CoreV1 interface {
	Nodes() Nodes
	Namespaces() Getter[*corev1.Namespace]
	Pods(namespace string) Lister[*corev1.PodList]
	Secrets(namespace string) Lister[*corev1.SecretList]
	Services(namespace string) Services
}

type Nodes interface {
	Getter[*corev1.Node]
	Lister[*corev1.NodeList]
	Update(ctx context.Context, n *corev1.Node, opts metav1.UpdateOptions) (*corev1.Node, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

type Services interface {
	Getter[*corev1.Service]
	// ProxyGet is a GET through the API server's service proxy.
	ProxyGet(scheme, name, port, path string, params map[string]string) rest.ResponseWrapper
}

type AppsV1 interface {
	Deployments(namespace string) Deployments
}

type Deployments interface {
	Getter[*appsv1.Deployment]
	Lister[*appsv1.DeploymentList]
}

type CertificatesV1 interface {
	CertificateSigningRequests() CSRs
}

type CSRs interface {
	Lister[*certificatesv1.CertificateSigningRequestList]
	UpdateApproval(ctx context.Context, name string, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error)
}

type DiscoveryV1 interface {
	EndpointSlices(namespace string) Lister[*discoveryv1.EndpointSliceList]
}

type NetworkingV1 interface {
	NetworkPolicies(namespace string) Lister[*networkingv1.NetworkPolicyList]
}
