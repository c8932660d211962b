// Package config renders the configuration files of `kubeadm init` and
// `kubeadm join` as Go values of kubeadm's own API types (v1beta4 from
// Kubernetes 1.31, v1beta3 for 1.30), checks them with kubeadm's own decoding
// and validation before anything reaches a node, and provides the few shell
// commands labctl runs around them (CA hash, join token) with strict parsers
// for their output.
package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults an instructor rarely changes.
const (
	DefaultPodSubnet     = "10.244.0.0/16" // what Weave-like CNIs expect
	DefaultServiceSubnet = "10.96.0.0/12"
	DefaultCRISocket     = "unix:///run/containerd/containerd.sock"
	// InitTokenTTL bounds the token `kubeadm init` creates for itself; labctl
	// joins nodes with a fresh short-lived token instead (TokenCreateCommand).
	InitTokenTTL  = 15 * time.Minute
	apiServerPort = 6443
)

// Supported Kubernetes minors (lab.supportedMinors says the same).
const (
	minMinor     = 30
	maxMinor     = 37
	firstV1beta4 = 31 // kubeadm.k8s.io/v1beta4 appeared in 1.31
	firstCgV1Opt = 31 // KubeletConfiguration.failCgroupV1 appeared in 1.31
	cgV1Fatal    = 35 // from 1.35 kubelet refuses cgroup v1 unless told not to
)

// Input describes the control-plane node (node1) of one cluster.
type Input struct {
	KubernetesVersion string // "1.34.4" or "v1.34.4"
	NodeName          string // "node1"
	// PublicAddress is how attendees reach the node (may equal
	// PrivateAddress or be empty on local hosts); it goes in the API
	// server certificate.
	PublicAddress string
	// PrivateAddress is the cluster-internal address: API advertise
	// address, kubelet node IP, certificate SAN.
	PrivateAddress string
	PodSubnet      string // default DefaultPodSubnet
	ServiceSubnet  string // default DefaultServiceSubnet
	CRISocket      string // default DefaultCRISocket
	// InContainer applies the tweaks a node needs when it is a container
	// on a shared host (local provider): no swap check, no disk-based
	// eviction or image GC, no global conntrack sysctl from kube-proxy.
	InContainer bool
	// UserNamespace: the node runs in a user namespace (its root is not
	// the host's): kubelet gets its KubeletInUserNamespace feature gate,
	// which lets it go on where it may not set kernel-wide sysctls,
	// lower OOM scores or read /dev/kmsg.
	UserNamespace bool
	// CgroupV1 says the node runs on a cgroup v1 (or hybrid) host; kubelet
	// >= 1.35 then needs failCgroupV1: false.
	CgroupV1 bool
	// ExtraSANs are more names or addresses for the API certificate.
	ExtraSANs []string
	// ServingCerts makes kubelets ask the cluster CA for their serving
	// certificates (serverTLSBootstrap) instead of signing their own: an
	// add-on verifies them, and labctl approves the requests.
	ServingCerts bool
}

// JoinInput describes one worker node joining a cluster.
type JoinInput struct {
	KubernetesVersion string
	NodeName          string // "node2"
	PrivateAddress    string // kubelet node IP
	// APIServer is node1's private address (port 6443 is added), or
	// "host:port".
	APIServer string
	// Token is a bootstrap token from TokenCreateCommand (secret).
	Token Token
	// CACertHashes pin the cluster CA ("sha256:<64 hex>"), from
	// CACertHash of the recorded CA; at least one is required.
	CACertHashes []string
	CRISocket    string // default DefaultCRISocket
	InContainer  bool
}

var (
	tokenRE   = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	caHashRE  = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	versionRE = regexp.MustCompile(`^v?1\.(\d+)\.(\d+)$`)
	nodeRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// parseVersion returns "v1.Y.Z" and Y, refusing versions labctl does not
// support.
func parseVersion(v string) (string, int, error) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return "", 0, fmt.Errorf("kubernetesVersion %q: want 1.MINOR.PATCH, e.g. 1.34.4", v)
	}
	minor, _ := strconv.Atoi(m[1])
	if minor < minMinor || minor > maxMinor {
		return "", 0, fmt.Errorf("kubernetesVersion %q: supported versions are 1.%d to 1.%d", v, minMinor, maxMinor)
	}
	return "v" + strings.TrimPrefix(v, "v"), minor, nil
}

