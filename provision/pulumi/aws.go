package pulumi

import (
	"fmt"
	"path/filepath"
	"strings"
)

// awsCredentials says whether the AWS provider will find credentials, the
// way the AWS SDK looks: the environment's keys, a web identity token or
// container credentials, or a profile in the shared files. It cannot
// check that they are valid; the engine does.
func awsCredentials(getenv func(string) string, exists func(string) bool) error {
	if getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != "" {
		return nil
	}
	for _, v := range []string{"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if getenv(v) != "" {
			return nil
		}
	}
	home := getenv("HOME")
	files := []string{getenv("AWS_SHARED_CREDENTIALS_FILE"), getenv("AWS_CONFIG_FILE")}
	if files[0] == "" {
		files[0] = filepath.Join(home, ".aws", "credentials")
	}
	if files[1] == "" {
		files[1] = filepath.Join(home, ".aws", "config")
	}
	for _, f := range files {
		if exists(f) {
			return nil
		}
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	return fmt.Errorf("provider.pulumi.target aws: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
		"or AWS_PROFILE (now %s) naming a profile in %s", profile, strings.Join(files, " or "))
}
