// Package templates holds the embedded text not yet beside its caller:
// the card layouts and the Pulumi program's cloud-init. (Node scripts live
// with the packages that run them: nodeprep/scripts, reset/scripts,
// coins/phase.)
package templates

import "embed"

// Cards holds the access card layouts: cards/card.html.tmpl is the HTML
// sheet that `labctl cards` prints (and Chromium turns into the PDF).
//
//go:embed cards/*.tmpl
var Cards embed.FS
