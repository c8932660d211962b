package config

import (
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// validateSANs is what kubeadm's validation could still refuse in a
// configuration Render made: the configurations are encoded from kubeadm's
// own typed structs, from inputs check() bounds, except the API
// certificate's names, which kubeadm wants as IP addresses, DNS names or
// wildcard DNS names. kubeadm's validator itself
// (k8s.io/kubernetes/cmd/kubeadm/app/util/config: some 285 packages, from
// kustomize to OpenTelemetry) is not linked into labctl: validate_test.go
// runs it on every configuration Render and RenderJoin make, and checks
// that this check refuses what it refuses.
func validateSANs(sans []string) error {
	for i, s := range sans {
		if _, err := netip.ParseAddr(s); err == nil {
			continue
		}
		name := strings.ToLower(s) // as kubeadm's defaulting does first
		if len(validation.IsDNS1123Subdomain(name)) == 0 || len(validation.IsWildcardDNS1123Subdomain(name)) == 0 {
			continue
		}
		return fmt.Errorf("apiServer.certSANs[%d]: %q is not an IP address, a DNS name or a wildcard DNS name", i, s)
	}
	return nil
}
