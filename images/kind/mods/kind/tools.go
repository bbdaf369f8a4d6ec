// Wrapper module: pins sigs.k8s.io/kind v0.33.0 for images/kind/build-bins.sh.
//go:build tools

package tools

import (
	_ "sigs.k8s.io/kind"
)
