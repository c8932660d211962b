package phase

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"

	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/remote"
)

// Where the node-local docker.io mirror lives on a node (see coins/mirror
// and mirror.sh.tmpl).
const (
	MirrorBinary = "/usr/local/bin/labctl-mirror"
	MirrorStamp  = "/var/lib/labctl/mirror.stamp"
	mirrorUpload = "/tmp/labctl-mirror.upload"
	// mirrorCheck is what the install script asks the mirror for: the
	// deck's first pull, `--image=redis`.
	mirrorCheck = "library/redis/manifests/latest"
)

// Commands run on the nodes for the mirror.
const (
	// probeMirror prints the node's machine, the stamp of the last install
	// and whether the unit runs, on one line; it never fails.
	probeMirror   = `echo "$(uname -m) $(cat ` + MirrorStamp + ` 2>/dev/null || echo none) $(systemctl is-active labctl-mirror.service 2>/dev/null || true)"`
	restartMirror = "systemctl enable labctl-mirror.service && systemctl restart labctl-mirror.service"
	installMirror = "bash -euo pipefail -s"
)

// machines maps `uname -m` to Go's architecture names.
var machines = map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

// mirrorState is what the probe found on a node.
type mirrorState struct {
	arch, stamp string
	active      bool
}

// mirrorFS holds mirror.sh.tmpl, the script that installs the node-local
// docker.io mirror over the preloaded images.
//
//go:embed mirror.sh.tmpl
var mirrorFS embed.FS

// mirrorData renders mirror.sh.tmpl.
type mirrorData struct {
	Addr, Layout, Archive, Binary, Probe string
	Upload                               string // the uploaded binary, when there is one
	Stamp, StampFile                     string
}

// mirrorSums are the digests of what an install puts on a node.
type mirrorSums struct {
	archive string
	binary  map[string]string // by arch
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func newMirrorSums(archive string, binaries map[string]string) (*mirrorSums, error) {
	if len(binaries) == 0 {
		return nil, nil
	}
	s := &mirrorSums{binary: map[string]string{}}
	var err error
	if s.archive, err = fileSHA256(archive); err != nil {
		return nil, err
	}
	for arch, p := range binaries {
		if s.binary[arch], err = fileSHA256(p); err != nil {
			return nil, fmt.Errorf("mirror binary for %s: %w", arch, err)
		}
	}
	return s, nil
}

// renderMirror renders the install script for a node of arch. The stamp
// it records hashes everything the install puts there, so the probe tells
// a node that has this very mirror from one that does not.
func (p *Phase) renderMirror(arch string) (script, stamp string, err error) {
	bin, ok := p.sums.binary[arch]
	if !ok {
		return "", "", fmt.Errorf("no labctl-mirror built for %s", arch)
	}
	d := mirrorData{Addr: mirror.Addr, Layout: mirror.DefaultLayout, Archive: RemoteArchive, Binary: MirrorBinary,
		Probe: mirrorCheck, StampFile: MirrorStamp}
	base, err := renderTemplate(d)
	if err != nil {
		return "", "", err
	}
	h := sha256.Sum256([]byte(p.sums.archive + "\n" + bin + "\n" + base))
	d.Stamp, d.Upload = hex.EncodeToString(h[:8]), mirrorUpload
	script, err = renderTemplate(d)
	return script, d.Stamp, err
}

func renderTemplate(d mirrorData) (string, error) {
	src, err := mirrorFS.ReadFile("mirror.sh.tmpl")
	if err != nil {
		return "", err
	}
	t, err := template.New("mirror").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, d)
	return b.String(), err
}

// probeMirrorState reads the probe's line.
func probeMirrorState(ctx context.Context, node remote.Executor) (mirrorState, error) {
	res, err := run(ctx, node, probeMirror, nil)
	if err != nil {
		return mirrorState{}, err
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) < 2 {
		return mirrorState{}, fmt.Errorf("%s: %q printed %q", node.Name(), probeMirror, res.Stdout)
	}
	arch, ok := machines[f[0]]
	if !ok {
		return mirrorState{}, fmt.Errorf("%s: machine %s: labctl-mirror is built for amd64 and arm64 only", node.Name(), f[0])
	}
	return mirrorState{arch: arch, stamp: f[1], active: len(f) > 2 && f[2] == "active"}, nil
}

// mirrorPlan says what the mirror on node needs: nothing, a restart, or an
// install (then script is the install script).
type mirrorPlan struct {
	state   mirrorState
	install bool
	restart bool
	script  string
	binary  string // local path of the binary to upload
}

func (p *Phase) planMirror(ctx context.Context, node remote.Executor) (mirrorPlan, error) {
	if p.sums == nil {
		return mirrorPlan{}, nil
	}
	st, err := probeMirrorState(ctx, node)
	if err != nil {
		return mirrorPlan{}, err
	}
	script, stamp, err := p.renderMirror(st.arch)
	if err != nil {
		return mirrorPlan{}, fmt.Errorf("%s: %w", node.Name(), err)
	}
	plan := mirrorPlan{state: st, script: script, binary: p.Mirror[st.arch]}
	plan.install = st.stamp != stamp
	plan.restart = !plan.install && !st.active
	return plan, nil
}

// installMirrorOn uploads the binary and runs the install script; the
// archive is on the node already.
func (p *Phase) installMirrorOn(ctx context.Context, node remote.Executor, plan mirrorPlan) error {
	f, err := os.Open(plan.binary)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := node.Upload(ctx, f, mirrorUpload, 0o755); err != nil {
		return fmt.Errorf("%s: upload %s: %w", node.Name(), mirrorUpload, err)
	}
	_, err = run(ctx, node, installMirror, strings.NewReader(plan.script))
	return err
}

// mirrorServing checks, after an install or a restart, that the probe now
// finds the mirror running.
func (p *Phase) mirrorServing(ctx context.Context, node remote.Executor) error {
	st, err := probeMirrorState(ctx, node)
	if err != nil {
		return err
	}
	if !st.active {
		return fmt.Errorf("%s: labctl-mirror.service is not active after its install (see journalctl -u labctl-mirror on the node)", node.Name())
	}
	return nil
}
