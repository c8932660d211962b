package pulumi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// The Automation API, the class program and labctl's resource provider
// link the Pulumi SDKs (hundreds of packages): they run in their own
// program, labctl-pulumi, built from labctl's source on first use and
// cached by recipe. labctl talks to it in plain JSON: one Request on its
// standard input, Events on its standard output, one a line.
const (
	HelperName    = "labctl-pulumi"
	helperPackage = "./cmd/" + HelperName
	labctlModule  = "github.com/labctl/labctl"
)

// Ops a Request asks for.
const (
	OpUp      = "up"      // recover, start stopped local nodes, pulumi up
	OpPreview = "preview" // pulumi preview, counted by resource type
	OpDestroy = "destroy" // recover, pulumi destroy, stack rm
	OpOutputs = "outputs" // read the outputs of the instructor's stack
	// OpPower is labctl stop and start on the aws target: pulumi up of
	// the selected clusters' InstanceState resources only (--target),
	// with Stopped the clusters to keep stopped.
	OpPower = "power"
	// OpInventory lists the AWS resources tagged labctl:lab in Regions,
	// OpDelete deletes Resources (labctl sweep's orphans).
	OpInventory = "inventory"
	OpDelete    = "delete"
)

// Request is what labctl asks labctl-pulumi for.
type Request struct {
	Op  string   `json:"op"`
	Lab *lab.Lab `json:"lab"`
	// AuthorizedKey is the nodes' authorized key, LocalImage the local
	// target's node image (already built, or only named for a preview).
	AuthorizedKey string `json:"authorizedKey,omitempty"`
	LocalImage    string `json:"localImage,omitempty"`
	// Dir is the provider's directory in the lab's state (backend,
	// passphrase, home, work, plugins), Backend the backend's URL.
	Dir     string `json:"dir"`
	Backend string `json:"backend"`
	// CLI is the pulumi CLI's installation root (CLI/bin/pulumi).
	CLI string `json:"cli"`
	// Stopped are the clusters whose instances the program keeps stopped
	// (the state's, after the stop or start at hand); the rest run.
	Stopped []int `json:"stopped,omitempty"`
	// Clusters are the clusters a power op changes (its --target).
	Clusters []int `json:"clusters,omitempty"`
	// Regions are where an inventory looks, Resources what a delete
	// removes.
	Regions   []string        `json:"regions,omitempty"`
	Resources []CloudResource `json:"resources,omitempty"`
}

// Event is one line of labctl-pulumi's answer: a line for the user, the
// nodes of the stack's output contract, or the error it stopped on.
type Event struct {
	Out    string  `json:"out,omitempty"`
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// Result is what a stack's outputs say, or what an inventory found.
type Result struct {
	Clusters  []Cluster       `json:"clusters"`
	Resources []CloudResource `json:"resources,omitempty"`
}

// Cluster is one attendee's nodes as the stack's outputs give them.
type Cluster struct {
	Index int    `json:"index"`
	Nodes []Node `json:"nodes"`
}

// Node is a node of the output contract: where labctl finds it, and the
// login the program made.
type Node struct {
	lab.Node
	User string `json:"user"`
}

// helper is labctl-pulumi's path: Provider.Helper, or built from labctl's
// own source.
func (p *Provider) helper(ctx context.Context, r provision.Request) (string, error) {
	if p.Helper != nil {
		return p.Helper(ctx, r)
	}
	mod, err := goimage.OwnModule(ctx, "", labctlModule)
	if err != nil {
		return "", fmt.Errorf("%s: %w", HelperName, err)
	}
	return goimage.BuildTool(ctx, goimage.Tool{Dir: mod, Package: helperPackage, Name: HelperName},
		goimage.Options{Log: indent{r.Out}})
}

// run asks labctl-pulumi for req, copies its lines to out and returns the
// clusters it read from the stack (nil when it read none).
func (p *Provider) run(ctx context.Context, r provision.Request, req Request, out io.Writer) ([]Cluster, error) {
	res, err := p.ask(ctx, r, req, out)
	if err != nil || res == nil {
		return nil, err
	}
	return res.Clusters, nil
}

// ask asks labctl-pulumi for req, copies its lines to out and returns its
// result (nil when it gave none).
func (p *Provider) ask(ctx context.Context, r provision.Request, req Request, out io.Writer) (*Result, error) {
	bin, err := p.helper(ctx, r)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Interrupted, the helper stops the pulumi CLI as the Automation API
	// does, then exits; a helper that hangs is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", HelperName, err)
	}
	var result *Result
	var failed string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // not an event: nothing of the protocol
		}
		switch {
		case e.Error != "":
			failed = e.Error
		case e.Result != nil:
			result = e.Result
		default:
			fmt.Fprintln(out, e.Out)
		}
	}
	werr := cmd.Wait()
	switch {
	case failed != "":
		return nil, errors.New(failed)
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case werr != nil:
		return nil, fmt.Errorf("%s: %v: %s", HelperName, werr, lastLines(stderr.String(), 6))
	}
	return result, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// indent writes the helper's build line the way provider lines are.
type indent struct{ w io.Writer }

func (i indent) Write(b []byte) (int, error) {
	if i.w == nil {
		return len(b), nil
	}
	if _, err := io.WriteString(i.w, "    "+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
