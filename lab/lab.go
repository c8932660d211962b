// Package lab is the domain of labctl: the lab file (what the instructor
// asks for), the clusters and nodes it becomes, and the state store that
// remembers them. It imports nothing else of labctl.
package lab

import "fmt"

// Lab is the lab file, after defaults.
type Lab struct {
	Name      string `yaml:"name"`
	Attendees int    `yaml:"attendees"`
	// Spares are clusters built beside the attendees' ones, ready like
	// them, that labctl swap hands to an attendee whose cluster broke.
	Spares          int            `yaml:"spares"`
	NodesPerCluster int            `yaml:"nodesPerCluster"`
	Login           LoginSpec      `yaml:"login"`
	Kubernetes      KubernetesSpec `yaml:"kubernetes"`
	Provider        ProviderSpec   `yaml:"provider"`
	SSH             SSHSpec        `yaml:"ssh"`
	Nodes           NodesSpec      `yaml:"nodes"`
	Addons          []string       `yaml:"addons"`
	Coins           CoinsSpec      `yaml:"coins"`
	Cards           CardsSpec      `yaml:"cards"`
	WebTerm         WebTermSpec    `yaml:"webterm"`
	// Checks is an instructor's own course checks file (relative to the
	// lab file), added to the ones labctl ships (labctl check, board).
	Checks string `yaml:"checks"`
	// EndsAt is when the class ends (see ParseEnd): status shows the time
	// left, up creates nothing after it, sweep destroys the lab.
	EndsAt string `yaml:"endsAt"`
}

// LoginSpec is the attendee login created on every node.
type LoginSpec struct {
	User string `yaml:"user"`
	// Password, when set, is used for every cluster instead of generated ones.
	Password string `yaml:"password"`
}

// KubernetesSpec pins the Kubernetes version and network plugin.
type KubernetesSpec struct {
	Version string `yaml:"version"`
	CNI     string `yaml:"cni"`
	// Source is where nodes get Kubernetes: "packages" (pkgs.k8s.io) or
	// "cache" (binaries and images uploaded from labctl's artifact cache,
	// for offline rooms). Default: cache for local nodes, packages otherwise.
	Source string `yaml:"source"`
	// Artifacts is the artifact cache directory (default: built by labctl).
	Artifacts string `yaml:"artifacts"`
	// PodSubnet is the cluster's pod network (default 10.244.0.0/16).
	PodSubnet string `yaml:"podSubnet"`
	// Weave says where Weave Net's images come from (cni: weave).
	Weave WeaveSpec `yaml:"weave"`
}

// WeaveSpec locates Weave Net's images: REGISTRY/weave-kube:VERSION and
// REGISTRY/weave-npc:VERSION. Weaveworks archived the project in 2024; a
// mirror or the community fork may be the only source a room can reach.
type WeaveSpec struct {
	// Registry is the repository prefix (default docker.io/weaveworks).
	Registry string `yaml:"registry"`
	// Version is the images' tag (default 2.8.1, Weave Net's last release).
	Version string `yaml:"version"`
}

// NodesSpec is what nodeprep puts on every node besides Kubernetes.
type NodesSpec struct {
	// Docker installs Docker Engine and docker-compose (default true).
	Docker *bool `yaml:"docker"`
	// PortworxSize is the sparse /portworx.blk size ("" or "0" disables).
	PortworxSize string `yaml:"portworxSize"`
	// Packages are extra distribution packages.
	Packages []string `yaml:"packages"`
}

// DockerEnabled says whether nodes get Docker Engine.
func (n NodesSpec) DockerEnabled() bool { return n.Docker == nil || *n.Docker }

