package images

// The Redis image. The stack's fifth service is the stock Redis server, which
// offline nodes cannot pull, so it is built here too: from Debian bookworm's
// redis-server package, without a daemon and without any registry. A private
// apt (its own sources, state and cache; the host's apt configuration and
// dpkg database are not touched) downloads redis-server with its dependency
// closure for each architecture, checking the archive signatures with
// Debian's keyring; dpkg-deb unpacks them, nothing from them is run (so
// arm64 is as honest as amd64); the layer takes redis-server and redis-cli,
// the shared libraries they load (read from the ELF files: PT_INTERP and
// DT_NEEDED, recursively) and those packages' copyright files.

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/labctl/labctl/artifacts/goimage"
)

// The Redis image's name. The tag is the minor version of Debian bookworm's
// redis-server (7.0.x); the build fails if the package says otherwise, so
// the name stays true, and a cloud node that pulls it gets the official
// image of the same minor.
const (
	RedisRepo = "library/redis"
	RedisTag  = "7.0"
	RedisRef  = "docker.io/" + RedisRepo + ":" + RedisTag
	// RedisLatestRef names the same image: the deck's first DockerCoins
	// step is `kubectl create deployment redis --image=redis`, and offline
	// nodes get :latest from labctl's mirror (coins/mirror), which serves
	// exactly the names of this layout.
	RedisLatestRef = "docker.io/" + RedisRepo + ":latest"
)

// RedisArches are the architectures of the Redis image.
var RedisArches = []string{"amd64", "arm64"}

// RedisUser is the image's user (redis in its /etc/passwd, the uid of the
// official image), owner of /data.
const RedisUser = "999:999"

// RedisCmd are the default arguments of redis-server in the image: no
// protected mode (no password, clients come from other pods), no
// persistence (the course never needs it). Without a config file redis
// binds every IPv4 address (0.0.0.0) and, when there is one, IPv6, on
// port 6379.
var RedisCmd = []string{"--protected-mode", "no", "--save", "", "--appendonly", "no"}

// redisRecipe is everything the Redis layers are made from; its hash names
// the cache entry. Debian fixes arriving later do not change it: remove the
// cache directory to pick them up.
var redisRecipe = struct {
	Builder  string
	Sources  []string
	Keyring  string
	Packages []string
	Roots    []string
	Arches   []string
}{
	Builder: "labctl-coins-redis/1",
	Sources: []string{
		"http://deb.debian.org/debian bookworm main",
		"http://deb.debian.org/debian bookworm-updates main",
		"http://deb.debian.org/debian-security bookworm-security main",
	},
	Keyring:  "/usr/share/keyrings/debian-archive-keyring.gpg",
	Packages: []string{"redis-server"},
	// redis-server is a symbolic link to redis-check-rdb (the same program,
	// which looks at argv[0]); redis-cli is for `kubectl exec deploy/redis
	// -- redis-cli`.
	Roots:  []string{"usr/bin/redis-server", "usr/bin/redis-cli"},
	Arches: RedisArches,
}

func redisRecipeHash() string {
	data, _ := json.Marshal(redisRecipe)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// redisBuild is a cache entry: one compressed layer per architecture.
type redisBuild struct {
	Dir    string `json:"-"`
	Recipe string `json:"recipe"`
	Layers []redisLayer
}

type redisLayer struct {
	Arch     string
	File     string   // the gzip-compressed layer, in Dir
	Digest   string   // sha256 of File
	Version  string   // redis-server's Debian version, e.g. 5:7.0.15-1~deb12u10
	Upstream string   // 7.0.15
	Packages []string // name=version of every package a file comes from
}

// DefaultRedisCache is where Redis layers are cached when Options.RedisCache
// is empty: $XDG_CACHE_HOME/labctl/redis.
func DefaultRedisCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "labctl", "redis"), nil
}

