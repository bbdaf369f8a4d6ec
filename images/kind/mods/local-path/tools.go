// Wrapper module: pins github.com/rancher/local-path-provisioner v0.0.30 for images/kind/build-bins.sh.
//go:build tools

package tools

import (
	_ "github.com/rancher/local-path-provisioner"
)