// ProviderSpec says where nodes come from.
type ProviderSpec struct {
	Type string `yaml:"type"` // local | inventory | pulumi | kind
	// Clusters lists the hosts of each cluster (inventory provider).
	Clusters [][]HostSpec `yaml:"clusters"`
	// Subnet is the local provider's network (default: picked per lab).
	Subnet string `yaml:"subnet"`
	// UserNS runs the local provider's nodes in a user namespace: root on
	// a node is an unprivileged user of this machine (see
	// provision/local/userns.go).
	UserNS bool `yaml:"userns"`
	// Pulumi configures the pulumi provider, AWS its aws target.
	Pulumi PulumiSpec `yaml:"pulumi"`
	AWS    AWSSpec    `yaml:"aws"`
}

// PulumiSpec is how the pulumi provider runs the class's Pulumi program.
type PulumiSpec struct {
	// Target is where the program makes nodes: aws (default) or local
	// (podman containers through labctl's own resource provider).
	Target string `yaml:"target"`
	// Backend is the Pulumi state backend URL (default: a file:// backend
	// inside the lab's state directory).
	Backend string `yaml:"backend"`
	// Stack, when set, names a stack the instructor ran with `pulumi up`:
	// labctl reads its outputs and changes nothing there.
	Stack string `yaml:"stack"`
}

// AWSSpec is the aws target of the pulumi provider.
type AWSSpec struct {
	Region       string `yaml:"region"`       // default us-east-1
	InstanceType string `yaml:"instanceType"` // default t3.medium
	DiskSize     int    `yaml:"diskSize"`     // GiB, default 20
	// VPC is "default" (the region's default VPC) or "new" (one per lab).
	VPC string `yaml:"vpc"`
	// AllowFrom are the CIDRs SSH is open to (default anywhere).
	AllowFrom []string `yaml:"allowFrom"`
	// Addresses are the nodes' public addresses: "elastic" (default, one
	// Elastic IP per node: the address survives labctl stop/start) or
	// "ephemeral" (AWS's auto-assigned address, which a stop gives back:
	// labctl stop is then refused).
	Addresses string `yaml:"addresses"`
	// Prices override labctl's price table (provision/pulumi/prices.yaml)
	// in the cost estimate.
	Prices AWSPrices `yaml:"prices"`
}

// AWSPrices are the prices of the lab's estimate, in USD, where the
// instructor knows better than labctl's dated table (another region, a
// newer instance type, a negotiated rate). Unset fields come from the
// table.
type AWSPrices struct {
	// InstanceHour is provider.aws.instanceType's price per hour running.
	InstanceHour *float64 `yaml:"instanceHour"`
	// GP3GBMonth is EBS gp3 storage per GiB and month (billed stopped too).
	GP3GBMonth *float64 `yaml:"gp3GBMonth"`
	// PublicIPv4Hour is one public IPv4 address per hour (an Elastic IP
	// is billed while its instance is stopped too).
	PublicIPv4Hour *float64 `yaml:"publicIPv4Hour"`
	// Date is when these prices were read (YYYY-MM-DD), shown with the
	// estimate.
	Date string `yaml:"date"`
}

// Set says whether any price is overridden.
func (p AWSPrices) Set() bool {
	return p.InstanceHour != nil || p.GP3GBMonth != nil || p.PublicIPv4Hour != nil || p.Date != ""
}

// ElasticIPs says whether the aws target gives each node an Elastic IP.
func (a AWSSpec) ElasticIPs() bool { return a.Addresses != "ephemeral" }

// LocalNodes reports whether the lab's nodes are containers on this
// machine (the local provider, or the pulumi provider's local target).
func (l *Lab) LocalNodes() bool {
	return l.Provider.Type == "local" || (l.Provider.Type == "pulumi" && l.Provider.Pulumi.Target == "local")
}

// HostSpec is one host of an inventory.
type HostSpec struct {
	Address        string `yaml:"address"`
	PrivateAddress string `yaml:"privateAddress"`
	Port           int    `yaml:"port"`
}

// SSHSpec is how labctl itself reaches the nodes.
type SSHSpec struct {
	User         string       `yaml:"user"`
	IdentityFile string       `yaml:"identityFile"`
	Password     string       `yaml:"password"`
	Bastion      *BastionSpec `yaml:"bastion"`
	// Parallel is how many hosts are driven at once (default 50).
	Parallel int `yaml:"parallel"`
	// Timeout bounds one connection attempt, e.g. "10s".
	Timeout string `yaml:"timeout"`
}

