// Package templates holds labctl's embedded text: card layouts here, and
// whatever else the other stages render from templates.
package templates

import "embed"

// Cards holds the access card layouts: cards/card.html.tmpl is the HTML
// sheet that `labctl cards` prints (and Chromium turns into the PDF).
//
//go:embed cards/*.tmpl
var Cards embed.FS
