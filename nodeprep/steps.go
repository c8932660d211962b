// Package nodeprep prepares every node of a lab over SSH: host name and
// hosts file, the attendee login, container runtime, Kubernetes, tools and
// the Portworx loop device. Each step is a script rendered from scripts/
// and recorded on the node with a digest of what it ran, so a re-run
// probes once per node and acts only where something differs.
package nodeprep

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"text/template"

	"github.com/labctl/labctl/preload"
)

// StepDir is where each step records the digest of its last success.
const StepDir = "/var/lib/labctl/steps"

// Step is one idempotent piece of node preparation.
type Step struct {
	Name   string
	Script string
	// Check is a shell test of the step's outcome, run by the probe; a
	// failure means the step must run again even if its digest matches
	// (a service stopped, a file edited, a node restarted).
	Check string
	// Files are uploaded (checksums verified) before Script runs.
	Files []File
	// Secrets in Script, redacted from logs.
	Secrets []string
}

// File is something uploaded to a node by a step.
type File struct {
	Source string // local path
	SHA256 string
	Dest   string
	Mode   uint32
}

// Digest identifies what the step does; a change re-runs it.
func (s Step) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", s.Name, s.Script)
	for _, f := range s.Files {
		fmt.Fprintf(h, "%s %s %o\n", f.Dest, f.SHA256, f.Mode)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Host is one node of the cluster as the others see it.
type Host struct {
	Name, IP, HostKey string
}

// NodeData is what the step templates are rendered with.
type NodeData struct {
	Cluster      int
	Node         string
	PublicIP     string
	Hosts        []Host
	User         string
	Password     string
	PrivateKey   string
	PublicKey    string
	MaxAuthTries int
	Packages     []string
	Version      string // 1.34.4
	Minor        string // 1.34
	Source       string // packages | cache
	Stage        string // where cache uploads land
	PauseImage   string
	PodSubnet    string // accepted in FORWARD (see runtime.sh.tmpl)
	// Mirror is the node-local docker.io mirror (coins/mirror, host:port)
	// that containerd and Docker ask before docker.io; empty: none.
	Mirror       string
	PortworxSize string
	LoopDevice   string
	// SharedKernel: the node is a container sharing the host's kernel.
	SharedKernel bool
	// Docker: Docker Engine is installed (nodes.docker) and kept running.
	Docker bool
	// Downloads are the attendee tools' release archives by node
	// architecture (Source "packages").
	Downloads map[string][]Download
	// WebTerm is the browser terminal, on node1 only (nil elsewhere).
	WebTerm *WebTerm
}

// WebTerm is the attendees' browser terminal on node1.
type WebTerm struct {
	Enabled  bool
	Port     int
	TLS      bool
	User     string // the unprivileged system user it runs as
	AssetDir string
}

// Download is one release archive: fetched on the node, checked against
// its pinned sha256, and Member installed as /usr/local/bin/Name.
type Download struct {
	Name, URL, SHA256, Member string
}

// Uploads are the files labctl sends from its caches (Source "cache").
type Uploads struct {
	Kubernetes []File // kubeadm, kubelet, kubectl, images.tar
	Tools      []File // helm, stern
	WebTerm    []File // labctl-webterm, its assets, the TLS pair (node1)

	// KubernetesImages are the images images.tar holds, which
	// containerd must list once it is imported.
	KubernetesImages []string
}

// scripts are the steps' scripts, one per step: each is a text/template
// rendered with the node's data and run by bash with -euo pipefail;
// golden files in testdata show every change.
//
//go:embed scripts/*.sh.tmpl
var scripts embed.FS

// render renders scripts/NAME.sh.tmpl.
func render(name string, d NodeData) (string, error) {
	src, err := scripts.ReadFile("scripts/" + name + ".sh.tmpl")
	if err != nil {
		return "", fmt.Errorf("step %s: %w", name, err)
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("step %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("step %s: %w", name, err)
	}
	return b.String(), nil
}

// BasePackages are installed on every node: the runtime, what kubeadm's
// preflight wants, and the tools the exercises call.
var BasePackages = []string{
	"containerd", "runc", "containernetworking-plugins", "conntrack", "socat", "ethtool",
	"iptables", "ebtables", "kmod", "gpg", "bash-completion", "openssl", "ca-certificates",
	"tmux", "procps", "git", "curl", "jq", "httping", "apache2-utils", "telnet", "vim", "htop", "tree", "unzip",
	"less", "dnsutils", "netcat-openbsd", "util-linux",
}

// KubectxPackage provides kubectx and kubens on nodes that take their tools
// from labctl's cache: kubectx's module is not on the Go module proxy.
const KubectxPackage = "kubectx"

// DockerPackages are Debian's Docker Engine and Compose v1 (the course
// runs `docker-compose up`).
var DockerPackages = []string{"docker.io", "docker-compose"}

// kubeFingerprint prints the size and time of the Kubernetes binaries. The
// kubernetes step records it; the probe compares it without starting the
// binaries (a re-run probes ten nodes at once: each Go program started
// costs them CPU), and any binary replaced or removed since shows.
const kubeFingerprint = "stat -c '%n %s %Y' /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl 2>/dev/null"

// importKubeImages is preload's import of the uploaded images.tar (if
// any), then its removal. Imported once per archive: the step records its
// sha256, and a re-run (a check failed, say) imports it again only if
// containerd lacks one of its images.
func importKubeImages(up Uploads) (string, error) {
	for _, f := range up.Kubernetes {
		if path.Base(f.Dest) != "images.tar" {
			continue
		}
		s, err := preload.Script(preload.Archive{Path: f.Dest, Refs: up.KubernetesImages,
			Record: StepDir + "/kubernetes.images", SHA256: f.SHA256})
		if err != nil {
			return "", fmt.Errorf("step kubernetes: %w", err)
		}
		return s + "rm -f " + f.Dest + "\n", nil
	}
	return "", nil
}

// Steps returns the steps for one node, in order.
func Steps(d NodeData, up Uploads) ([]Step, error) {
	type def struct {
		name, tmpl, check string
		files             []File
		secrets           []string
		skip              bool
	}
	login, err := loginCheck(d)
	if err != nil {
		return nil, err
	}
	defs := []def{
		{name: "hostname", tmpl: "hostname", check: hostnameCheck(d)},
		{name: "packages", tmpl: "packages", check: packagesCheck(d)},
		{name: "runtime", tmpl: "runtime", check: runtimeCheck(d)},
		{name: "login", tmpl: "login", check: login, secrets: loginSecrets(d)},
		{name: "kubernetes", tmpl: "kube-" + d.Source, check: kubernetesCheck(), files: up.Kubernetes},
		{name: "tools", tmpl: "tools-" + d.Source, check: toolsCheck(), files: up.Tools},
		{name: "portworx", tmpl: "portworx", check: portworxCheck(d), skip: d.PortworxSize == "0"},
		{name: "webterm", tmpl: "webterm", check: webtermCheck(d.WebTerm), files: webtermFiles(d.WebTerm, up), skip: d.WebTerm == nil},
	}
	var steps []Step
	for _, df := range defs {
		if df.skip {
			continue
		}
		script, err := render(df.tmpl, d)
		if err != nil {
			return nil, err
		}
		switch df.name {
		case "kubernetes":
			imp, err := importKubeImages(up)
			if err != nil {
				return nil, err
			}
			script += imp + kubeFingerprint + " > " + StepDir + "/kubernetes.files\n"
		case "login":
			script += loginRecord(d)
		}
		steps = append(steps, Step{Name: df.name, Script: script, Check: df.check, Files: df.files, Secrets: df.secrets})
	}
	return steps, nil
}

// loginSecrets are what the login step must keep out of logs: the
// password and the cluster key, in clear and as the script carries them.
func loginSecrets(d NodeData) []string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return []string{d.Password, d.PrivateKey, b64(d.User + ":" + d.Password + "\n"), b64(d.PrivateKey)}
}
