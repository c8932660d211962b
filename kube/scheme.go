package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// Scheme knows the built-in API groups labctl's typed objects come from,
// and no others. client-go's kubernetes/scheme registers every group at
// init, and whatever imports it (the typed clientset, the discovery
// client) keeps all their types in the binary: with text/template's
// reflection in the CLI, every exported method of each (about 15 MB).
// A typed object of a group labctl starts to use goes here too.
var Scheme = runtime.NewScheme()

// Codecs and ParameterCodec are Scheme's, as client-go's scheme package
// has them.
var (
	Codecs         = serializer.NewCodecFactory(Scheme)
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	b := runtime.NewSchemeBuilder(corev1.AddToScheme, appsv1.AddToScheme, rbacv1.AddToScheme,
		storagev1.AddToScheme, certificatesv1.AddToScheme, discoveryv1.AddToScheme, networkingv1.AddToScheme)
	if err := b.AddToScheme(Scheme); err != nil {
		panic(err) // the groups above are client-go's own: they register
	}
}
