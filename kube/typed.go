package kube

import (
	"k8s.io/client-go/discovery"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	certificatesv1 "k8s.io/client-go/kubernetes/typed/certificates/v1"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1 "k8s.io/client-go/kubernetes/typed/discovery/v1"
	networkingv1 "k8s.io/client-go/kubernetes/typed/networking/v1"
	storagev1 "k8s.io/client-go/kubernetes/typed/storage/v1"
	"k8s.io/client-go/rest"
)

// Typed is the part of client-go's clientset labctl calls; a
// kubernetes.Clientset, and the fake one, satisfy it. labctl builds only
// these groups' clients (newTyped): the whole clientset would keep every
// API group's client and apply configurations in the binary, since
// text/template's reflection keeps every exported method of a type that
// is reachable. Add a group here when labctl needs one.
type Typed interface {
	Discovery() discovery.DiscoveryInterface
	CoreV1() corev1.CoreV1Interface
	AppsV1() appsv1.AppsV1Interface
	StorageV1() storagev1.StorageV1Interface
	CertificatesV1() certificatesv1.CertificatesV1Interface
	DiscoveryV1() discoveryv1.DiscoveryV1Interface
	NetworkingV1() networkingv1.NetworkingV1Interface
}

// typed is Typed over one HTTP client, as kubernetes.NewForConfig shares it.
type typed struct {
	discovery *discovery.DiscoveryClient
	core      *corev1.CoreV1Client
	apps      *appsv1.AppsV1Client
	storage   *storagev1.StorageV1Client
	certs     *certificatesv1.CertificatesV1Client
	slices    *discoveryv1.DiscoveryV1Client
	netv1     *networkingv1.NetworkingV1Client
}

func (t *typed) Discovery() discovery.DiscoveryInterface                { return t.discovery }
func (t *typed) CoreV1() corev1.CoreV1Interface                         { return t.core }
func (t *typed) AppsV1() appsv1.AppsV1Interface                         { return t.apps }
func (t *typed) StorageV1() storagev1.StorageV1Interface                { return t.storage }
func (t *typed) CertificatesV1() certificatesv1.CertificatesV1Interface { return t.certs }
func (t *typed) DiscoveryV1() discoveryv1.DiscoveryV1Interface          { return t.slices }
func (t *typed) NetworkingV1() networkingv1.NetworkingV1Interface       { return t.netv1 }

// newTyped is kubernetes.NewForConfig for Typed's groups only.
func newTyped(c *rest.Config) (Typed, error) {
	cfg := *c
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	hc, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, err
	}
	var t typed
	if t.discovery, err = discovery.NewDiscoveryClientForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.core, err = corev1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.apps, err = appsv1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.storage, err = storagev1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.certs, err = certificatesv1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.slices, err = discoveryv1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	if t.netv1, err = networkingv1.NewForConfigAndClient(&cfg, hc); err != nil {
		return nil, err
	}
	return &t, nil
}