func (in *Input) defaults() {
	if in.PodSubnet == "" {
		in.PodSubnet = DefaultPodSubnet
	}
	if in.ServiceSubnet == "" {
		in.ServiceSubnet = DefaultServiceSubnet
	}
	if in.CRISocket == "" {
		in.CRISocket = DefaultCRISocket
	}
}

// check is labctl's own validation, done before kubeadm's so that errors
// name the Input field.
func (in *Input) check() error {
	if !nodeRE.MatchString(in.NodeName) {
		return fmt.Errorf("nodeName %q: want a DNS label (lowercase letters, digits, dashes)", in.NodeName)
	}
	priv, err := netip.ParseAddr(in.PrivateAddress)
	if err != nil {
		return fmt.Errorf("privateAddress: %w", err)
	}
	if in.PublicAddress != "" {
		if _, err := netip.ParseAddr(in.PublicAddress); err != nil {
			return fmt.Errorf("publicAddress: %w", err)
		}
	}
	pods, err := netip.ParsePrefix(in.PodSubnet)
	if err != nil {
		return fmt.Errorf("podSubnet: %w", err)
	}
	svcs, err := netip.ParsePrefix(in.ServiceSubnet)
	if err != nil {
		return fmt.Errorf("serviceSubnet: %w", err)
	}
	if pods.Masked() != pods || svcs.Masked() != svcs {
		return fmt.Errorf("podSubnet %s / serviceSubnet %s: host bits set", pods, svcs)
	}
	if pods.Overlaps(svcs) {
		return fmt.Errorf("podSubnet %s overlaps serviceSubnet %s", pods, svcs)
	}
	for name, p := range map[string]netip.Prefix{"podSubnet": pods, "serviceSubnet": svcs} {
		if p.Contains(priv) {
			return fmt.Errorf("%s %s contains the node's privateAddress %s", name, p, priv)
		}
	}
	if !strings.HasPrefix(in.CRISocket, "unix:///") {
		return fmt.Errorf("criSocket %q: want unix:///path", in.CRISocket)
	}
	for _, s := range in.ExtraSANs {
		if s == "" || strings.ContainsAny(s, " \t\n/") {
			return fmt.Errorf("extraSANs: %q is not a name or address", s)
		}
	}
	return nil
}

func (in *JoinInput) defaults() {
	if in.CRISocket == "" {
		in.CRISocket = DefaultCRISocket
	}
	if _, err := netip.ParseAddr(in.APIServer); err == nil {
		in.APIServer = netip.AddrPortFrom(netip.MustParseAddr(in.APIServer), apiServerPort).String()
	}
}

func (in *JoinInput) check() error {
	if !nodeRE.MatchString(in.NodeName) {
		return fmt.Errorf("nodeName %q: want a DNS label (lowercase letters, digits, dashes)", in.NodeName)
	}
	if _, err := netip.ParseAddr(in.PrivateAddress); err != nil {
		return fmt.Errorf("privateAddress: %w", err)
	}
	if _, err := netip.ParseAddrPort(in.APIServer); err != nil {
		return fmt.Errorf("apiServer %q: want an address or address:port", in.APIServer)
	}
	if !tokenRE.MatchString(in.Token.Reveal()) {
		return fmt.Errorf("token: not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})")
	}
	if len(in.CACertHashes) == 0 {
		return fmt.Errorf("caCertHashes: at least one is required (labctl never skips CA verification)")
	}
	for _, h := range in.CACertHashes {
		if !caHashRE.MatchString(h) {
			return fmt.Errorf("caCertHashes: %q: want sha256:<64 lowercase hex>", h)
		}
	}
	if !strings.HasPrefix(in.CRISocket, "unix:///") {
		return fmt.Errorf("criSocket %q: want unix:///path", in.CRISocket)
	}
	return nil
}

// Token is a bootstrap token. It prints as a redaction so that it cannot
// leak into logs through %v, %s or %#v; Reveal gives the value.
type Token struct{ value string }

// NewToken wraps a token value.
func NewToken(v string) Token { return Token{value: v} }

// Reveal returns the secret value.
func (t Token) Reveal() string { return t.value }

func (t Token) String() string   { return "<redacted token>" }
func (t Token) GoString() string { return "kubeadm.Token{<redacted>}" }