// buildRedis returns the Redis layers, from the cache when the recipe was
// built before (a file read), else built in about half a minute (needs
// apt-get, dpkg-deb, Debian's keyring and the Debian archive).
func buildRedis(ctx context.Context, cacheDir string, cacheOnly bool, logf func(string, ...any)) (*redisBuild, error) {
	recipe := redisRecipeHash()
	dir := filepath.Join(cacheDir, recipe[:24])
	if rb, err := readRedisBuild(dir); err == nil {
		return rb, nil
	}
	if cacheOnly {
		return nil, fmt.Errorf("%s: %w", RedisRef, goimage.ErrNotCached)
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the redis image is built from Debian's redis-server package and needs %s (a Debian or Ubuntu host): %w", tool, err)
		}
	}
	if _, err := os.Stat(redisRecipe.Keyring); err != nil {
		return nil, fmt.Errorf("the redis image needs Debian's archive keyring to check the packages (apt-get install debian-archive-keyring): %w", err)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-")
	if err != nil {
		return nil, err
	}
	defer removeTree(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, err
	}
	logf("building %s from Debian bookworm's redis-server for %s (cached in %s)", RedisRef, strings.Join(RedisArches, ", "), dir)
	rb := &redisBuild{Recipe: recipe, Layers: make([]redisLayer, len(RedisArches))}
	var wg sync.WaitGroup
	errs := make([]error, len(RedisArches))
	for i, arch := range RedisArches {
		wg.Go(func() {
			l, err := redisLayerFor(ctx, filepath.Join(tmp, arch), arch, out)
			if err != nil {
				errs[i] = fmt.Errorf("redis image, %s: %w", arch, err)
				return
			}
			rb.Layers[i] = *l
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rb, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "redis.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	// A concurrent build may have won the race: then use its result.
	if err := os.Rename(out, dir); err != nil {
		if rb, err2 := readRedisBuild(dir); err2 == nil {
			return rb, nil
		}
		return nil, err
	}
	return readRedisBuild(dir)
}

func readRedisBuild(dir string) (*redisBuild, error) {
	data, err := os.ReadFile(filepath.Join(dir, "redis.json"))
	if err != nil {
		return nil, err
	}
	rb := &redisBuild{Dir: dir}
	if err := json.Unmarshal(data, rb); err != nil {
		return nil, err
	}
	if len(rb.Layers) != len(RedisArches) {
		return nil, fmt.Errorf("%s: %d layers, want %d", dir, len(rb.Layers), len(RedisArches))
	}
	for _, l := range rb.Layers {
		if _, err := os.Stat(filepath.Join(dir, l.File)); err != nil {
			return nil, err
		}
	}
	return rb, nil
}

// key identifies the layers for images.Build's cache.
func (rb *redisBuild) key() string {
	var b strings.Builder
	for _, l := range rb.Layers {
		fmt.Fprintf(&b, "redis %s %s %s\n", l.Arch, l.Version, l.Digest)
	}
	return b.String()
}

// redisLayerFor downloads and unpacks the packages of one architecture in
// work and writes its layer to outDir.
func redisLayerFor(ctx context.Context, work, arch, outDir string) (*redisLayer, error) {
	debs, err := aptDownload(ctx, work, arch)
	if err != nil {
		return nil, err
	}
	root, err := unpack(ctx, debs, filepath.Join(work, "pkgs"))
	if err != nil {
		return nil, err
	}
	srv, ok := root.pkgs["redis-server"]
	if !ok {
		return nil, fmt.Errorf("apt downloaded no redis-server package")
	}
	upstream := upstreamVersion(srv.version)
	if !strings.HasPrefix(upstream, RedisTag+".") {
		return nil, fmt.Errorf("redis-server is %s (upstream %s), not %s.x: the tag %s would lie; change RedisTag and the manifests", srv.version, upstream, RedisTag, RedisRef)
	}
	files, err := root.closure(redisRecipe.Roots, elfMachine[arch], triplets[arch])
	if err != nil {
		return nil, err
	}
	entries, pkgs, err := root.entries(files)
	if err != nil {
		return nil, err
	}
	l, err := goimage.Layer(sortEntries(append(redisBase(), entries...)))
	if err != nil {
		return nil, err
	}
	name := arch + ".tar.gz"
	if err := writeCompressed(l, filepath.Join(outDir, name)); err != nil {
		return nil, err
	}
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	return &redisLayer{Arch: arch, File: name, Digest: digest.String(), Version: srv.version, Upstream: upstream, Packages: pkgs}, nil
}

var (
	triplets   = map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
	elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
)

// redisBase is the rest of the image: users, /tmp, and /data (the working
// directory, redis's own).
func redisBase() []goimage.Entry {
	return []goimage.Entry{
		{Name: "data/", Mode: 0o755, UID: 999, GID: 999},
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nredis:x:999:\nnogroup:x:65534:\n")},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/usr/sbin/nologin\nredis:x:999:999:redis:/data:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")},
		{Name: "tmp/", Mode: 0o1777},
	}
}

// upstreamVersion drops the epoch and the Debian revision:
// 5:7.0.15-1~deb12u10 is 7.0.15.
func upstreamVersion(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	return v
}

// aptDownload runs a private apt in work: it downloads the recipe's packages
// and their dependencies for arch, verified against Debian's keyring, and
// returns the .deb files.
func aptDownload(ctx context.Context, work, arch string) ([]string, error) {
	for _, d := range []string{"etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	var sources strings.Builder
	for _, s := range redisRecipe.Sources {
		fmt.Fprintf(&sources, "deb [arch=%s signed-by=%s] %s\n", arch, redisRecipe.Keyring, s)
	}
	status := filepath.Join(work, "var/lib/dpkg/status")
	conf := filepath.Join(work, "apt.conf")
	// APT_CONFIG is read before anything else and moves every directory,
	// including the configuration parts, so the host's apt.conf.d (and its
	// hooks) are not read. An empty dpkg status: the whole dependency
	// closure is downloaded.
	aptConf := fmt.Sprintf(`Dir %q;
Dir::State::status %q;
APT::Architecture %q;
APT::Architectures { %q; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "3";
Debug::NoLocking "true";
`, work+"/", status, arch, arch)
	for name, data := range map[string]string{conf: aptConf, status: "", filepath.Join(work, "etc/apt/sources.list"): sources.String()} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"-q", "-y"}, args...)...)
		cmd.Env = append(os.Environ(), "APT_CONFIG="+conf, "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 2000))
		}
		return nil
	}
	if err := apt("update"); err != nil {
		return nil, err
	}
	if err := apt(append([]string{"--download-only", "install"}, redisRecipe.Packages...)...); err != nil {
		return nil, err
	}
	return filepath.Glob(filepath.Join(work, "var/cache/apt/archives/*.deb"))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func writeCompressed(l v1.Layer, file string) error {
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(rc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// removeTree deletes a work directory, unless something is mounted below
// it (nothing here mounts, but a RemoveAll through a mount point would
// reach the host).
func removeTree(dir string) error {
	if data, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
				return fmt.Errorf("not removing %s: %s is mounted", dir, f[1])
			}
		}
	} else if runtime.GOOS == "linux" {
		return fmt.Errorf("not removing %s: %w", dir, err)
	}
	return os.RemoveAll(dir)
}

