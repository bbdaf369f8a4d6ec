// Wrapper module: pins sigs.k8s.io/cri-tools v1.37.0 for images/kind/build-bins.sh.
//go:build tools

package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
