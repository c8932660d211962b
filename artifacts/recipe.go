package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// RecipeVersion changes whenever this package changes what it builds or how,
// so that caches built by an older labctl are not reused by mistake.
const RecipeVersion = 2

// debianRecipeVersion changes when the Debian base is made differently; it
// is separate so that other recipe changes do not re-run debootstrap.
const debianRecipeVersion = 1

// Debian base of the kube-proxy image: the userspace tools kube-proxy execs
// in iptables mode (iptables, ip6tables, their -save/-restore, conntrack),
// plus nft for its nftables mode.
const (
	debianSuite   = "bookworm"
	debianVariant = "minbase"
)

var debianPackages = []string{"iptables", "conntrack", "nftables"}

// Recipe is everything that decides the bytes of a build. Its hash names the
// cache directory.
type Recipe struct {
	RecipeVersion  int      `json:"recipeVersion"`
	Kubernetes     string   `json:"kubernetes"` // "v1.34.4"
	Arch           string   `json:"arch"`
	GoVersion      string   `json:"goVersion"` // "go1.26.8"
	Etcd           string   `json:"etcd"`      // image tag, "3.6.5-0"
	CoreDNS        string   `json:"coredns"`   // image tag, "v1.12.1"
	Pause          string   `json:"pause"`     // image tag, "3.10.1"
	DebianSuite    string   `json:"debianSuite"`
	DebianVariant  string   `json:"debianVariant"`
	DebianPackages []string `json:"debianPackages"`
}

// Hash is the hex SHA-256 of the recipe's canonical JSON, shortened to 20
// characters (80 bits) for directory names.
func (r Recipe) Hash() string {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// debianHash names the cached Debian root file system, which depends only on
// the Debian part of the recipe and the architecture.
func (r Recipe) debianHash() string {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{
		strconv.Itoa(debianRecipeVersion), r.Arch, r.DebianSuite, r.DebianVariant}, r.DebianPackages...), "\x00")))
	return hex.EncodeToString(sum[:])[:20]
}

// EtcdModuleVersion is the Go module version of go.etcd.io/etcd/server/v3
// behind kubeadm's etcd image tag ("3.6.5-0" -> "v3.6.5").
func (r Recipe) EtcdModuleVersion() string {
	v, _, _ := strings.Cut(r.Etcd, "-")
	return "v" + v
}

var k8sVersionRE = regexp.MustCompile(`^v?(1)\.(\d+)\.(\d+)$`)

// NormalizeVersion turns "1.34.4" or "v1.34.4" into "v1.34.4" and returns
// the minor version; pre-releases are refused.
func NormalizeVersion(v string) (string, int, error) {
	m := k8sVersionRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", 0, fmt.Errorf("kubernetes version %q: want MAJOR.MINOR.PATCH like 1.34.4", v)
	}
	minor, _ := strconv.Atoi(m[2])
	return "v" + m[1] + "." + m[2] + "." + m[3], minor, nil
}

// stagingVersion maps a Kubernetes version to the version of its staging
// modules: v1.34.4 -> v0.34.4.
func stagingVersion(k8s string) string {
	return "v0" + strings.TrimPrefix(k8s, "v1")
}

// Replace is one replace directive of a scratch module.
type Replace struct {
	Path    string
	Version string
}

// StagingReplaces derives, from k8s.io/kubernetes's own go.mod, the replace
// directives a module needs to depend on it: every `k8s.io/X => ./staging/...`
// becomes `k8s.io/X => k8s.io/X v0.Y.Z`.
func StagingReplaces(goMod []byte, k8sVersion string) ([]Replace, error) {
	f, err := modfile.Parse("go.mod", goMod, nil)
	if err != nil {
		return nil, fmt.Errorf("parse k8s.io/kubernetes go.mod: %w", err)
	}
	if f.Module == nil || f.Module.Mod.Path != "k8s.io/kubernetes" {
		return nil, fmt.Errorf("not the go.mod of k8s.io/kubernetes")
	}
	sv := stagingVersion(k8sVersion)
	var out []Replace
	for _, r := range f.Replace {
		if r.New.Version == "" && strings.HasPrefix(r.New.Path, "./staging/") {
			out = append(out, Replace{Path: r.Old.Path, Version: sv})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("k8s.io/kubernetes go.mod has no ./staging replace directives")
	}
	return out, nil
}

// kubeadmVersions are the image versions kubeadm pins in its constants.
type kubeadmVersions struct {
	DefaultEtcd   string
	SupportedEtcd map[int]string
	CoreDNS       string
	Pause         string
}

// parseKubeadmConstants reads cmd/kubeadm/app/constants/constants.go as Go
// source (not compiled: any Kubernetes version can be asked for).
func parseKubeadmConstants(src []byte) (kubeadmVersions, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "constants.go", src, 0)
	if err != nil {
		return kubeadmVersions{}, fmt.Errorf("parse kubeadm constants: %w", err)
	}
	kv := kubeadmVersions{SupportedEtcd: map[int]string{}}
	strs := map[string]*string{"DefaultEtcdVersion": &kv.DefaultEtcd, "CoreDNSVersion": &kv.CoreDNS, "PauseVersion": &kv.Pause}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		name := vs.Names[0].Name
		if dst, ok := strs[name]; ok {
			if s, ok := stringLit(vs.Values[0]); ok {
				*dst = s
			}
		}
		if cl, ok := vs.Values[0].(*ast.CompositeLit); ok && name == "SupportedEtcdVersion" {
			for _, e := range cl.Elts {
				kvx, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				k, kok := kvx.Key.(*ast.BasicLit)
				v, vok := stringLit(kvx.Value)
				if kok && vok && k.Kind == token.INT {
					minor, _ := strconv.Atoi(k.Value)
					kv.SupportedEtcd[minor] = v
				}
			}
		}
		return true
	})
	switch {
	case kv.DefaultEtcd == "":
		return kv, fmt.Errorf("kubeadm constants: DefaultEtcdVersion not found")
	case kv.CoreDNS == "":
		return kv, fmt.Errorf("kubeadm constants: CoreDNSVersion not found")
	case kv.Pause == "":
		return kv, fmt.Errorf("kubeadm constants: PauseVersion not found")
	case len(kv.SupportedEtcd) == 0:
		return kv, fmt.Errorf("kubeadm constants: SupportedEtcdVersion not found")
	}
	return kv, nil
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// etcdFor picks the etcd tag the way kubeadm does: the entry for this minor,
// else the nearest end of the table.
func (kv kubeadmVersions) etcdFor(minor int) string {
	if v, ok := kv.SupportedEtcd[minor]; ok {
		return v
	}
	lo, hi := -1, -1
	for k := range kv.SupportedEtcd {
		if lo == -1 || k < lo {
			lo = k
		}
		if k > hi {
			hi = k
		}
	}
	if minor < lo {
		return kv.SupportedEtcd[lo]
	}
	if minor > hi {
		return kv.SupportedEtcd[hi]
	}
	return kv.DefaultEtcd
}

// ImageTags returns the images kubeadm lists for this recipe, in the order
// `kubeadm config images list` prints them.
func (r Recipe) ImageTags() []string {
	const reg = "registry.k8s.io/"
	tag := strings.ReplaceAll(r.Kubernetes, "+", "_")
	return []string{
		reg + "kube-apiserver:" + tag,
		reg + "kube-controller-manager:" + tag,
		reg + "kube-scheduler:" + tag,
		reg + "kube-proxy:" + tag,
		reg + "coredns/coredns:" + r.CoreDNS,
		reg + "pause:" + r.Pause,
		reg + "etcd:" + r.Etcd,
	}
}
