// Package prometheus is the prometheus add-on: the Prometheus server of the
// course's metrics chapter, on a NodePort, scraping every kubelet's
// cAdvisor (the container_* metrics the deck's PromQL reads). Scrapes go
// through the API server's node proxy, over TLS verified against the
// cluster CA with the service account's token: no kubelet needs a
// CA-signed serving certificate (metrics-server's business) and nothing
// skips verification.
package prometheus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/artifacts/webui"
)

// Upstream release labctl installs: the Go module v0.316.0 is Prometheus
// v3.16.0.
const (
	Module   = "github.com/prometheus/prometheus"
	Version  = "v0.316.0"
	Release  = "v3.16.0"
	Upstream = "quay.io/prometheus/prometheus:" + Release
	// published is the module version's time on the proxy (the build date
	// stamped in the binary: the same inputs make the same image).
	published = "20261105-15:06:51"
)

// UI is the web UI (Mantine), which the module ships as sources only: a
// pnpm workspace under web/ui, built as upstream's `make ui-build` does.
// The npm registry here lacks @mantine/code-highlight 9.7.2, which the
// lockfile pins: 9.6.2 (the newest it has) stands in; it only colours
// code in the UI's help pages.
func UI() webui.Spec {
	return webui.Spec{
		Module: Module, Version: Version,
		Dir:       "web/ui",
		Skip:      []string{"react-app"}, // the old UI (--enable-feature=old-ui), not built
		PNPM:      "10.34.9",             // pnpm 11 needs Node.js 22
		Overrides: map[string]string{"@mantine/code-highlight": "9.6.2"},
		Filter:    "@prometheus-io/mantine-ui...",
		Script:    "build:mantine-ui",
		Output:    "static",
	}
}

// Build is how labctl builds the image for offline labs: upstream's main
// package with its version stamps, and the UI's files under /static, where
// a binary built without the builtinassets tag serves them from (relative
// to its working directory, / in the image).
func Build() *goimage.Spec {
	const pkg = "github.com/prometheus/common/version"
	ui := UI()
	recipe, _ := json.Marshal(ui)
	sum := sha256.Sum256(recipe)
	return &goimage.Spec{
		Ref:     "localhost/labctl/prometheus:" + Release,
		Module:  Module,
		Version: Version,
		Package: "./cmd/prometheus",
		Binary:  "prometheus",
		// Upstream's switches: of the service discoveries, only
		// Kubernetes' (and the built-in static, file and http): a cold
		// build compiles none of the other providers' SDKs.
		Tags: []string{"remove_all_sd", "enable_kubernetes_sd"},
		LDFlags: fmt.Sprintf("-X %s.Version=%s -X %s.Revision=%s -X %s.Branch=HEAD -X %s.BuildUser=labctl -X %s.BuildDate=%s",
			pkg, Release[1:], pkg, Version, pkg, pkg, pkg, published),
		Assets: &goimage.Assets{
			Dir:    "/static",
			Recipe: hex.EncodeToString(sum[:]),
			Make:   makeUI,
		},
	}
}
