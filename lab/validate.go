package lab

import (
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limits and defaults an instructor can rely on.
const (
	MaxAttendees       = 500
	MaxNodesPerCluster = 10
	DefaultVersion     = "1.34.4"
	DefaultParallel    = 50
	DefaultNamespace   = "dockercoins"
	maxParallel        = 1000
	// Weave Net's last release, and where Weaveworks published it.
	DefaultWeaveRegistry = "docker.io/weaveworks"
	DefaultWeaveVersion  = "2.8.1"
)

// Supported Kubernetes minors: what the official package repository serves
// and what our kubeadm configuration knows (v1beta3 below 1.31, v1beta4 from).
var supportedMinors = [2]int{30, 37}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)
	userRE    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)
	sizeRE    = regexp.MustCompile(`^(0|[1-9][0-9]*[KMGT]?)$`)
	pkgRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+:~-]+)?$`)
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	// An image repository prefix: an optional registry host[:port], then
	// lowercase path components (the distribution reference grammar).
	registryRE = regexp.MustCompile(`^([A-Za-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	tagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// Providers, CNIs and add-ons labctl knows.
var (
	Providers = []string{"local", "inventory", "pulumi", "kind"}
	CNIs      = []string{"weave", "bridge", "none"}
	Addons    = []string{"metrics-server", "portworx", "traefik", "helm", "prometheus", "storage"}
)

func (l *Lab) applyDefaults() {
	if l.Name == "" {
		l.Name = "lab"
	}
	if l.Provider.Type == "" {
		l.Provider.Type = "local"
	}
	l.applyPulumiDefaults()
	if l.Attendees == 0 && l.Provider.Type == "inventory" {
		l.Attendees = len(l.Provider.Clusters) - max(l.Spares, 0)
	}
	if l.Attendees == 0 && l.Provider.Type != "inventory" {
		l.Attendees = 1
	}
	if l.NodesPerCluster == 0 && l.Provider.Type == "kind" {
		l.NodesPerCluster = 1
	}
	if l.NodesPerCluster == 0 {
		l.NodesPerCluster = 4
		if l.Provider.Type == "inventory" && len(l.Provider.Clusters) > 0 {
			l.NodesPerCluster = len(l.Provider.Clusters[0])
		}
	}
	if l.Login.User == "" {
		l.Login.User = "k8s"
	}
	if l.Kubernetes.Version == "" {
		l.Kubernetes.Version = DefaultVersion
	}
	l.Kubernetes.Version = strings.TrimPrefix(l.Kubernetes.Version, "v")
	if l.Kubernetes.CNI == "" {
		// Weave's images come from a registry; local nodes work offline.
		l.Kubernetes.CNI = "weave"
		if l.LocalNodes() || l.Provider.Type == "kind" {
			l.Kubernetes.CNI = "bridge"
		}
	}
	if l.Kubernetes.Source == "" {
		l.Kubernetes.Source = "packages"
		if l.LocalNodes() || l.Provider.Type == "kind" {
			l.Kubernetes.Source = "cache"
		}
	}
	if l.Kubernetes.PodSubnet == "" {
		l.Kubernetes.PodSubnet = "10.244.0.0/16"
	}
	if l.Kubernetes.Weave.Registry == "" {
		l.Kubernetes.Weave.Registry = DefaultWeaveRegistry
	}
	l.Kubernetes.Weave.Registry = strings.TrimSuffix(l.Kubernetes.Weave.Registry, "/")
	if l.Kubernetes.Weave.Version == "" {
		l.Kubernetes.Weave.Version = DefaultWeaveVersion
	}
	if l.Nodes.PortworxSize == "" {
		l.Nodes.PortworxSize = "10G"
		if l.Provider.UserNS {
			l.Nodes.PortworxSize = "0" // see validateUserNS
		}
	}
	if l.SSH.User == "" {
		l.SSH.User = "root"
	}
	if l.SSH.Parallel == 0 {
		l.SSH.Parallel = DefaultParallel
	}
	if l.SSH.Timeout == "" {
		l.SSH.Timeout = "10s"
	}
	if l.Coins.Namespace == "" {
		l.Coins.Namespace = DefaultNamespace
	}
	l.defaultWebTerm()
	if l.Cards.Paper == "" {
		l.Cards.Paper = "Letter"
	}
	if l.Cards.URL == "" {
		l.Cards.URL = "https://container.training/"
	}
	for i := range l.Provider.Clusters {
		for j := range l.Provider.Clusters[i] {
			if l.Provider.Clusters[i][j].Port == 0 {
				l.Provider.Clusters[i][j].Port = 22
			}
		}
	}
	if l.SSH.Bastion != nil && l.SSH.Bastion.Port == 0 {
		l.SSH.Bastion.Port = 22
	}
}

// Validate checks a defaulted lab; the error names the field.
func (l *Lab) Validate() error {
	if !nameRE.MatchString(l.Name) {
		return fmt.Errorf("name: %q must be lowercase letters, digits and dashes (at most 40)", l.Name)
	}
	if !oneOf(l.Provider.Type, Providers) {
		return fmt.Errorf("provider.type: %q is not one of %s", l.Provider.Type, strings.Join(Providers, ", "))
	}
	if err := l.validateSpares(); err != nil {
		return err
	}
	if err := l.validateProvider(); err != nil {
		return err
	}
	if err := l.validatePulumi(); err != nil {
		return err
	}
	if _, err := ParseEnd(l.EndsAt); err != nil {
		return err
	}
	if l.Attendees < 1 || l.Attendees > MaxAttendees {
		return fmt.Errorf("attendees: %d is out of range (1 to %d)", l.Attendees, MaxAttendees)
	}
	if l.NodesPerCluster < 1 || l.NodesPerCluster > MaxNodesPerCluster {
		return fmt.Errorf("nodesPerCluster: %d is out of range (1 to %d)", l.NodesPerCluster, MaxNodesPerCluster)
	}
	if l.Provider.Type == "kind" && l.NodesPerCluster != 1 {
		return fmt.Errorf("nodesPerCluster: the kind provider makes single-node clusters; set it to 1")
	}
	if l.Provider.Type == "kind" {
		if err := l.validateKind(); err != nil {
			return err
		}
	}
	if !userRE.MatchString(l.Login.User) || l.Login.User == "root" {
		return fmt.Errorf("login.user: %q is not a valid attendee user name", l.Login.User)
	}
	if l.Login.User == l.SSH.User {
		// A reset kills the login's processes and empties its home: labctl's
		// own session and authorized_keys.
		return fmt.Errorf("login.user: %q is also ssh.user, labctl's own login; give attendees another user", l.Login.User)
	}
	if l.Login.Password != "" {
		if err := checkPassword(l.Login.Password); err != nil {
			return fmt.Errorf("login.password: %w", err)
		}
	}
	if err := checkVersion(l.Kubernetes.Version); err != nil {
		return fmt.Errorf("kubernetes.version: %w", err)
	}
	if !oneOf(l.Kubernetes.CNI, CNIs) {
		return fmt.Errorf("kubernetes.cni: %q is not one of %s", l.Kubernetes.CNI, strings.Join(CNIs, ", "))
	}
	if !oneOf(l.Kubernetes.Source, []string{"packages", "cache"}) {
		return fmt.Errorf("kubernetes.source: %q is not packages or cache", l.Kubernetes.Source)
	}
	if _, _, err := net.ParseCIDR(l.Kubernetes.PodSubnet); err != nil {
		return fmt.Errorf("kubernetes.podSubnet: %q is not a CIDR", l.Kubernetes.PodSubnet)
	}
	if !registryRE.MatchString(l.Kubernetes.Weave.Registry) {
		return fmt.Errorf("kubernetes.weave.registry: %q is not an image repository like %s", l.Kubernetes.Weave.Registry, DefaultWeaveRegistry)
	}
	if !tagRE.MatchString(l.Kubernetes.Weave.Version) {
		return fmt.Errorf("kubernetes.weave.version: %q is not an image tag like %s", l.Kubernetes.Weave.Version, DefaultWeaveVersion)
	}
	if !sizeRE.MatchString(l.Nodes.PortworxSize) {
		return fmt.Errorf("nodes.portworxSize: %q is not a size like 10G", l.Nodes.PortworxSize)
	}
	for i, p := range l.Nodes.Packages {
		if !pkgRE.MatchString(p) {
			return fmt.Errorf("nodes.packages[%d]: %q is not a package name", i, p)
		}
	}
	for i, a := range l.Addons {
		if !oneOf(a, Addons) {
			known := map[string]reflect.StructField{}
			for _, n := range Addons {
				known[n] = reflect.StructField{}
			}
			hint := ""
			if s := closest(a, known); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return fmt.Errorf("addons[%d]: unknown add-on %q%s; known: %s", i, a, hint, strings.Join(Addons, ", "))
		}
	}
	if err := l.validateSSH(); err != nil {
		return err
	}
	if l.Coins.Namespace == "default" || !nameRE.MatchString(l.Coins.Namespace) {
		return fmt.Errorf("coins.namespace: %q is not allowed (a DNS label, and never \"default\")", l.Coins.Namespace)
	}
	if !oneOf(l.Cards.Paper, []string{"Letter", "A4"}) {
		return fmt.Errorf("cards.paper: %q is not Letter or A4", l.Cards.Paper)
	}
	if !oneOf(l.Cards.QR, []string{"", "slides", "attendee"}) {
		return fmt.Errorf("cards.qr: %q is not slides or attendee", l.Cards.QR)
	}
	if l.Cards.QR == "attendee" && l.Cards.QRURL == "" {
		return fmt.Errorf("cards.qrURL: needed when cards.qr is attendee")
	}
	return l.validateWebTerm()
}

func (l *Lab) validateProvider() error {
	p := l.Provider
	if err := l.validateUserNS(); err != nil {
		return err
	}
	if p.Type != "inventory" {
		if len(p.Clusters) > 0 {
			return fmt.Errorf("provider.clusters: only the inventory provider takes a host list")
		}
		if p.Subnet != "" {
			if _, _, err := net.ParseCIDR(p.Subnet); err != nil {
				return fmt.Errorf("provider.subnet: %q is not a CIDR", p.Subnet)
			}
		}
		return nil
	}
	if len(p.Clusters) == 0 {
		return fmt.Errorf("provider.clusters: the inventory provider needs at least one cluster of hosts")
	}
	if len(p.Clusters) != l.ClusterCount() {
		if l.Spares > 0 {
			return fmt.Errorf("provider.clusters: %d clusters listed for %d attendees and %d spares", len(p.Clusters), l.Attendees, l.Spares)
		}
		return fmt.Errorf("provider.clusters: %d clusters listed for %d attendees", len(p.Clusters), l.Attendees)
	}
	seen := map[string]string{}
	for i, c := range p.Clusters {
		if len(c) != l.NodesPerCluster {
			return fmt.Errorf("provider.clusters[%d]: %d hosts, nodesPerCluster is %d", i, len(c), l.NodesPerCluster)
		}
		for j, h := range c {
			field := fmt.Sprintf("provider.clusters[%d][%d]", i, j)
			if err := checkHost(h.Address); err != nil {
				return fmt.Errorf("%s.address: %w", field, err)
			}
			if h.PrivateAddress != "" && net.ParseIP(h.PrivateAddress) == nil {
				return fmt.Errorf("%s.privateAddress: %q is not an IP address", field, h.PrivateAddress)
			}
			if h.Port < 1 || h.Port > 65535 {
				return fmt.Errorf("%s.port: %d is not a TCP port", field, h.Port)
			}
			hp := net.JoinHostPort(h.Address, strconv.Itoa(h.Port))
			if prev, dup := seen[hp]; dup {
				return fmt.Errorf("%s: %s is already %s", field, hp, prev)
			}
			seen[hp] = field
		}
	}
	return nil
}

// validateSpares checks spares: a whole number, at least 0, and with the
// attendees within the attendee limit (every spare is a cluster).
func (l *Lab) validateSpares() error {
	if l.Spares < 0 {
		return fmt.Errorf("spares: %d is out of range (0 to %d)", l.Spares, max(MaxAttendees-l.Attendees, 0))
	}
	if l.Attendees <= MaxAttendees && l.ClusterCount() > MaxAttendees {
		return fmt.Errorf("spares: %d attendees and %d spares make %d clusters, above the limit of %d", l.Attendees, l.Spares, l.ClusterCount(), MaxAttendees)
	}
	return nil
}

func (l *Lab) validateSSH() error {
	s := l.SSH
	if !userRE.MatchString(s.User) {
		return fmt.Errorf("ssh.user: %q is not a valid user name", s.User)
	}
	if s.Parallel < 1 || s.Parallel > maxParallel {
		return fmt.Errorf("ssh.parallel: %d is out of range (1 to %d)", s.Parallel, maxParallel)
	}
	if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
		return fmt.Errorf("ssh.timeout: %q is not a duration like 10s", s.Timeout)
	}
	if s.IdentityFile != "" {
		if err := checkIdentity(s.IdentityFile); err != nil {
			return fmt.Errorf("ssh.identityFile: %w", err)
		}
	}
	if b := s.Bastion; b != nil {
		if err := checkHost(b.Address); err != nil {
			return fmt.Errorf("ssh.bastion.address: %w", err)
		}
		if b.Port < 1 || b.Port > 65535 {
			return fmt.Errorf("ssh.bastion.port: %d is not a TCP port", b.Port)
		}
		if b.IdentityFile != "" {
			if err := checkIdentity(b.IdentityFile); err != nil {
				return fmt.Errorf("ssh.bastion.identityFile: %w", err)
			}
		}
	}
	return nil
}

// ExpandHome turns a leading ~/ into the user's home directory.
func ExpandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return path
}

func checkVersion(v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("%q is not a version like %s", v, DefaultVersion)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major != 1 || minor < supportedMinors[0] || minor > supportedMinors[1] {
		return fmt.Errorf("%s is not supported (supported: 1.%d to 1.%d)", v, supportedMinors[0], supportedMinors[1])
	}
	return nil
}

// MinorVersion returns the minor number of a validated version ("1.34.4" → 34).
func MinorVersion(v string) int {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("missing")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if !hostRE.MatchString(h) {
		return fmt.Errorf("%q is neither an IP address nor a host name", h)
	}
	return nil
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// validateKind refuses what the kind provider cannot give: its node image
// carries a one-node bridge pod network, and it makes its own network.
func (l *Lab) validateKind() error {
	if l.Kubernetes.CNI != "bridge" {
		return fmt.Errorf("kubernetes.cni: the kind provider's nodes come with their own pod network (bridge), not %s", l.Kubernetes.CNI)
	}
	if l.Provider.Subnet != "" {
		return fmt.Errorf("provider.subnet: only the local provider takes a subnet")
	}
	// source: cache builds labctl's own node image offline; packages pulls
	// kind's kindest/node.
	return nil
}
