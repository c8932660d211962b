package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
)

// Discovery is what labctl asks of the API server's discovery, in
// client-go's DiscoveryInterface's terms (its fake serves tests).
// labctl's own (apiDiscovery) reads the aggregated discovery documents
// with the REST client: client-go's discovery package imports its
// all-groups scheme (see Scheme).
type Discovery interface {
	// ServerPreferredResources lists each group version's resources,
	// a resource in its group's preferred version. With a
	// *GroupDiscoveryFailed it lists the groups that answered.
	ServerPreferredResources() ([]*metav1.APIResourceList, error)
	ServerVersion() (*version.Info, error)
	RESTClient() rest.Interface
}

// GroupDiscoveryFailed names the group versions whose discovery failed
// (an aggregated API that is down).
type GroupDiscoveryFailed struct {
	Groups map[schema.GroupVersion]error
}

func (e *GroupDiscoveryFailed) Error() string {
	var s []string
	for gv, err := range e.Groups {
		s = append(s, fmt.Sprintf("%s: %v", gv, err))
	}
	sort.Strings(s)
	return "unable to retrieve the complete list of server APIs: " + strings.Join(s, ", ")
}

// aggregatedV2 asks for the whole discovery of /api or /apis in one
// answer; every Kubernetes labctl installs (1.30 on) serves it.
const aggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// discoveryTimeout bounds each discovery request, as client-go's does.
const discoveryTimeout = 32 * time.Second

type apiDiscovery struct{ rc rest.Interface }

func newDiscovery(c *rest.Config, hc *http.Client) (*apiDiscovery, error) {
	cfg := *c
	cfg.APIPath = ""
	cfg.GroupVersion = nil
	cfg.NegotiatedSerializer = Codecs.WithoutConversion()
	if cfg.Timeout == 0 {
		cfg.Timeout = discoveryTimeout
	}
	rc, err := rest.UnversionedRESTClientForConfigAndClient(&cfg, hc)
	if err != nil {
		return nil, err
	}
	return &apiDiscovery{rc}, nil
}

func (d *apiDiscovery) RESTClient() rest.Interface { return d.rc }

func (d *apiDiscovery) ServerVersion() (*version.Info, error) {
	body, err := d.rc.Get().AbsPath("/version").Do(context.TODO()).Raw()
	if err != nil {
		return nil, err
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("/version: %w", err)
	}
	return &info, nil
}

func (d *apiDiscovery) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	var groups []apidiscoveryv2.APIGroupDiscovery
	for _, path := range []string{"/api", "/apis"} {
		body, err := d.rc.Get().AbsPath(path).SetHeader("Accept", aggregatedV2).Do(context.TODO()).Raw()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var l apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if l.Kind != "APIGroupDiscoveryList" {
			return nil, fmt.Errorf("%s: the API server did not answer aggregated discovery (Kubernetes 1.30 or newer does)", path)
		}
		groups = append(groups, l.Items...)
	}
	return preferred(groups)
}

// preferred picks, for each resource of each group, the first of the
// group's versions (the server lists them by preference) that serves it;
// a version whose discovery is stale fails, the rest are listed.
func preferred(groups []apidiscoveryv2.APIGroupDiscovery) ([]*metav1.APIResourceList, error) {
	var out []*metav1.APIResourceList
	failed := map[schema.GroupVersion]error{}
	for _, g := range groups {
		seen := map[string]bool{}
		for _, v := range g.Versions {
			gv := schema.GroupVersion{Group: g.Name, Version: v.Version}
			if v.Freshness == apidiscoveryv2.DiscoveryFreshnessStale {
				failed[gv] = fmt.Errorf("the discovery of %s is stale: its API service does not answer", gv)
				continue
			}
			l := &metav1.APIResourceList{GroupVersion: gv.String()}
			for _, r := range v.Resources {
				if seen[r.Resource] {
					continue
				}
				seen[r.Resource] = true
				l.APIResources = append(l.APIResources, resourceOf(gv, r))
			}
			out = append(out, l)
		}
	}
	if len(failed) > 0 {
		return out, &GroupDiscoveryFailed{Groups: failed}
	}
	return out, nil
}

func resourceOf(gv schema.GroupVersion, r apidiscoveryv2.APIResourceDiscovery) metav1.APIResource {
	a := metav1.APIResource{
		Name:         r.Resource,
		SingularName: r.SingularResource,
		Namespaced:   r.Scope == apidiscoveryv2.ScopeNamespace,
		Group:        gv.Group,
		Version:      gv.Version,
		Verbs:        r.Verbs,
		ShortNames:   r.ShortNames,
		Categories:   r.Categories,
	}
	if r.ResponseKind != nil {
		a.Kind = r.ResponseKind.Kind
	}
	return a
}
