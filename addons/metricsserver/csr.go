package metricsserver

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/labctl/labctl/lab"
)

// Who a kubelet is when it asks for its serving certificate.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// servingUsages are the usages a kubelet serving certificate may ask for:
// server auth always, key encipherment only with RSA keys.
var servingUsages = []certificatesv1.KeyUsage{
	certificatesv1.UsageDigitalSignature,
	certificatesv1.UsageKeyEncipherment,
	certificatesv1.UsageServerAuth,
}

// RefusedError is a kubelet-serving CSR that does not match the node it
// claims to be: labctl leaves it pending.
type RefusedError struct {
	CSR    string
	Reason string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("CSR %s refused: %s", e.CSR, e.Reason) }

// Match says which of nodes csr is a kubelet serving certificate request
// for, or why it is none: the kubelet-serving signer; requested by
// system:node:NAME in group system:nodes, NAME one of nodes; a request
// whose subject is that same node; SANs that are exactly the node's name
// and addresses labctl knows (no other name, no address of another node,
// no e-mail or URI); server-auth usages only.
func Match(csr *certificatesv1.CertificateSigningRequest, nodes []lab.Node) (string, error) {
	refuse := func(format string, a ...any) (string, error) {
		return "", &RefusedError{CSR: csr.Name, Reason: fmt.Sprintf(format, a...)}
	}
	spec := csr.Spec
	if spec.SignerName != certificatesv1.KubeletServingSignerName {
		return refuse("signer %q, not %s", spec.SignerName, certificatesv1.KubeletServingSignerName)
	}
	name, ok := strings.CutPrefix(spec.Username, nodeUserPrefix)
	if !ok {
		return refuse("requested by %q, not a node", spec.Username)
	}
	if !slices.Contains(spec.Groups, nodesGroup) {
		return refuse("requester %s is not in group %s (groups %v)", spec.Username, nodesGroup, spec.Groups)
	}
	i := slices.IndexFunc(nodes, func(n lab.Node) bool { return n.Name == name })
	if i < 0 {
		return refuse("%s is not a node of this cluster", name)
	}
	node := nodes[i]
	if !slices.Contains(spec.Usages, certificatesv1.UsageServerAuth) {
		return refuse("usages %v lack %q", spec.Usages, certificatesv1.UsageServerAuth)
	}
	for _, u := range spec.Usages {
		if !slices.Contains(servingUsages, u) {
			return refuse("usage %q is not for serving", u)
		}
	}
	block, _ := pem.Decode(spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return refuse("no PEM certificate request")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return refuse("unreadable request: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return refuse("bad signature: %v", err)
	}
	if req.Subject.CommonName != spec.Username || !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return refuse("subject CN=%q O=%v, want CN=%q O=[%s]", req.Subject.CommonName, req.Subject.Organization, spec.Username, nodesGroup)
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return refuse("e-mail or URI SANs %v %v", req.EmailAddresses, req.URIs)
	}
	if !slices.Equal(req.DNSNames, []string{name}) {
		return refuse("DNS names %v, want exactly [%s]", req.DNSNames, name)
	}
	known := knownIPs(node)
	if len(req.IPAddresses) == 0 {
		return refuse("no IP address (node %s has %v)", name, known)
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(known, ip.Equal) {
			return refuse("IP address %s is not %s's (it has %v)", ip, name, known)
		}
	}
	return name, nil
}

// knownIPs are the addresses labctl recorded for n.
func knownIPs(n lab.Node) []net.IP {
	var ips []net.IP
	for _, a := range []string{n.PrivateAddress, n.PublicAddress} {
		if ip := net.ParseIP(a); ip != nil && !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	return ips
}

// decided says whether csr was approved or denied already.
func decided(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied || c.Type == certificatesv1.CertificateFailed {
			return true
		}
	}
	return false
}