// BastionSpec is the jump host in front of the nodes.
type BastionSpec struct {
	Address      string `yaml:"address"`
	Port         int    `yaml:"port"`
	User         string `yaml:"user"`
	IdentityFile string `yaml:"identityFile"`
	HostKey      string `yaml:"hostKey"`
}

// CoinsSpec controls the DockerCoins phase.
type CoinsSpec struct {
	Enabled   bool   `yaml:"enabled"`
	Namespace string `yaml:"namespace"`
}

// CardsSpec controls the access cards.
type CardsSpec struct {
	Paper string `yaml:"paper"` // Letter | A4
	Event string `yaml:"event"`
	URL   string `yaml:"url"`
	// Logo is a path to an image printed on each card.
	Logo string `yaml:"logo"`
	// QR is "", "slides" (the URL above) or "attendee" (QRURL per cluster).
	QR string `yaml:"qr"`
	// QRURL is a per-attendee URL; "{{.Cluster}}" is replaced by the number.
	QRURL string `yaml:"qrURL"`
	// Back prints a back side for duplex printing.
	Back bool `yaml:"back"`
	// Template overrides the embedded HTML card template.
	Template string `yaml:"template"`
	// Text overrides the cards' wording, by key.
	Text map[string]string `yaml:"text"`
}

// Cluster is one attendee's cluster, numbered from 1.
type Cluster struct {
	Index int    `json:"index"`
	Login Login  `json:"login"`
	Nodes []Node `json:"nodes"`
	// Key is the intra-cluster SSH key pair of the attendee login.
	Key *KeyPair `json:"key,omitempty"`
	// Phases records the last outcome of each phase on this cluster.
	Phases map[string]PhaseResult `json:"phases,omitempty"`
	// Addons is the digest of the add-on objects last applied, so that a
	// re-run applies nothing when nothing changed.
	Addons string `json:"addons,omitempty"`
	// Kubeconfig is node1's admin.conf, kept so that talking to the API
	// server costs no command on node1 (a secret, like Key).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// CA is the cluster CA certificate (PEM), recorded when labctl ran
	// kubeadm init: the API server is verified against it, never against
	// a CA a node sends later.
	CA string `json:"ca,omitempty"`
	// HealthProbes are the commands the last passing health checks ran on
	// each node: a re-run asks them in its probe round.
	HealthProbes map[string]string `json:"healthProbes,omitempty"`
	// Power says whether labctl stop stopped the machines (see Power).
	Power *Power `json:"power,omitempty"`
	// NeedsReset, when set, says why the cluster must be reset before it
	// serves anyone again (labctl swap took it from an attendee): labctl
	// swap never hands it out, and a successful labctl reset clears it.
	NeedsReset string `json:"needsReset,omitempty"`
}

// Node is one machine of a cluster.
type Node struct {
	Name           string `json:"name"` // node1..nodeN
	PublicAddress  string `json:"publicAddress"`
	PrivateAddress string `json:"privateAddress"`
	Port           int    `json:"port"`
	// HostKey is the pinned SSH host key, in authorized_keys format.
	HostKey string `json:"hostKey,omitempty"`
	// ID is the provider's handle (container name, VM id...).
	ID string `json:"id,omitempty"`
	// Runtime, when set ("podman", "docker"), says the node is the
	// container ID on this machine, without sshd (kind): labctl reaches it
	// with `RUNTIME exec`.
	Runtime string `json:"runtime,omitempty"`
}

// Login is the attendee's user and password on a cluster.
type Login struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// KeyPair is an SSH key pair in OpenSSH formats.
type KeyPair struct {
	Private string `json:"private"`
	Public  string `json:"public"`
}

// Label is how a node is named in output and logs: "03/node2".
func Label(cluster int, node string) string {
	return fmt.Sprintf("%02d/%s", cluster, node)
}
