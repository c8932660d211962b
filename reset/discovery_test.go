package reset

import (
	"context"
	"errors"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/labctl/labctl/kube"
)

var apiSvcGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

func init() { listKinds[apiSvcGVR] = "APIServiceList" }

// broken is discovery with aggregated APIs down: the rest answers, with
// client-go's partial error naming the failed groups.
type broken struct {
	preferred
	down []schema.GroupVersion
}

func (b broken) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	err := &kube.GroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{}}
	for _, gv := range b.down {
		err.Groups[gv] = errors.New("the server is currently unable to handle the request")
	}
	return append(slices.Clone(b.Resources), &metav1.APIResourceList{GroupVersion: "apiregistration.k8s.io/v1",
		APIResources: []metav1.APIResource{{Name: "apiservices", Kind: "APIService", Verbs: verbs}}}), err
}

// One unavailable APIService (issue 17, finding 4) does not stop the
// listing: the rest is listed, the group is named, and the plan deletes
// the broken APIService first. A baseline group that is down is told
// apart.
func TestTakeToleratesAnUnavailableAPIService(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	base, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	create(t, cl, apiSvcGVR, obj("apiregistration.k8s.io/v1", "APIService", "", "v1.evil.example.com", nil))
	create(t, cl, nsGVR, obj("v1", "Namespace", "", "messy", nil))
	evil := schema.GroupVersion{Group: "evil.example.com", Version: "v1"}
	cur, err := take(ctx, cl, broken{d, []schema.GroupVersion{evil}})
	if err != nil {
		t.Fatalf("one unavailable group stopped the listing: %v", err)
	}
	if !slices.Equal(cur.Unavailable, []string{"evil.example.com/v1"}) {
		t.Errorf("unavailable: %v", cur.Unavailable)
	}
	p := Diff(base, cur)
	if len(p.Delete) < 2 || p.Delete[0].Name != "v1.evil.example.com" {
		t.Errorf("the broken APIService must be deleted first: %v", names(p.Delete))
	}
	b := &Baseline{Cluster: 1, Snapshot: base}
	if got := b.UnavailableIn(cur); len(got) != 0 {
		t.Errorf("evil.example.com is not the baseline's: %v", got)
	}
	// The baseline's own aggregated API (metrics-server stopped).
	b.Objects = append(b.Objects, Object{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices", Kind: "APIService", Name: "v1beta1.metrics.k8s.io", UID: "m"})
	cur.Unavailable = append(cur.Unavailable, "metrics.k8s.io/v1beta1")
	if got := b.UnavailableIn(cur); !slices.Equal(got, []string{"metrics.k8s.io/v1beta1"}) {
		t.Errorf("the baseline's metrics.k8s.io must be reported: %v", got)
	}
}
