package templates

import "embed"

// Reset holds the node scripts of `labctl reset`: record.sh.tmpl keeps a
// node's baseline (the attendee's home, the preloaded images, /tmp) at the
// end of `labctl up`; soft.sh.tmpl puts the node back to it.
//
//go:embed reset/*.sh.tmpl
var Reset embed.FS
