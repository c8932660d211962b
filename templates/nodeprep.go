package templates

import "embed"

// NodePrep holds the scripts nodeprep runs on every node, one per step.
// Each is a text/template rendered with the node's data and run by bash
// with -euo pipefail; golden files in nodeprep/testdata show every change.
//
//go:embed nodeprep/*.sh.tmpl
var NodePrep embed.FS