// redisIndex assembles the multi-arch Redis index from built layers.
func redisIndex(rb *redisBuild) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, l := range rb.Layers {
		layer, err := tarball.LayerFromFile(filepath.Join(rb.Dir, l.File), tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		img, err := goimage.Image(l.Arch, v1.Config{
			Entrypoint:   []string{"/usr/bin/redis-server"},
			Cmd:          slices.Clone(RedisCmd),
			WorkingDir:   "/data",
			User:         RedisUser,
			Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			ExposedPorts: map[string]struct{}{"6379/tcp": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":       "redis",
				"org.opencontainers.image.version":     l.Upstream,
				"org.opencontainers.image.description": "Redis " + l.Upstream + " from Debian bookworm (redis-server " + l.Version + "), repackaged by labctl for DockerCoins",
				"org.opencontainers.image.licenses":    "BSD-3-Clause AND others (see /usr/share/doc/*/copyright)",
				"io.labctl.debian.packages":            strings.Join(l.Packages, " "),
			},
		}, mutate.Addendum{Layer: layer, History: v1.History{
			Created:   v1.Time{Time: goimage.Epoch},
			CreatedBy: "labctl: redis-server and redis-cli with their libraries, from Debian bookworm's redis-server " + l.Version,
			Comment:   "built by labctl",
		}})
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: l.Arch}},
		})
	}
	return idx, nil
}
