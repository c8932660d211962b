package templates

import "embed"

// Pulumi holds what the class's Pulumi program renders: cloud-init.yaml.tmpl
// is each cloud node's user data (labctl's login key, and the SSH host key
// the program generated, so labctl pins it from the stack's outputs).
//
//go:embed pulumi/*.tmpl
var Pulumi embed.FS
