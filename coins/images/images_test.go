package images

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const (
	maxCompressed = 15_000_000
	maxRedis      = 40_000_000
)

// TestBuild builds every image once and checks tags, arches, config, sizes
// and that the archive is a valid, complete OCI layout; with podman it also
// runs the Redis image.
func TestBuild(t *testing.T) {
	needDebianTools(t)
	ctx := context.Background()
	moduleDir, err := FindModule(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	res, err := Build(ctx, Options{Dir: dir, ModuleDir: moduleDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %s:\n%s", time.Since(start).Round(time.Second), Summary(res.Images))
	if res.Cached {
		t.Error("first build reported as cached")
	}

	var refs []string
	byRef := map[string][]Image{}
	for _, img := range res.Images {
		if len(byRef[img.Ref]) == 0 {
			refs = append(refs, img.Ref)
		}
		byRef[img.Ref] = append(byRef[img.Ref], img)
	}
	want := []string{
		"docker.io/dockercoins/rng:v0.1", "docker.io/dockercoins/hasher:v0.1", "docker.io/dockercoins/worker:v0.1",
		"docker.io/dockercoins/webui:v0.1", "docker.io/dockercoins/worker:v0.2", "docker.io/library/redis:7.0",
		"docker.io/library/redis:latest",
	}
	if !slices.Equal(refs, want) || !slices.Equal(FullRefs(), want) {
		t.Fatalf("tags %q (FullRefs %q), want exactly %q", refs, FullRefs(), want)
	}
	for ref, imgs := range byRef {
		if (strings.HasSuffix(ref, ":latest") && !isRedis(ref)) || strings.HasSuffix(ref, ":v0.3") {
			t.Errorf("forbidden tag %s", ref)
		}
		var arches []string
		for _, img := range imgs {
			arches = append(arches, img.Arch)
			entrypoint, wantPorts, wantUser, maxSize := wantConfig(ref)
			if !slices.Equal(img.Entrypoint, entrypoint) {
				t.Errorf("%s %s: entrypoint %q, want %q", ref, img.Arch, img.Entrypoint, entrypoint)
			}
			if !slices.Equal(img.ExposedPorts, wantPorts) || img.User != wantUser {
				t.Errorf("%s %s: ports %q user %q, want %q %q", ref, img.Arch, img.ExposedPorts, img.User, wantPorts, wantUser)
			}
			if img.Compressed <= 1_000_000 || img.Compressed >= maxSize {
				t.Errorf("%s %s: %s compressed, want between 1 MB and %s", ref, img.Arch, FormatSize(img.Compressed), FormatSize(maxSize))
			}
		}
		wantArches := Arches
		if isRedis(ref) {
			wantArches = RedisArches
		}
		if !slices.Equal(arches, wantArches) {
			t.Errorf("%s: arches %q, want %q", ref, arches, wantArches)
		}
	}
	// v0.1 and v0.2 of the worker differ (the first sleep is built in).
	if byRef[want[2]][0].Digest == byRef[want[4]][0].Digest {
		t.Error("worker v0.1 and v0.2 are the same image")
	}
	// redis:latest is redis:7.0 (what the mirror serves for --image=redis).
	if len(byRef[RedisRef]) != len(byRef[RedisLatestRef]) || byRef[RedisRef][0].Digest != byRef[RedisLatestRef][0].Digest {
		t.Errorf("redis:latest %v is not redis:7.0 %v", byRef[RedisLatestRef], byRef[RedisRef])
	}
	checkMirrorBinaries(t, res.Mirror)
	t.Run("mirror", func(t *testing.T) { pullThroughMirror(t, res) })

	checkArchive(t, res.Archive)
	t.Run("podman", func(t *testing.T) {
		store := podmanStore(t)
		podmanPull(t, store, res.Archive, want)
		t.Run("redis", func(t *testing.T) { podmanRunRedis(t, store) })
	})
	checkFiles(t, res.Layout, "docker.io/dockercoins/webui:v0.1", []string{"webui", "files/index.html", "files/webui.js", "files/webui.css", "files/favicon.svg", "etc/passwd"})
	checkFiles(t, res.Layout, "docker.io/dockercoins/worker:v0.2", []string{"worker", "etc/passwd", "tmp/"})
	for _, arch := range RedisArches {
		libc := "lib/" + triplets[arch] + "/libc.so.6"
		checkFiles(t, res.Layout, RedisRef+"@"+arch, []string{"usr/bin/redis-server", "usr/bin/redis-check-rdb", "usr/bin/redis-cli",
			"etc/passwd", "etc/group", "data/", "tmp/", libc, "usr/share/doc/redis-tools/copyright", "usr/share/doc/libc6/copyright"})
	}

	// Same inputs: nothing rebuilt.
	start = time.Now()
	again, err := Build(ctx, Options{Dir: dir, ModuleDir: moduleDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second build: %s", time.Since(start).Round(time.Millisecond))
	if !again.Cached || len(again.Images) != len(res.Images) {
		t.Errorf("second build: cached=%v with %d images, want a cached %d", again.Cached, len(again.Images), len(res.Images))
	}
}

// wantConfig is what the image config of ref must say.
func wantConfig(ref string) (entrypoint, ports []string, user string, maxSize int64) {
	if isRedis(ref) {
		return []string{"/usr/bin/redis-server"}, []string{"6379/tcp"}, "999:999", maxRedis
	}
	service := strings.TrimPrefix(strings.Split(ref, ":")[0], "docker.io/dockercoins/")
	if service == "worker" {
		return []string{"/worker"}, nil, "65534:65534", maxCompressed
	}
	return []string{"/" + service}, []string{"80/tcp"}, "0:0", maxCompressed
}

func isRedis(ref string) bool { return ref == RedisRef || ref == RedisLatestRef }

// needDebianTools skips the build where the Redis image cannot be made
// (not a Debian host), unless in CI.
func needDebianTools(t *testing.T) {
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to build the redis image: %v", tool, err)
			}
			t.Skipf("%s is needed to build the redis image: %v", tool, err)
		}
	}
}

// checkArchive unpacks the tar that nodes import and validates it as an OCI
// layout: every blob present, digests and sizes right, configs consistent.
func checkArchive(t *testing.T, archive string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	names := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = true
		dst := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, must := range []string{"oci-layout", "index.json"} {
		if !names[must] {
			t.Errorf("archive has no %s at its root (containerd's importer needs it)", must)
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("archive does not validate: %v", err)
	}
}

// podmanStore is a throw-away podman storage: the flags that select it.
func podmanStore(t *testing.T) []string {
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("podman not installed (scripts/deps installs it)")
		}
		t.Skip("podman not installed: the archive is checked with go-containerregistry only")
	}
	store, err := os.MkdirTemp("", "labctl-podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Containers mount below the run root: never RemoveAll through a
		// mount left behind.
		if err := removeTree(store); err != nil {
			t.Errorf("podman store: %v", err)
		}
	})
	return []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs"}
}

