// Wrapper module: pins go.etcd.io/etcd/server/v3 v3.6.5 for images/kind/build-bins.sh.
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
