package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/labctl/labctl/remote"
)

// maxKubeconfig bounds what a context check reads from node1.
const maxKubeconfig = 1 << 20

// kubeconfigCommand prints at most maxKubeconfig bytes of user's
// kubeconfig, or nothing when there is none. user is the lab's login,
// already a validated name.
func kubeconfigCommand(user string) remote.Command {
	path := "/home/" + user + "/.kube/config"
	if user == "root" {
		path = "/root/.kube/config"
	}
	return remote.Command{
		Line:         fmt.Sprintf("if [ -f %s ]; then head -c %d %s; fi", path, maxKubeconfig, path),
		SecretOutput: true, // it holds the attendee's credentials
	}
}

// kubeContext reads the attendee's kubeconfig on node1, which the
// attendee controls: only the context names are parsed, nothing is
// built from it.
func kubeContext(ctx context.Context, env Env, k Check) (bool, string, error) {
	if env.Node1 == nil {
		return false, "node1 not reachable: cannot read the kubeconfig", nil
	}
	if !validUser(env.User) {
		return false, fmt.Sprintf("login %q: not a user name", env.User), nil
	}
	res, err := env.Node1.Run(ctx, kubeconfigCommand(env.User))
	if err != nil {
		return false, "", err
	}
	if len(res.Stdout) == 0 {
		return false, fmt.Sprintf("no kubeconfig for %s on node1", env.User), nil
	}
	names, err := ContextNames(res.Stdout)
	if err != nil {
		return false, "kubeconfig: " + err.Error(), nil
	}
	if slices.Contains(names, k.Context) {
		return true, fmt.Sprintf("context %s exists", k.Context), nil
	}
	shown := names
	if len(shown) > 5 {
		shown = append(shown[:5:5], "...")
	}
	return false, fmt.Sprintf("context %s: not in kubeconfig (%d: %s)", k.Context, len(names), strings.Join(shown, ", ")), nil
}

// ContextNames parses only contexts[].name from a kubeconfig.
func ContextNames(data []byte) ([]string, error) {
	var cfg struct {
		Contexts []struct {
			Name string `yaml:"name"`
		} `yaml:"contexts"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("not valid YAML")
	}
	var names []string
	for _, c := range cfg.Contexts {
		if len(c.Name) <= 253 {
			names = append(names, c.Name)
		}
	}
	return names, nil
}
