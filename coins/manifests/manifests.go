// Package manifests renders the Kubernetes manifests of DockerCoins: one
// Deployment per service (one replica, labels app= and run=), ClusterIP
// Services for hasher, rng and redis, a NodePort Service for webui, all in a
// namespace of their own.
package manifests

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

//go:embed dockercoins.yaml.tmpl
var source string

var tmpl = template.Must(template.New("dockercoins").Option("missingkey=error").Parse(source))

// DefaultNamespace is where labctl deploys DockerCoins.
const DefaultNamespace = "dockercoins"

// RedisImage is the default Redis image: the one labctl builds from Debian's
// redis-server and preloads (coins/images.RedisRef); a node that lacks it
// pulls the official redis:7.0.
const RedisImage = "redis:7.0"

// Options of the rendering; zero values take the defaults.
type Options struct {
	Namespace  string // required; never "default"
	Repo       string // image prefix, default "dockercoins"
	Tag        string // default "v0.1"
	RedisImage string // default RedisImage
}

// Deployment is one service of the stack, as the template sees it.
type Deployment struct {
	Name        string
	Image       string
	Port        int    // 0: no Service
	ServiceType string // ClusterIP or NodePort
	// Args replace the image's arguments; DataDir, when set, is an
	// emptyDir volume mounted there (it outlives a restart of the node).
	Args    []string
	DataDir string
}

// RedisArgs keep the DockerCoins counter across a stop and start of the
// class's machines: Redis saves to /data (an emptyDir, kept on the node)
// every minute there was a write and when it is stopped, and loads it back
// when it starts. Protected mode stays off as in both images' defaults.
var RedisArgs = []string{"--protected-mode", "no", "--save", "60 1", "--appendonly", "no"}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	imageRef = regexp.MustCompile(`^[a-z0-9][a-zA-Z0-9._/:@-]*$`)
)

// CheckNamespace rejects namespaces DockerCoins must not go to.
func CheckNamespace(ns string) error {
	switch {
	case ns == "":
		return fmt.Errorf("dockercoins namespace is empty")
	case ns == "default":
		return fmt.Errorf("dockercoins namespace %q: DockerCoins gets a namespace of its own, never \"default\" (where attendees deploy it by hand)", ns)
	case strings.HasPrefix(ns, "kube-"):
		return fmt.Errorf("dockercoins namespace %q: kube-* namespaces belong to the system", ns)
	case len(ns) > 63 || !dnsLabel.MatchString(ns):
		return fmt.Errorf("dockercoins namespace %q is not a valid DNS label (lowercase letters, digits and '-', at most 63)", ns)
	}
	return nil
}

// Stack lists the deployments in the order of the course.
func Stack(opts Options) []Deployment {
	opts = withDefaults(opts)
	img := func(svc string) string { return opts.Repo + "/" + svc + ":" + opts.Tag }
	return []Deployment{
		{Name: "hasher", Image: img("hasher"), Port: 80, ServiceType: "ClusterIP"},
		{Name: "rng", Image: img("rng"), Port: 80, ServiceType: "ClusterIP"},
		{Name: "webui", Image: img("webui"), Port: 80, ServiceType: "NodePort"},
		{Name: "worker", Image: img("worker")},
		{Name: "redis", Image: opts.RedisImage, Port: 6379, ServiceType: "ClusterIP", Args: RedisArgs, DataDir: "/data"},
	}
}

func withDefaults(opts Options) Options {
	if opts.Repo == "" {
		opts.Repo = "dockercoins"
	}
	if opts.Tag == "" {
		opts.Tag = "v0.1"
	}
	if opts.RedisImage == "" {
		opts.RedisImage = RedisImage
	}
	return opts
}

// Render returns the multi-document YAML of the whole stack.
func Render(opts Options) ([]byte, error) {
	if err := CheckNamespace(opts.Namespace); err != nil {
		return nil, err
	}
	for _, d := range Stack(opts) {
		if !imageRef.MatchString(d.Image) {
			return nil, fmt.Errorf("dockercoins %s: image %q is not an image reference", d.Name, d.Image)
		}
	}
	var buf bytes.Buffer
	err := tmpl.Execute(&buf, struct {
		Namespace   string
		Deployments []Deployment
	}{opts.Namespace, Stack(opts)})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
