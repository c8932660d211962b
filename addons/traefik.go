package addons

import (
	"github.com/labctl/labctl/addons/traefik"
	"github.com/labctl/labctl/kube"
)

// traefikAddon is the deck's ingress controller: every node answers the
// lab's Ingresses on its port 80.
func traefikAddon() Addon {
	return Addon{
		Name:    "traefik",
		Images:  []Image{{Key: "traefik", Upstream: traefik.Upstream, Build: traefik.Build()}},
		Objects: func(e Env) ([]kube.Object, error) { return traefik.Objects(e.Image("traefik")), nil },
	}
}
