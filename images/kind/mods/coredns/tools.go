// Wrapper module: pins github.com/coredns/coredns v1.12.1 for images/kind/build-bins.sh.
//go:build tools

package tools

import (
	_ "github.com/coredns/coredns"
)