func podman(store []string, args ...string) *exec.Cmd {
	return exec.Command("podman", append(slices.Clone(store), args...)...)
}

// podmanPull loads every tag from the archive with podman (containers/image,
// a second implementation of OCI archives) into a throw-away storage.
func podmanPull(t *testing.T, store []string, archive string, refs []string) {
	for _, ref := range refs {
		args := []string{"pull", "-q", "oci-archive:" + archive + ":" + ref}
		if out, err := podman(store, args...).CombinedOutput(); err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		// podman picks the image of the machine's architecture.
		out, err := podman(store, "image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Os}}/{{.Architecture}}", ref).CombinedOutput()
		entrypoint, _, _, _ := wantConfig(ref)
		if want := fmt.Sprintf("%v linux/%s\n", entrypoint, runtime.GOARCH); err != nil || string(out) != want {
			t.Errorf("podman image inspect %s: %q %v, want %q", ref, out, err, want)
		}
	}
}

// podmanRunRedis runs the Redis image as the node would (default network,
// port published on loopback only) and talks to it from the host and with
// the image's own redis-cli.
func podmanRunRedis(t *testing.T, store []string) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("no redis image for " + runtime.GOARCH)
	}
	name := fmt.Sprintf("labctl-redis-test-%d", os.Getpid())
	args := []string{"run", "-d", "--runtime", "runc", "--name", name, "-p", "127.0.0.1::6379"}
	// podman asks for more open files (1048576) and processes than a
	// sandbox without CAP_SYS_RESOURCE grants: ask for what redis needs
	// (10000 clients), within this process's limits.
	for _, l := range []struct {
		flag, name string
		n          int
	}{{"nofile", "Max open files", 10240}, {"nproc", "Max processes", 4096}} {
		n := l.n
		if h := hardLimit(l.name); h > 0 {
			n = min(n, h)
		}
		args = append(args, "--ulimit", fmt.Sprintf("%s=%d:%d", l.flag, n, n))
	}
	out, err := podman(store, append(args, RedisRef)...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := podman(store, "rm", "-f", "-t", "0", name).CombinedOutput(); err != nil {
			t.Errorf("podman rm: %v\n%s", err, out)
		}
	})
	logs := func() string { out, _ := podman(store, "logs", name).CombinedOutput(); return string(out) }
	cli := func(args ...string) (string, error) {
		out, err := podman(store, append([]string{"exec", name, "redis-cli"}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := cli("ping")
		if err == nil && got == "PONG" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-cli ping in the container: %q %v\nlogs:\n%s", got, err, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// From the host, through the published port (podman's default network).
	out, err = podman(store, "port", name, "6379/tcp").Output()
	if err != nil {
		t.Fatalf("podman port: %v", err)
	}
	addr := strings.TrimSpace(strings.Split(string(out), "\n")[0])
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("published on %q, want loopback only", addr)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	for cmd, want := range map[string]string{"PING": "+PONG", "INCRBY hashes 4": ":4", "HSET wallet 00ab 1": ":1"} {
		fmt.Fprintf(conn, "%s\r\n", cmd)
		line, err := rd.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			t.Errorf("%s from the host: %q %v, want %q\nlogs:\n%s", cmd, line, err, want, logs())
		}
	}
	// What the labctl phase reads with kubectl exec.
	if got, err := cli("get", "hashes"); err != nil || got != "4" {
		t.Errorf("redis-cli get hashes: %q %v, want 4", got, err)
	}
	if got, _ := cli("info", "server"); !strings.Contains(got, "redis_version:"+RedisTag+".") {
		t.Errorf("info server says no redis_version:%s.x:\n%s", RedisTag, got)
	}
	for param, want := range map[string]string{"protected-mode": "no", "save": "", "appendonly": "no", "port": "6379", "dir": "/data"} {
		// (cli trims the output: an empty value leaves the name alone.)
		if got, err := cli("config", "get", param); err != nil || got != strings.TrimSpace(param+"\n"+want) {
			t.Errorf("config get %s: %q %v, want %q", param, got, err, want)
		}
	}
	if got, _ := cli("config", "get", "bind"); !strings.Contains(got, "* -::*") {
		t.Errorf("config get bind: %q, want every IPv4 address (*)", got)
	}
	// Not root.
	out, err = podman(store, "inspect", "--format", "{{.State.Pid}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(out)) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Uid:\s+999\s+999\s`).Match(status) {
		t.Errorf("redis-server does not run as 999:\n%s", status)
	}
}

// hardLimit is this process's hard limit named name in /proc/self/limits,
// 0 if unknown or unlimited.
func hardLimit(name string) int {
	data, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+"  "); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

// checkFiles checks that the image of ref (ref@arch, default the first,
// amd64) has the given paths.
func checkFiles(t *testing.T, layoutDir, ref string, paths []string) {
	t.Helper()
	ref, arch, _ := strings.Cut(ref, "@")
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := lp.ImageIndex()
	im, _ := top.IndexManifest()
	for _, d := range im.Manifests {
		if d.Annotations[AnnotationImageName] != ref {
			continue
		}
		idx, err := top.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		children, _ := idx.IndexManifest()
		child := children.Manifests[0]
		for _, c := range children.Manifests {
			if c.Platform != nil && c.Platform.Architecture == arch {
				child = c
			}
		}
		if arch != "" && (child.Platform == nil || child.Platform.Architecture != arch) {
			t.Fatalf("%s has no %s image", ref, arch)
		}
		img, err := idx.Image(child.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		have := map[string]bool{}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(rc)
			for hdr, err := tr.Next(); err == nil; hdr, err = tr.Next() {
				have[hdr.Name] = true
			}
			rc.Close()
		}
		for _, p := range paths {
			if !have[p] {
				t.Errorf("%s %s: no %s in the image", ref, arch, p)
			}
		}
		return
	}
	t.Errorf("%s not in the layout", ref)
}
