package kube

import (
	"context"
	"net/http"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// typed is Typed over client-go's REST client, one per group, sharing
// one HTTP client as kubernetes.NewForConfig does.
type typed struct {
	discovery                        *apiDiscovery
	core, apps, certs, slices, netv1 rest.Interface
}

// newTyped is kubernetes.NewForConfig for Typed's calls only.
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
	if t.discovery, err = newDiscovery(&cfg, hc); err != nil {
		return nil, err
	}
	for _, g := range []struct {
		rc   *rest.Interface
		gv   schema.GroupVersion
		path string
	}{
		{&t.core, corev1.SchemeGroupVersion, "/api"},
		{&t.apps, appsv1.SchemeGroupVersion, "/apis"},
		{&t.certs, certificatesv1.SchemeGroupVersion, "/apis"},
		{&t.slices, discoveryv1.SchemeGroupVersion, "/apis"},
		{&t.netv1, networkingv1.SchemeGroupVersion, "/apis"},
	} {
		if *g.rc, err = groupClient(&cfg, hc, g.gv, g.path); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// groupClient is the REST client of one API group version, configured as
// client-go's generated clients configure theirs.
func groupClient(c *rest.Config, hc *http.Client, gv schema.GroupVersion, path string) (*rest.RESTClient, error) {
	cfg := *c
	cfg.GroupVersion = &gv
	cfg.APIPath = path
	cfg.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(Scheme, Codecs).WithoutConversion()
	return rest.RESTClientForConfigAndClient(&cfg, hc)
}

func (t *typed) Discovery() Discovery           { return t.discovery }
func (t *typed) CoreV1() CoreV1                 { return core{t.core} }
func (t *typed) AppsV1() AppsV1                 { return apps{t.apps} }
func (t *typed) CertificatesV1() CertificatesV1 { return certs{t.certs} }
func (t *typed) DiscoveryV1() DiscoveryV1       { return endpointSlices{t.slices} }
func (t *typed) NetworkingV1() NetworkingV1     { return netv1{t.netv1} }

type (
	core           struct{ rc rest.Interface }
	apps           struct{ rc rest.Interface }
	certs          struct{ rc rest.Interface }
	endpointSlices struct{ rc rest.Interface }
	netv1          struct{ rc rest.Interface }
)

// list is the client of one resource (of a namespace, or cluster-wide
// when ns is "").
func list[O, LO any, T interface {
	*O
	runtime.Object
	metav1.Object
}, L interface {
	*LO
	runtime.Object
}](resource string, rc rest.Interface, ns string) *resourceClient[T, L] {
	return &resourceClient[T, L]{rc: rc, ns: ns, resource: resource, newT: func() T { return T(new(O)) }, newL: func() L { return L(new(LO)) }}
}

// resourceClient makes the requests client-go's typed clients make for
// one resource: built-in types in protobuf, options as query parameters.
// (client-go's generic gentype package would do, but it links
// client-go's fakes, and with them OpenAPI and merge libraries: 4 MB.)
type resourceClient[T interface {
	runtime.Object
	metav1.Object
}, L runtime.Object] struct {
	rc           rest.Interface
	ns, resource string
	newT         func() T
	newL         func() L
}

func (r *resourceClient[T, L]) req(verb string) *rest.Request {
	return r.rc.Verb(verb).UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.resource)
}

func (r *resourceClient[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := r.newT()
	err := r.req("GET").Name(name).VersionedParams(&opts, ParameterCodec).Do(ctx).Into(out)
	return out, err
}

func (r *resourceClient[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	out := r.newL()
	err := r.req("GET").VersionedParams(&opts, ParameterCodec).Timeout(timeout).Do(ctx).Into(out)
	return out, err
}

func (r *resourceClient[T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	out := r.newT()
	err := r.req("PUT").Name(obj.GetName()).VersionedParams(&opts, ParameterCodec).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r *resourceClient[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.req("DELETE").Name(name).Body(&opts).Do(ctx).Error()
}

func (c core) Nodes() Nodes {
	return list[corev1.Node, corev1.NodeList]("nodes", c.rc, "")
}

func (c core) Namespaces() Getter[*corev1.Namespace] {
	return list[corev1.Namespace, corev1.NamespaceList]("namespaces", c.rc, "")
}

func (c core) Pods(ns string) Lister[*corev1.PodList] {
	return list[corev1.Pod, corev1.PodList]("pods", c.rc, ns)
}

func (c core) Secrets(ns string) Lister[*corev1.SecretList] {
	return list[corev1.Secret, corev1.SecretList]("secrets", c.rc, ns)
}

func (c core) Services(ns string) Services {
	return services{list[corev1.Service, corev1.ServiceList]("services", c.rc, ns)}
}

type services struct {
	*resourceClient[*corev1.Service, *corev1.ServiceList]
}

// ProxyGet is client-go's: GET services/NAME/proxy/PATH, the name joined
// with the scheme and port.
func (s services) ProxyGet(scheme, name, port, path string, params map[string]string) rest.ResponseWrapper {
	r := s.rc.Get().Namespace(s.ns).Resource("services").SubResource("proxy").
		Name(net.JoinSchemeNamePort(scheme, name, port)).Suffix(path)
	for k, v := range params {
		r = r.Param(k, v)
	}
	return r
}

func (c apps) Deployments(ns string) Deployments {
	return list[appsv1.Deployment, appsv1.DeploymentList]("deployments", c.rc, ns)
}

func (c certs) CertificateSigningRequests() CSRs {
	return csrs{list[certificatesv1.CertificateSigningRequest, certificatesv1.CertificateSigningRequestList]("certificatesigningrequests", c.rc, "")}
}

type csrs struct {
	*resourceClient[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList]
}

// UpdateApproval is client-go's: PUT the CSR to its approval subresource.
func (c csrs) UpdateApproval(ctx context.Context, name string, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error) {
	out := &certificatesv1.CertificateSigningRequest{}
	err := c.rc.Put().UseProtobufAsDefault().Resource("certificatesigningrequests").Name(name).
		SubResource("approval").VersionedParams(&opts, ParameterCodec).Body(csr).Do(ctx).Into(out)
	return out, err
}

func (c endpointSlices) EndpointSlices(ns string) Lister[*discoveryv1.EndpointSliceList] {
	return list[discoveryv1.EndpointSlice, discoveryv1.EndpointSliceList]("endpointslices", c.rc, ns)
}

func (c netv1) NetworkPolicies(ns string) Lister[*networkingv1.NetworkPolicyList] {
	return list[networkingv1.NetworkPolicy, networkingv1.NetworkPolicyList]("networkpolicies", c.rc, ns)
}
