package templates

import "embed"

// Coins holds the scripts of the DockerCoins phase: coins/mirror.sh.tmpl
// installs the node-local docker.io mirror over the preloaded images.
//
//go:embed coins/*.sh.tmpl
var Coins embed.FS
