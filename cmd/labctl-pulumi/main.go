// Command labctl-pulumi is labctl's Pulumi helper, kept out of the labctl
// binary for what it links (the Automation API, the class program and its
// cloud SDKs, the resource provider framework). labctl builds it from its
// own source on first use (provision/pulumi/helper.go) and runs it in two
// ways:
//
//   - as labctl-pulumi: one JSON request (provision/pulumi.Request) on
//     standard input; JSON events (provision/pulumi.Event) on standard
//     output, one a line; exit 1 after an error event;
//   - as pulumi-resource-labctl (a link in the lab's state), started by
//     the Pulumi engine: the local target's resource provider.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/labctl/labctl/provision/local"
	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/provision/pulumi/nodeprovider"
	"github.com/labctl/labctl/provision/pulumi/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if filepath.Base(os.Args[0]) == nodeprovider.Binary {
		if err := nodeprovider.Serve(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(serve(ctx, os.Stdin, os.Stdout))
}

// serve answers one request read from in with events on out.
func serve(ctx context.Context, in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	var req lp.Request
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		enc.Encode(lp.Event{Error: fmt.Sprintf("%s: request: %v", lp.HelperName, err)})
		return 1
	}
	rn := &stack.Runner{Req: req, Out: lines{enc}, Local: local.New()}
	res, err := rn.Run(ctx)
	if err != nil {
		enc.Encode(lp.Event{Error: err.Error()})
		return 1
	}
	if res != nil {
		enc.Encode(lp.Event{Result: res})
	}
	return 0
}

// lines sends what is written to it as Out events, one a line (each
// Write of the runner is whole lines).
type lines struct{ enc *json.Encoder }

func (l lines) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if err := l.enc.Encode(lp.Event{Out: line}); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
