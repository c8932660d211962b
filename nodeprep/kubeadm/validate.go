package kubeadm

import (
	configutil "k8s.io/kubernetes/cmd/kubeadm/app/util/config"
)

// validateInit and validateJoin run the checks of `kubeadm config validate`
// in-process: strict decoding (unknown or duplicate fields are errors),
// defaulting, conversion to kubeadm's internal types, and kubeadm's
// validation of the result.
func validateInit(b []byte) error { return configutil.ValidateConfig(b, false) }

func validateJoin(b []byte) error { return configutil.ValidateConfig(b, false) }
